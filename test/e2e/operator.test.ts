import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { keccak256, toBytes } from "viem";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PAYER } from "../../dev/chain.ts";
import { payingFetchV1, payingFetchV2, receiptOf } from "../../dev/clients.ts";
import { DEV_SECRETS } from "../../dev/stack.ts";
import { USDC_ADDRESS } from "../../dev/usdc.ts";
import { ensureChromium, launchChromium } from "./chromium.ts";
import { overflowing, overlapping, pageOverflows } from "./geometry.ts";
import { balances, recordingFetch, useStack } from "./stack.ts";

/**
 * The operator's side on the real stack (`wrangler dev` with local KV and D1, the official
 * facilitator, Circle's USDC on anvil): N paid requests leave exactly N receipts, each matching a
 * transfer on chain; the dashboard, rendered by Debian's Chromium with every non-loopback request
 * blocked, shows the same figures; the price-table CLI validates, pushes, diffs and rolls back
 * through the admin API, and the Worker serves each change within PRICE_TABLE_TTL_SECONDS.
 */

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const OUTPUT = join(ROOT, "test-results");
const TABLE = {
  version: "e2e-operator",
  defaults: { network: "eip155:84532" },
  rules: [
    { path: "/api/pass/*", price: "$0.002", session: { ttl: "1h", uses: 5 } },
    { path: "/api/*", price: "$0.001", description: "Demo API" },
    { path: "/articles/:slug", price: "$0.01" },
  ],
  default: { free: true },
};
const TRANSFER = keccak256(toBytes("Transfer(address,address,uint256)"));
const AUTHORIZATION_USED = keccak256(toBytes("AuthorizationUsed(address,bytes32)"));

const stack = useStack({ prices: TABLE });
const url = (path: string) => `${stack.get().workerUrl}${path}`;
const adminHeaders = { Authorization: `Bearer ${DEV_SECRETS.ADMIN_TOKEN}` };

interface Receipt {
  path: string;
  payer: string;
  payTo: string;
  amount: string;
  asset: string;
  transaction: string;
  nonce: string;
  session: string | null;
}

async function rpc<T>(method: string, params: unknown[]): Promise<T> {
  const response = await fetch(stack.get().rpcUrl, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
  });
  return ((await response.json()) as { result: T }).result;
}

type Log = { address: string; topics: string[]; data: string; transactionHash: string };
const topicOf = (address: string) => `0x${address.slice(2).toLowerCase().padStart(64, "0")}`;

async function receipts(): Promise<Receipt[]> {
  const response = await fetch(url("/__x402/admin/receipts?limit=1000"), { headers: adminHeaders });
  expect(response.status).toBe(200);
  return ((await response.json()) as { receipts: Receipt[] }).receipts;
}

/** The amount the Worker asks for `path` now, from a real 402. */
async function priceOf(path: string): Promise<string> {
  const response = await fetch(url(path));
  expect(response.status).toBe(402);
  const required = JSON.parse(atob(response.headers.get("PAYMENT-REQUIRED")!)) as {
    accepts: Array<{ amount: string }>;
  };
  return required.accepts[0]!.amount;
}

