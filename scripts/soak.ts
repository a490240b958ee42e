/**
 * The soak run (`npm run soak [-- --duration 300 --lanes 12]`): the whole local stack on free
 * loopback ports (anvil + Circle's USDC + the official facilitator + the demo origin + the paywall
 * under `wrangler dev`), driven for a bounded time by mixed traffic in closed loops, as fast as
 * it answers: free pages, unpaid requests (402), payments by the official client, requests on a
 * session token, crawlers spending prepaid credit and unsigned crawlers (402). It reports the
 * requests served, errors by kind (expected 402s apart), settlements seen by clients against
 * transfers on chain and receipts in the ledger (all must be equal), and workerd's memory at the
 * start and the end. Exits non-zero when anything was lost or given away. Stops all it started.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { auditLedger } from "../dev/audit.ts";
import { PAYER } from "../dev/chain.ts";
import { payingFetchV2, receiptOf } from "../dev/clients.ts";
import { startDevCrawler } from "../dev/crawler.ts";
import { DEV_SECRETS, startStack } from "../dev/stack.ts";
import { balanceOf } from "../dev/usdc.ts";

const args = process.argv.slice(2);
const option = (name: string, fallback: number): number => {
  const at = args.indexOf(name);
  const value = at === -1 ? fallback : Number(args[at + 1]);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number`);
  return value;
};
const DURATION_S = option("--duration", 300);
const LANES = option("--lanes", 12);

/** The soak's price table: the demo's, with a pass long enough to be used all run. */
const TABLE = {
  version: "soak-1",
  defaults: { network: "eip155:84532", maxTimeoutSeconds: 60 },
  rules: [
    { path: "/robots.txt", free: true },
    { path: "/api/free/*", free: true },
    { path: "/api/pass/*", price: "$0.002", session: { ttl: "1h" } },
    { path: "/api/*", price: "$0.001", mimeType: "application/json" },
  ],
  default: { free: true, crawlerPrice: "$0.001" },
  crawlers: {
    signed: { action: "charge" },
    unverified: { action: "charge" },
    credit: { min: "$0.01", max: "$1.00" },
  },
};

type Kind = "free" | "challenged" | "paying" | "session" | "crawler-credit" | "crawler-unsigned";
/** Non-paying traffic, in proportion (the paying lane runs on its own: see below). */
const MIX: Array<[Kind, number]> = [
  ["free", 3],
  ["challenged", 3],
  ["session", 2],
  ["crawler-credit", 1],
  ["crawler-unsigned", 1],
];
/** What each kind must be answered with; anything else is an error of that kind. */
const EXPECTED: Record<Kind, number> = {
  free: 200,
  challenged: 402,
  paying: 200,
  session: 200,
  "crawler-credit": 200,
  "crawler-unsigned": 402,
};

/** Resident memory (kB) of the workerd processes started by this process. */
function workerdMemoryKb(): number {
  const parents = new Map<number, number>();
  const names = new Map<number, string>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const close = stat.lastIndexOf(")");
      names.set(Number(entry), stat.slice(stat.indexOf("(") + 1, close));
      parents.set(Number(entry), Number(stat.slice(close + 2).split(" ")[1]));
    } catch {
      // the process is gone
    }
  }
  const mine = (pid: number): boolean => {
    for (let p = parents.get(pid); p !== undefined && p > 1; p = parents.get(p)) {
      if (p === process.pid) return true;
    }
    return false;
  };
  let total = 0;
  for (const [pid, name] of names) {
    if (name !== "workerd" || !mine(pid)) continue;
    try {
      const status = readFileSync(`/proc/${pid}/status`, "utf8");
      total += Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
    } catch {
      // the process is gone
    }
  }
  return total;
}