/** Polls until `path` costs `amount`; returns how long it took (ms). */
async function waitForPrice(path: string, amount: string, limitMs: number): Promise<number> {
  const start = Date.now();
  while ((await priceOf(path)) !== amount) {
    if (Date.now() - start > limitMs) throw new Error(`${path} did not cost ${amount} in time`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return Date.now() - start;
}

/** Runs the price-table CLI against the stack. */
async function prices(
  ...args: string[]
): Promise<{ code: number; stdout: string; stderr: string }> {
  const node = join(ROOT, "node_modules/.bin/node");
  const script = join(ROOT, "scripts/prices.ts");
  try {
    const run = promisify(execFile);
    const out = await run(node, [script, ...args, "--url", stack.get().workerUrl], { cwd: ROOT });
    return { code: 0, stdout: out.stdout, stderr: out.stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

let paidTotal = 0n;
let paidCount = 0;
let replayStatus = 0;

describe("receipts ledger on the real stack", () => {
  it("should keep exactly one receipt per paid request, each matching a transfer on chain", async () => {
    const start = await balances(stack.get());
    const pay = payingFetchV2(PAYER.privateKey);
    const paid: Array<{ path: string; response: Response }> = [];
    for (const path of ["/api/one", "/api/two", "/api/three", "/api/pass/a"]) {
      paid.push({ path, response: await pay(url(path)) });
    }
    const v1 = payingFetchV1(PAYER.privateKey, stack.get().rpcUrl);
    paid.push({ path: "/articles/hello-x402", response: await v1(url("/articles/hello-x402")) });
    for (const { response } of paid) expect(response.status).toBe(200);

    // Requests that must not add a receipt: session uses, a replayed payment, an origin error.
    const token = paid[3]!.response.headers.get("PAYMENT-SESSION")!;
    for (const path of ["/api/pass/b", "/api/pass/c"]) {
      const used = await fetch(url(path), { headers: { "PAYMENT-SESSION": token } });
      expect(used.status).toBe(200);
    }
    const recorder = recordingFetch();
    expect((await payingFetchV2(PAYER.privateKey, recorder.fetch)(url("/api/four"))).status).toBe(
      200,
    );
    const replay = new Headers(recorder.sent.at(-1));
    replayStatus = (await fetch(url("/api/four"), { headers: replay })).status;
    expect(replayStatus).not.toBe(200);
    expect((await pay(url("/api/fail"))).status).toBe(500);
    const n = paid.length + 1;

    const kept = await receipts();
    expect(kept).toHaveLength(n);
    const end = await balances(stack.get());
    const total = kept.reduce((sum, r) => sum + BigInt(r.amount), 0n);
    expect(start.payer - end.payer).toBe(total);
    expect(end.payTo - start.payTo).toBe(total);
    expect(new Set(kept.map((r) => r.transaction)).size).toBe(n);
    expect(kept.filter((r) => r.session !== null).map((r) => r.path)).toEqual(["/api/pass/a"]);
    for (const { response } of paid) {
      const settled = receiptOf(response)!;
      expect(kept.map((r) => r.transaction)).toContain(
        String(settled["transaction"]).toLowerCase(),
      );
    }

    // Every receipt is one successful USDC transfer payer → payee of its amount, with its nonce.
    for (const receipt of kept) {
      const onChain = await rpc<{ status: string; logs: Log[] }>("eth_getTransactionReceipt", [
        receipt.transaction,
      ]);
      expect(onChain.status).toBe("0x1");
      const usdc = onChain.logs.filter((l) => l.address.toLowerCase() === receipt.asset);
      const transfer = usdc.find((l) => l.topics[0] === TRANSFER)!;
      expect(transfer.topics.slice(1)).toEqual([topicOf(receipt.payer), topicOf(receipt.payTo)]);
      expect(BigInt(transfer.data)).toBe(BigInt(receipt.amount));
      const used = usdc.find((l) => l.topics[0] === AUTHORIZATION_USED)!;
      expect(used.topics[2]).toBe(receipt.nonce);
    }
    // And every transfer to the payee on chain has its receipt: nothing paid is missing.
    const logs = await rpc<Log[]>("eth_getLogs", [
      {
        address: USDC_ADDRESS,
        fromBlock: "0x0",
        topics: [TRANSFER, null, topicOf(stack.get().payTo)],
      },
    ]);
    expect(logs.map((l) => l.transactionHash.toLowerCase()).sort()).toEqual(
      kept.map((r) => r.transaction).sort(),
    );

    const csv = await fetch(url("/__x402/admin/receipts?format=csv"), { headers: adminHeaders });
    expect((await csv.text()).trimEnd().split("\r\n")).toHaveLength(n + 1);
    paidTotal = total;
    paidCount = n;
  });
});

describe("funnel on the real stack", () => {
  it("should report the run above: a 402 before each payment, the payments, session uses and refusals by reason", async () => {
    expect(paidCount).toBeGreaterThan(0);
    const response = await fetch(url("/__x402/admin/funnel?days=1"), { headers: adminHeaders });
    expect(response.status).toBe(200);
    const { totals } = (await response.json()) as {
      totals: {
        challenges: number;
        paid: number;
        refused: number;
        refusedBy: Record<string, number>;
        sessionUses: number;
      };
    };
    // One 402 before each of the paid requests and the one the origin failed; the replayed
    // payment is refused (a 402 too, when it is answered with one).
    const replayed402 = replayStatus === 402 ? 1 : 0;
    expect(totals.paid).toBe(paidCount);
    expect(totals.challenges).toBe(paidCount + 1 + replayed402);
    expect(totals.sessionUses).toBe(2);
    expect(totals.refused).toBe(2);
    expect(totals.refusedBy["origin_error"]).toBe(1);
  });
});

describe("dashboard in Chromium", () => {
  beforeAll(() => ensureChromium(), 900_000);

  it("should show the ledger's figures, signed in through the form, with no external request", async () => {
    expect(paidCount).toBeGreaterThan(0);
    const browser = await launchChromium();
    try {
      const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
      const external: string[] = [];
      await page.route("**/*", (route) => {
        const target = new URL(route.request().url());
        if (target.hostname === "127.0.0.1") return route.continue();
        external.push(target.href);
        return route.abort();
      });
      const signIn = await page.goto(url("/__x402/dashboard"));
      expect(signIn?.status()).toBe(401);
      // The page's own script draws the dashboard: no error, nothing the policy refuses.
      const errors: string[] = [];
      page.on("pageerror", (error) => errors.push(error.message));
      page.on("console", (message) => {
        if (message.type() === "error") errors.push(message.text());
      });
      await page.fill('input[name="token"]', DEV_SECRETS.ADMIN_TOKEN);
      await Promise.all([page.waitForURL(url("/__x402/dashboard")), page.click("button")]);

      const text = (id: string) => page.locator(`[data-testid="${id}"]`).innerText();
      const dollars = `$${(Number(paidTotal) / 1e6).toString()}`;
      expect(await text("revenue-usd")).toBe(dollars);
      expect(await text("receipt-count")).toBe(String(paidCount));
      expect(await text("session-count")).toBe("1");
      expect(await page.locator('[data-testid="receipt"]').count()).toBe(paidCount);
      expect(
        await page.locator('[data-route="/articles/hello-x402"]').getAttribute("data-usd"),
      ).toBe("$0.01");
      const today = new Date().toISOString().slice(0, 10);
      expect(await page.locator(`rect[data-day="${today}"]`).getAttribute("data-usd")).toBe(
        dollars,
      );
      expect(await text("price-revision")).toContain("version e2e-operator");
      const box = await page.locator("#chart-day").boundingBox();
      expect(box?.width).toBeGreaterThan(300);
      expect(await text("funnel-paid")).toBe(String(paidCount));
      expect(await page.locator('[data-testid="rule"][data-rule="default"]').count()).toBe(1);
      const route = page.locator('#chart-route [data-route="/api/one"]');
      expect(await route.getAttribute("data-usd")).toBe("$0.001");
      expect(await route.locator(".bar-value").innerText()).toBe("$0.001 · 1");
      const receipt = page.locator('[data-testid="receipt"]').first();
      expect(await receipt.locator("a").getAttribute("href")).toMatch(
        /^https:\/\/sepolia\.basescan\.org\/tx\/0x[0-9a-f]{64}$/,
      );
      expect(await page.locator('[data-testid="funnel-line"]').count()).toBeGreaterThan(0);
      expect(await page.locator("#chart-funnel rect[data-series]").count()).toBeGreaterThan(0);
      expect(await page.locator('[data-testid="no-script"]').count()).toBe(0);
      expect(errors).toEqual([]);
      expect(external).toEqual([]);

      mkdirSync(OUTPUT, { recursive: true });
      await page.screenshot({ path: join(OUTPUT, "dashboard.png"), fullPage: true });
      // What the screenshot shows, checked: no label outgrows its box or runs into its bar.
      const labels = ".bar-label, .bar-value, td, th, .figure, [data-testid=price-revision]";
      expect(await overflowing(page, labels, "section")).toEqual([]);
      expect(await overlapping(page, ".bar-row", ".bar-label", ".bar-track")).toEqual([]);
      expect(await overlapping(page, ".bar-row", ".bar-track", ".bar-value")).toEqual([]);
      expect(await pageOverflows(page)).toBe(false);
    } finally {
      await browser.close();
    }
  });
});

describe("price-table CLI through the admin API", () => {
  let dir = "";
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "x402-prices-cli-"));
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
  const file = (name: string, table: unknown) => {
    const path = join(dir, name);
    writeFileSync(path, typeof table === "string" ? table : JSON.stringify(table, null, 2));
    return path;
  };
  const raised = {
    ...TABLE,
    version: "e2e-raised",
    rules: TABLE.rules.map((r) => (r.path === "/api/*" ? { ...r, price: "$0.003" } : r)),
  };

  it("should refuse an invalid table at its line and leave the live one in force", async () => {
    const bad = file(
      "bad.yaml",
      "version: bad\nrules:\n  - path: /api/*\n    price: three cents\n",
    );
    const result = await prices("push", bad);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`${bad}:4:12: rules[0].price: must look like "$0.01"`);
    expect(await priceOf("/api/x")).toBe("1000");
  });

  it("should push, diff and pull a table, served within the cache time, then roll it back", async () => {
    const path = file("raised.json", raised);
    const diff = await prices("diff", path);
    expect(diff.stdout).toContain('~ /api/*: price "$0.001" → "$0.003"');
    const pushed = await prices("push", path, "--note", "raise the API price");
    expect(pushed.stdout).toContain("pushed as revision 2");
    // PRICE_TABLE_TTL_SECONDS is 10 on the stack: each isolate re-reads KV within that time.
    expect(await waitForPrice("/api/x", "3000", 12_000)).toBeLessThan(12_000);
    expect((await prices("diff", path)).stdout.trim()).toBe("no change");
    expect(JSON.parse((await prices("pull")).stdout)).toEqual(raised);

    const rolled = await prices("rollback");
    expect(rolled.stdout).toContain("rollback to revision 1: live as revision 3");
    expect(await waitForPrice("/api/x", "1000", 12_000)).toBeLessThan(12_000);
    const versions = await prices("versions");
    expect(versions.stdout).toMatch(/^\* 3\t.*\te2e-operator\trollback to revision 1$/m);
  });
});