async function main(): Promise<void> {
  const stateDir = mkdtempSync(join(tmpdir(), "x402-soak-"));
  const pricesFile = join(stateDir, "prices.json");
  writeFileSync(pricesFile, JSON.stringify(TABLE));
  console.log(`soak: starting the stack (duration ${DURATION_S} s, ${LANES} lanes + 1 paying)`);
  const stack = await startStack({
    ports: { chain: 0, facilitator: 0, origin: 0, worker: 0, inspector: 0 },
    stateDir,
    pricesFile,
  });
  let stopCrawler = async (): Promise<void> => {};
  try {
    const crawler = await startDevCrawler();
    stopCrawler = crawler.stop;
    const base = stack.workerUrl;
    const pay = payingFetchV2(PAYER.privateKey);
    let settlements = 0;

    // One pass and one credit purchase, bought before the clock starts (each one settlement).
    const pass = await pay(`${base}/api/pass/start`);
    const token = pass.headers.get("PAYMENT-SESSION");
    if (pass.status !== 200 || !token) throw new Error(`buying the pass failed: ${pass.status}`);
    settlements += 1;
    // Crawl credit is bought $1 at a time (the official client's default spending limit), again
    // whenever it runs out; the 402s a crawler meets meanwhile are counted apart, as expected.
    let topping: Promise<void> | undefined;
    const topUp = () =>
      (topping ??= crawler
        .topUp(base, "1.00", PAYER.privateKey)
        .then(async (response) => {
          await response.arrayBuffer();
          if (response.status !== 200) throw new Error(`buying crawl credit: ${response.status}`);
          settlements += 1;
          topUps += 1;
        })
        .finally(() => (topping = undefined)));
    let topUps = 0;
    await topUp();

    const startBalance = await balanceOf(stack.rpcUrl, stack.payTo);
    const memoryStart = workerdMemoryKb();
    const served = new Map<string, number>();
    const errors = new Map<string, number>();
    /** The first body of each unexpected answer, to say why it happened. */
    const samples = new Map<string, string>();
    const count = (map: Map<string, number>, key: string) => map.set(key, (map.get(key) ?? 0) + 1);
    let sequence = 0;

    const send = async (kind: Kind): Promise<Response> => {
      const n = (sequence += 1);
      switch (kind) {
        case "free":
          return fetch(`${base}/api/free/item-${n % 100}`);
        case "challenged":
          return fetch(`${base}/api/item-${n}`);
        case "paying":
          return pay(`${base}/api/paid-${n}`);
        case "session":
          return fetch(`${base}/api/pass/item-${n % 100}`, {
            headers: { "PAYMENT-SESSION": token },
          });
        case "crawler-credit":
          return crawler.fetch(`${base}/?page=${n}`, {
            headers: { "crawler-max-price": "USD 0.01", "user-agent": "SoakBot/1.0" },
          });
        case "crawler-unsigned":
          return fetch(`${base}/?page=${n}`, { headers: { "user-agent": "GPTBot/1.2" } });
      }
    };
    const one = async (kind: Kind): Promise<void> => {
      try {
        const response = await send(kind);
        const text = await response.text();
        if (response.status !== EXPECTED[kind] && !samples.has(`${kind} ${response.status}`)) {
          samples.set(`${kind} ${response.status}`, text.slice(0, 300));
        }
        if (response.status === EXPECTED[kind]) count(served, kind);
        else if (kind === "crawler-credit" && response.status === 402) {
          count(served, "crawler-credit-ran-out");
          await topUp().catch((error: unknown) => count(errors, `top-up: ${String(error)}`));
        } else count(errors, `${kind}: HTTP ${response.status}`);
        if (kind === "paying" && response.status === 200) {
          const receipt = receiptOf(response);
          if (receipt?.["success"] === true) settlements += 1;
          else count(errors, "paying: 200 without a receipt");
        }
      } catch (error) {
        count(errors, `${kind}: ${error instanceof Error ? error.message : String(error)}`);
      }
    };

    const weights = MIX.reduce((sum, [, w]) => sum + w, 0);
    const pick = (): Kind => {
      let r = Math.random() * weights;
      for (const [kind, w] of MIX) if ((r -= w) < 0) return kind;
      return "free";
    };
    const started = Date.now();
    const deadline = started + DURATION_S * 1000;
    const lane = async (kinds: () => Kind) => {
      while (Date.now() < deadline) await one(kinds());
    };
    const progress = setInterval(() => {
      const total = [...served.values()].reduce((a, b) => a + b, 0);
      const s = Math.round((Date.now() - started) / 1000);
      console.log(`soak: ${s} s, ${total} answered as expected, ${settlements} settlements`);
    }, 30_000);
    // The paying lane pays one request at a time (the dev facilitator has one gas account).
    await Promise.all([lane(() => "paying"), ...Array.from({ length: LANES }, () => lane(pick))]);
    clearInterval(progress);
    const seconds = (Date.now() - started) / 1000;
    const memoryEnd = workerdMemoryKb();

    // Let the last settlements land, then compare clients, chain and ledger.
    await new Promise((r) => setTimeout(r, 2000));
    const audit = await auditLedger({
      rpcUrl: stack.rpcUrl,
      workerUrl: base,
      payTo: stack.payTo,
      adminToken: DEV_SECRETS.ADMIN_TOKEN,
    });
    const endBalance = await balanceOf(stack.rpcUrl, stack.payTo);
    const answered = [...served.values()].reduce((a, b) => a + b, 0);
    const failed = [...errors.values()].reduce((a, b) => a + b, 0);
    const report = {
      seconds: Math.round(seconds),
      requests: answered + failed,
      perSecond: Math.round((answered + failed) / seconds),
      answeredAsExpected: Object.fromEntries(served),
      expected402s:
        (served.get("challenged") ?? 0) +
        (served.get("crawler-unsigned") ?? 0) +
        (served.get("crawler-credit-ran-out") ?? 0),
      creditTopUps: topUps,
      errors: Object.fromEntries(errors),
      errorSamples: Object.fromEntries(samples),
      settlementsSeenByClients: settlements,
      transfersOnChain: audit.transfers,
      receiptsInLedger: audit.receipts ?? "no ledger",
      ledgerAgreesWithChain: audit.agrees,
      payeeGainedDuringRun: String(endBalance - startBalance),
      workerdMemoryKb: { start: memoryStart, end: memoryEnd },
    };
    console.log(JSON.stringify(report, null, 2));
    const lost = settlements !== audit.transfers || !audit.agrees || failed > 0;
    if (lost) {
      console.error("soak: FAILED (errors, or settlements, transfers and receipts disagree)");
      process.exitCode = 1;
    } else {
      console.log("soak: held (no errors; settlements = transfers = receipts)");
    }
  } finally {
    await stopCrawler();
    await stack.stop();
    rmSync(stateDir, { recursive: true, force: true });
  }
}

await main();
