/**
 * `npm run bench [-- --quick] [-- --against <ref>]`: bundles the targets (with `--against`, also
 * the paywall as commit `ref` builds it, bench/against.ts), starts the shared stack (anvil + USDC, the
 * official facilitator behind a timing pass-through, the bench origin), serves every target with
 * Miniflare, then measures in interleaved rounds (A B C D A B C D …): load scenarios with
 * autocannon, one-at-a-time scenarios and paid requests with the official clients. A counting
 * pass, the bundle sizes and the route-matching microbenchmark follow. Writes bench/RESULTS.md and
 * bench/results.json (a quick run: bench/out/RESULTS-quick.md and results-quick.json) and prints
 * the tables, then one `[figures]` line per target figure (bench/figures.ts). Everything it
 * starts, it stops.
 */
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { cpus, loadavg, release, totalmem, type } from "node:os";
import { fileURLToPath } from "node:url";
import { AgainstRefused, buildAgainst, type AgainstBuild } from "./against.ts";
import { bundle, type Bundle } from "./build.ts";
import {
  addCounts,
  divideCounts,
  perRequest,
  snapshot,
  type CallCounts,
  type CountSources,
} from "./counts.ts";
import { groupCpuMs } from "./cpu.ts";
import { figureLines } from "./figures.ts";
import { LoadGenerator, type LoadResult } from "./load.ts";
import type { MatchingResult } from "./matching.ts";
import { paidRequest, sequentialMs, splitGet, type PaidTiming } from "./measure.ts";
import { renderMarkdown } from "./report.ts";
import {
  overRounds,
  quantile,
  SCENARIO,
  type BenchResults,
  type ChallengeSize,
  type CountRow,
  type LoadRow,
  type OverRounds,
  type PaidRow,
  type SequentialRow,
} from "./results.ts";
import { signIn, siwxProof } from "./siwx.ts";
import { PAYER } from "../dev/chain.ts";
import { startDevCrawler, type DevCrawler } from "../dev/crawler.ts";
import { startBenchStack, type BenchStack } from "./stack.ts";
import {
  TARGETS,
  TARGET_IDS,
  constantTwin,
  serveTarget,
  type RunningTarget,
  type TargetDef,
  type TargetId,
} from "./targets.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const quick = process.argv.includes("--quick");
/** `--against <ref>` (or `--against=<ref>`): also measure the paywall as commit `ref` builds it. */
const AGAINST_REF = ((): string | undefined => {
  const args = process.argv.slice(2);
  const at = args.indexOf("--against");
  if (at >= 0) {
    const ref = args[at + 1];
    if (!ref || ref.startsWith("--")) throw new Error("bench: --against needs a git ref");
    return ref;
  }
  return args.find((a) => a.startsWith("--against="))?.slice("--against=".length) || undefined;
})();
const AGAINST: TargetId = "paywall-against";
const LOAD_START = loadavg()[0] ?? Number.NaN;
process.setMaxListeners(50); // one exit listener per child process group
const SETTINGS = quick
  ? { rounds: 3, durationS: 1, warmupS: 0.5, connections: 10, sequential: 20, paid: 3, count: 5 }
  : { rounds: 5, durationS: 4, warmupS: 2, connections: 10, sequential: 150, paid: 12, count: 20 };
/**
 * Full mode: paid requests per target and round go on in steps of `PAID_STEP` until the paywall's
 * own overhead moved by at most `PAID_STABLE_MS` between the last two checks, or `PAID_CAP` is hit.
 */
const PAID_STEP = 4;
const PAID_STABLE_MS = 0.5;
const PAID_CAP = quick ? SETTINGS.paid : SETTINGS.paid * 3;
const MATCH_SAMPLES = quick ? 2_000 : 20_000;

const FREE = "/api/free/hello";
const SESSION_ROUTE = "/api/hello";
/** A route whose session has a time limit only, so using it writes nothing (bench/prices.json). */
const TTL_SESSION_ROUTE = "/feeds/hello";
const ARTICLE = "/articles/hello-x402";
/** Free for people, $0.001 for signed crawlers, debited from their prepaid credit. */
const CRAWL_ROUTE = "/crawl/hello";
const CRAWL = SCENARIO.crawl;
/** Credit is spent on a request that states the most it will pay (pay-per-crawl), signed. */
const CRAWL_INIT: RequestInit = { headers: { "crawler-max-price": "USD 0.01" } };

/** A load scenario: one path, the expected status, the targets compared, their headers. */
interface LoadScenario {
  id: string;
  path: string;
  expect: number;
  targets: TargetId[];
  /** The peer this scenario compares with (ratio "× peer"). */
  peer?: TargetId;
}

const LOAD_SCENARIOS: LoadScenario[] = (
  [
    { id: "free route", path: FREE, expect: 200, targets: ["baseline", "peer", "paywall"] },
    {
      id: SCENARIO.challenge,
      path: ARTICLE,
      expect: 402,
      targets: ["ceiling", "paywall-bytes", "peer", "paywall"],
      peer: "peer",
    },
    {
      id: SCENARIO.sessionChallenge,
      path: SESSION_ROUTE,
      expect: 402,
      targets: ["ceiling", "peer-siwx", "paywall"],
      peer: "peer-siwx",
    },
    {
      id: SCENARIO.tokenRepeat,
      path: SESSION_ROUTE,
      expect: 200,
      targets: ["baseline", "peer-siwx", "paywall"],
      peer: "peer-siwx",
    },
    {
      id: "repeat access, time-limited session (no use count)",
      path: TTL_SESSION_ROUTE,
      expect: 200,
      targets: ["baseline", "paywall"],
    },
  ] satisfies LoadScenario[]
).map((scenario: LoadScenario) => ({ ...scenario, targets: withAgainst(scenario.targets) }));

/** `ids` with the `--against` build right after the paywall, when there is one. */
function withAgainst(ids: readonly TargetId[]): TargetId[] {
  if (!AGAINST_REF) return [...ids];
  return ids.flatMap((id) => (id === "paywall" ? [id, AGAINST] : [id]));
}

const log = (message: string): void => console.log(`bench: ${message}`);

async function main(): Promise<void> {
  const started = performance.now();
  log(`${quick ? "quick" : "full"} mode, ${SETTINGS.rounds} rounds`);
  const buildDir = `${ROOT}bench/out/build`;
  const bundles = new Map<TargetId, Bundle>();
  const defs = new Map<TargetId, TargetDef>(TARGET_IDS.map((id) => [id, TARGETS[id]]));
  let against: AgainstBuild | undefined;
  if (AGAINST_REF) {
    against = await buildAgainst(AGAINST_REF, buildDir);
    bundles.set(AGAINST, against.bundle);
    defs.set(AGAINST, against.def);
    LABELS[AGAINST] = against.def.label;
    LABELS[`${AGAINST}-siwx`] = `${against.def.label}, SIWx sign-in (official client)`;
    LABELS[`${AGAINST}-session`] = `${against.def.label}, session route (grants a token)`;
  }
  // After the other commit's build, whose checks refuse early.
  for (const id of TARGET_IDS) {
    if (!TARGETS[id].build.generated) bundles.set(id, await bundle(TARGETS[id].build, buildDir));
  }
  log(
    `bundled ${bundles.size} targets${against ? ` (against ${against.ref} = ${against.commit})` : ""}`,
  );
  const serveOrder = withAgainst(TARGET_IDS);

  const running: RunningTarget[] = [];
  let stack: BenchStack | undefined;
  const load = new LoadGenerator();
  const stopAll = async (): Promise<void> => {
    await load.close().catch(() => {});
    for (const target of running.splice(0)) await target.stop().catch(() => {});
    await stack?.stop();
  };
  const onSignal = (): void => void stopAll().finally(() => process.exit(130));
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  let results: BenchResults;
  try {
    stack = await startBenchStack();
    const upstreams = { originUrl: stack.origin.url, facilitatorUrl: stack.facilitator.url };
    const targets = new Map<TargetId, RunningTarget>();
    for (const id of serveOrder) {
      if (id === "paywall-bytes") {
        const paywall = need(targets, "paywall");
        const twin = constantTwin(
          await capture(`${paywall.url}${ARTICLE}`),
          buildDir,
          need(bundles, "paywall"),
        );
        bundles.set(id, twin);
      }
      const target = await serveTarget(need(defs, id), need(bundles, id), upstreams, SESSION_ROUTE);
      running.push(target);
      targets.set(id, target);
    }
    log("targets serving; measuring");
    results = await measure(stack, targets, bundles, load, serveOrder);
    if (against) {
      results.against = { ref: against.ref, commit: against.commit };
      results.notes.push(
        `${against.def.label} (commit ${against.commit}) is measured wherever this paywall is, ` +
          "with its own session tokens and crawl credit; the calls counted per request, the " +
          "constant 402 of the paywall's bytes and the bundle composition are this checkout's only.",
      );
    }
    const counting = await serveTarget(
      TARGETS.paywall,
      need(bundles, "paywall"),
      upstreams,
      SESSION_ROUTE,
      true,
    );
    running.push(counting);
    results.counts = await countCalls(stack, targets, counting);
  } catch (error) {
    for (const target of running) {
      const logs = target.output().trim();
      if (logs) console.error(`--- ${target.id} printed:\n${logs.slice(-3000)}`);
    }
    throw error;
  } finally {
    await stopAll();
    process.removeListener("SIGINT", onSignal);
    process.removeListener("SIGTERM", onSignal);
  }
  log("route matching microbenchmark");
  results.matching = matching();
  results.notes.push(`The whole run took ${Math.round((performance.now() - started) / 1000)} s.`);
  const markdown = renderMarkdown(results);
  // A quick run is a smoke test: its figures go to bench/out/, the committed results stay.
  const [md, json] = quick
    ? ["bench/out/RESULTS-quick.md", "bench/out/results-quick.json"]
    : ["bench/RESULTS.md", "bench/results.json"];
  writeFileSync(`${ROOT}${json}`, `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(`${ROOT}${md}`, markdown);
  // Keep the written files as `prettier --check` (npm run check) wants them.
  spawnSync(`${ROOT}node_modules/.bin/prettier`, ["--write", md, json], {
    cwd: ROOT,
    stdio: "ignore",
  });
  console.log(`\n${markdown}`);
  log(`wrote ${md} and ${json}`);
  console.log(`\n${figureLines(results).join("\n")}`);
}

/**
 * A signed crawler with enough prepaid credit at the paywall at `base` for `pages` pages at
 * $0.001 (bought with one x402 payment), checked to be charged from credit, not by a 402.
 */
async function creditedCrawler(base: string, pages: number): Promise<DevCrawler> {
  const crawler = await startDevCrawler();
  try {
    const usd = ((pages + 50) / 1000).toFixed(2);
    const topUp = await crawler.topUp(base, usd, PAYER.privateKey);
    if (topUp.status !== 200) {
      throw new Error(`bench: buying crawl credit answered ${topUp.status}: ${await topUp.text()}`);
    }
    const first = await crawler.fetch(`${base}${CRAWL_ROUTE}`, CRAWL_INIT);
    await first.arrayBuffer();
    if (first.status !== 200 || !first.headers.get("crawler-charged")) {
      throw new Error(
        `bench: a signed crawler request was not served from credit (${first.status})`,
      );
    }
    return crawler;
  } catch (error) {
    await crawler.stop();
    throw error;
  }
}

/** Gives work a Worker finishes after answering (`waitUntil`) time to be counted. */
function afterWork(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 100));
}

/** A response as sent to a client that asks for no compression (as autocannon does). */
async function capture(
  url: string,
): Promise<{ status: number; headers: Record<string, string>; body: string }> {
  const response = await fetch(url, { headers: { "accept-encoding": "identity" } });
  const headers: Record<string, string> = {};
  const skip = ["date", "content-length", "connection", "keep-alive", "transfer-encoding"];
  response.headers.forEach((value, name) => {
    if (!skip.includes(name)) headers[name] = value;
  });
  return { status: response.status, headers, body: await response.text() };
}

function need<K, V>(map: Map<K, V>, key: K): V {
  const value = map.get(key);
  if (value === undefined) throw new Error(`bench: nothing for ${String(key)}`);
  return value;
}

/** Credentials for repeat access: each paywall's session tokens, the peer's SIWx proof. */
interface Credentials {
  /** Use-counted tokens for SESSION_ROUTE by paywall (bought again every round). */
  sessionTokens: Map<TargetId, string>;
  /** Time-limited tokens for TTL_SESSION_ROUTE by paywall. */
  ttlTokens: Map<TargetId, string>;
  /** The peer's SIWx proof for SESSION_ROUTE (valid for minutes: refreshed every round). */
  peerProof: string;
}

const push = <T>(map: Map<string, T[]>, key: string, value: T): void => {
  map.set(key, [...(map.get(key) ?? []), value]);
};

async function measure(
  stack: BenchStack,
  targets: Map<TargetId, RunningTarget>,
  bundles: Map<TargetId, Bundle>,
  load: LoadGenerator,
  order: TargetId[],
): Promise<BenchResults> {
  const url = (id: TargetId, path: string): string => `${need(targets, id).url}${path}`;
  /** The paywall and, with `--against`, the other commit's build: each sells its own tokens. */
  const paywalls = withAgainst(["paywall"]);
  const buySession = async (target: string): Promise<string> => {
    const paid = await paidRequest(target, stack.facilitator, stack.origin);
    const token = paid.response.headers.get("PAYMENT-SESSION");
    if (!token) throw new Error(`bench: paying ${target} issued no session token`);
    return token;
  };
  const credentials: Credentials = {
    sessionTokens: new Map(),
    ttlTokens: new Map(),
    peerProof: "",
  };
  for (const id of paywalls) {
    credentials.sessionTokens.set(id, await buySession(url(id, SESSION_ROUTE)));
    credentials.ttlTokens.set(id, await buySession(url(id, TTL_SESSION_ROUTE)));
  }
  await paidRequest(url("peer-siwx", SESSION_ROUTE), stack.facilitator, stack.origin);
  credentials.peerProof = await siwxProof(url("peer-siwx", SESSION_ROUTE));
  const loadRuns = new Map<string, LoadResult[]>();
  const seqRuns = new Map<string, number[][]>();
  const paidRuns = new Map<string, PaidTiming[][]>();
  const paidPerRound: number[] = [];
  const notes = [
    "The crawler rows sign every request (Ed25519, RFC 9421) in the client, so their latency includes that signing; the baseline's is a plain GET of the same page.",
  ];
  // A Web Bot Auth crawler (Ed25519 key, directory on loopback) with prepaid credit at each
  // paywall: each request below is freshly signed and debited $0.001 from its credit.
  const crawlers = new Map<TargetId, DevCrawler>();
  try {
    for (const id of paywalls) {
      try {
        const pages = SETTINGS.rounds * SETTINGS.sequential;
        crawlers.set(id, await creditedCrawler(url(id, ""), pages));
      } catch (error) {
        if (id === "paywall") throw error;
        notes.push(`No crawler row for ${labelOf(id)}: ${(error as Error).message}`);
      }
    }
    const headersFor = (scenario: LoadScenario, id: TargetId): Record<string, string> => {
      if (scenario.expect !== 200) return {};
      if (paywalls.includes(id)) {
        if (scenario.path === TTL_SESSION_ROUTE) {
          return { "payment-session": need(credentials.ttlTokens, id) };
        }
        if (scenario.path === SESSION_ROUTE) {
          return { "payment-session": need(credentials.sessionTokens, id) };
        }
        return {};
      }
      if (id === "peer-siwx" && scenario.path === SESSION_ROUTE) {
        return { "sign-in-with-x": credentials.peerProof };
      }
      return {};
    };
    const runLoad = async (
      scenario: LoadScenario,
      id: TargetId,
      durationS: number,
    ): Promise<LoadResult> => {
      const pid = need(targets, id).pid;
      const cpuBefore = groupCpuMs(pid);
      const result = await load.run({
        url: url(id, scenario.path),
        connections: SETTINGS.connections,
        durationS,
        headers: headersFor(scenario, id),
      });
      result.cpuUsPerRequest = ((groupCpuMs(pid) - cpuBefore) * 1000) / result.answered;
      return result;
    };

    // Every (scenario, target) answers as expected before anything is timed.
    for (const scenario of LOAD_SCENARIOS) {
      for (const id of scenario.targets) {
        const response = await fetch(url(id, scenario.path), { headers: headersFor(scenario, id) });
        await response.arrayBuffer();
        if (response.status !== scenario.expect) {
          throw new Error(`bench: ${id} ${scenario.path} answered ${response.status}`);
        }
      }
    }
    const challengeSizes = await measureChallenges(url);
    for (const scenario of LOAD_SCENARIOS) {
      for (const id of scenario.targets) await runLoad(scenario, id, SETTINGS.warmupS);
    }
    log("warmed up");

    const n = SETTINGS.sequential;
    for (let round = 1; round <= SETTINGS.rounds; round++) {
      credentials.peerProof = await siwxProof(url("peer-siwx", SESSION_ROUTE));
      // Each SIWx sign-in below issues a token on the payer's entitlement, which keeps its 20
      // newest tokens: buy the token the load uses again every round.
      for (const id of paywalls) {
        credentials.sessionTokens.set(id, await buySession(url(id, SESSION_ROUTE)));
      }
      for (const scenario of LOAD_SCENARIOS) {
        for (const id of scenario.targets) {
          push(loadRuns, `${scenario.id}|${id}`, await runLoad(scenario, id, SETTINGS.durationS));
        }
      }
      const repeat = SCENARIO.oneAtATime;
      const plain =
        (target: string, headers: Record<string, string> = {}) =>
        () =>
          fetch(target, { headers });
      push(
        seqRuns,
        `${repeat}|baseline`,
        await sequentialMs(n, plain(url("baseline", SESSION_ROUTE)), 200),
      );
      for (const id of paywalls) {
        const token = need(credentials.sessionTokens, id);
        push(
          seqRuns,
          `${repeat}|${id}`,
          await sequentialMs(n, plain(url(id, SESSION_ROUTE), { "payment-session": token }), 200),
        );
      }
      push(
        seqRuns,
        `${CRAWL}|baseline`,
        await sequentialMs(n, plain(url("baseline", CRAWL_ROUTE)), 200),
      );
      for (const [id, crawler] of crawlers) {
        push(
          seqRuns,
          `${CRAWL}|${id}`,
          await sequentialMs(n, () => crawler.fetch(url(id, CRAWL_ROUTE), CRAWL_INIT), 200),
        );
      }
      const signInRuns = Math.max(5, Math.round(n / 5));
      for (const id of paywalls) {
        push(
          seqRuns,
          `${repeat}|${id}-siwx`,
          await sequentialMs(signInRuns, signIn(url(id, SESSION_ROUTE)), 200),
        );
      }
      push(
        seqRuns,
        `${repeat}|peer-siwx`,
        await sequentialMs(signInRuns, signIn(url("peer-siwx", SESSION_ROUTE)), 200),
      );

      paidPerRound.push(await paidRound(stack, url, paidRuns));
      for (const id of paywalls) {
        const sessionPaid: PaidTiming[] = [];
        for (let i = 0; i < SETTINGS.paid; i++) {
          sessionPaid.push(
            await paidRequest(url(id, SESSION_ROUTE), stack.facilitator, stack.origin),
          );
        }
        push(paidRuns, `${id}-session`, sessionPaid);
      }
      log(`round ${round}/${SETTINGS.rounds} done`);
    }
    return {
      date: new Date().toISOString(),
      mode: quick ? "quick" : "full",
      machine: machine(),
      versions: versions(),
      settings: { ...SETTINGS, paidCap: PAID_CAP, paidStep: PAID_STEP },
      paidPerRound,
      bundles: order
        .filter((id) => id === "paywall-against" || !TARGETS[id].build.generated)
        .map((id) => {
          const b = need(bundles, id);
          return {
            target: id,
            rawBytes: b.rawBytes,
            gzipBytes: b.gzipBytes,
            composition: b.composition,
          };
        }),
      startup: order.map((id) => {
        const t = need(targets, id);
        return { target: id, readyMs: t.readyMs, firstAnswerMs: t.firstAnswerMs };
      }),
      load: loadRows(loadRuns),
      sequential: sequentialRows(seqRuns),
      paid: paidRows(paidRuns),
      challengeSizes,
      counts: [],
      matching: [],
      notes,
    };
  } finally {
    for (const crawler of crawlers.values()) await crawler.stop();
  }
}

/**
 * One round of paid requests on ARTICLE: the baseline's plain GET, then the peer and each paywall
 * paid, in blocks. In full mode more blocks follow until the paywall's own overhead (its own p50
 * minus the baseline's in this round) moved by at most PAID_STABLE_MS between the last two
 * checks, up to PAID_CAP. Returns how many requests each target took.
 */
async function paidRound(
  stack: BenchStack,
  url: (id: TargetId, path: string) => string,
  paidRuns: Map<string, PaidTiming[][]>,
): Promise<number> {
  const ids = withAgainst(["peer", "paywall"]);
  const runs = new Map<string, PaidTiming[]>(
    ["baseline", ...ids].map((id): [string, PaidTiming[]] => [id, []]),
  );
  const block = async (k: number): Promise<void> => {
    const baseline = need(runs, "baseline");
    for (let i = 0; i < k; i++) {
      const split = await splitGet(url("baseline", ARTICLE), stack.facilitator, stack.origin);
      baseline.push({ ...split, cycleMs: split.totalMs });
    }
    for (const id of ids) {
      const timings = need(runs, id);
      for (let i = 0; i < k; i++) {
        timings.push(await paidRequest(url(id, ARTICLE), stack.facilitator, stack.origin));
      }
    }
  };
  const ownP50 = (id: string): number =>
    quantile(
      need(runs, id).map((t) => t.ownMs),
      0.5,
    );
  const overhead = (): number => ownP50("paywall") - ownP50("baseline");
  let taken = SETTINGS.paid;
  await block(taken);
  let last = overhead();
  while (taken < PAID_CAP) {
    const k = Math.min(PAID_STEP, PAID_CAP - taken);
    await block(k);
    taken += k;
    const now = overhead();
    if (Math.abs(now - last) <= PAID_STABLE_MS) break;
    last = now;
  }
  for (const [id, timings] of runs) push(paidRuns, id, timings);
  return taken;
}

/**
 * The byte length of each 402 scenario's PAYMENT-REQUIRED header and body as sent to a client
 * that asks for no compression, per target.
 */
async function measureChallenges(
  url: (id: TargetId, path: string) => string,
): Promise<ChallengeSize[]> {
  const sizes: ChallengeSize[] = [];
  for (const scenario of LOAD_SCENARIOS.filter((s) => s.expect === 402)) {
    for (const id of scenario.targets) {
      const response = await fetch(url(id, scenario.path), {
        headers: { "accept-encoding": "identity" },
      });
      const body = await response.arrayBuffer();
      sizes.push({
        scenario: scenario.id,
        target: id,
        path: scenario.path,
        headerBytes: Buffer.byteLength(response.headers.get("payment-required") ?? ""),
        bodyBytes: body.byteLength,
      });
    }
  }
  return sizes;
}

const LABELS: Record<string, string> = {
  baseline: TARGETS.baseline.label,
  ceiling: TARGETS.ceiling.label,
  peer: TARGETS.peer.label,
  "peer-siwx": TARGETS["peer-siwx"].label,
  paywall: TARGETS.paywall.label,
  "paywall-bytes": TARGETS["paywall-bytes"].label,
  "paywall-siwx": "this paywall, SIWx sign-in (official client)",
  "paywall-session": "this paywall, session route (grants a token)",
};
const labelOf = (key: string): string => LABELS[key] ?? key;

/** The row of the `--against` build matching a paywall row's key, if the key is the paywall's. */
function againstTwin(key: string): string | undefined {
  return ["paywall", "paywall-siwx", "paywall-session"].includes(key)
    ? key.replace("paywall", AGAINST)
    : undefined;
}

function loadRows(runs: Map<string, LoadResult[]>): LoadRow[] {
  const rows: LoadRow[] = [];
  for (const scenario of LOAD_SCENARIOS) {
    const of = (id: TargetId | undefined): LoadResult[] | undefined =>
      id && scenario.targets.includes(id) ? runs.get(`${scenario.id}|${id}`) : undefined;
    for (const id of scenario.targets) {
      const rounds = of(id) ?? [];
      const ratio = (other: TargetId | undefined, cpu = false): OverRounds | undefined => {
        const against = of(other);
        if (!against || other === id) return undefined;
        return overRounds(
          rounds.map((r, i) => {
            const o = against[i];
            if (!o) return Number.NaN;
            return cpu ? (o.cpuUsPerRequest ?? NaN) / (r.cpuUsPerRequest ?? NaN) : r.rps / o.rps;
          }),
        );
      };
      const answered = rounds.reduce((t, r) => t + r.answered, 0);
      const ok = rounds.reduce((t, r) => t + (r.statuses[String(scenario.expect)] ?? 0), 0);
      const compare = (cpu: boolean): LoadRow["ratios"] => {
        const out: LoadRow["ratios"] = {};
        const baseline = ratio("baseline", cpu);
        const ceiling = ratio("ceiling", cpu);
        const peer = ratio(scenario.peer ?? "peer", cpu);
        if (baseline !== undefined) out.baseline = baseline;
        if (ceiling !== undefined) out.ceiling = ceiling;
        if (peer !== undefined) out.peer = peer;
        const sameBytes = id === AGAINST ? undefined : ratio("paywall-bytes", cpu);
        if (sameBytes !== undefined) out.sameBytes = sameBytes;
        const against = id === "paywall" ? ratio(AGAINST, cpu) : undefined;
        if (against !== undefined) out.against = against;
        return out;
      };
      rows.push({
        scenario: scenario.id,
        target: id,
        label: labelOf(id),
        rounds,
        okShare: answered > 0 ? ok / answered : 0,
        ratios: compare(false),
        cpuRatios: compare(true),
      });
    }
  }
  return rows;
}

function sequentialRows(runs: Map<string, number[][]>): SequentialRow[] {
  const rows: SequentialRow[] = [];
  for (const [key, rounds] of runs) {
    const [scenario = "", target = ""] = key.split("|");
    const per = (other: number[][]): OverRounds =>
      overRounds(rounds.map((r, i) => quantile(r, 0.5) / quantile(other[i] ?? [], 0.5)));
    const row: SequentialRow = {
      scenario,
      target,
      label: labelOf(target),
      latenciesMs: rounds.flat(),
    };
    const baseline = runs.get(`${scenario}|baseline`);
    if (baseline && target !== "baseline") row.ratioToBaseline = per(baseline);
    const twin = againstTwin(target);
    const against = twin ? runs.get(`${scenario}|${twin}`) : undefined;
    if (against) row.ratioToAgainst = per(against);
    rows.push(row);
  }
  return rows;
}

function paidRows(runs: Map<string, PaidTiming[][]>): PaidRow[] {
  const baseline = runs.get("baseline") ?? [];
  const p50 = (timings: PaidTiming[], key: keyof PaidTiming): number =>
    quantile(
      timings.map((t) => t[key]),
      0.5,
    );
  return [...runs].map(([key, rounds]) => {
    const all = rounds.flat();
    const row: PaidRow = {
      target: key,
      label: labelOf(key),
      path: key.endsWith("-session") ? SESSION_ROUTE : ARTICLE,
      requests: all.length,
      cycleP50: p50(all, "cycleMs"),
      totalP50: p50(all, "totalMs"),
      facilitatorP50: p50(all, "facilitatorMs"),
      originP50: p50(all, "originMs"),
      ownP50: p50(all, "ownMs"),
    };
    if (key !== "baseline") {
      row.overhead = overRounds(
        rounds.map((r, i) => p50(r, "ownMs") - p50(baseline[i] ?? [], "ownMs")),
      );
    }
    const twin = againstTwin(key);
    const against = twin ? runs.get(twin) : undefined;
    if (against) {
      row.ownToAgainst = overRounds(
        rounds.map((r, i) => p50(r, "ownMs") / p50(against[i] ?? [], "ownMs")),
      );
    }
    return row;
  });
}

/** Per request, for each scenario: KV reads and DO calls (paywall), facilitator and origin calls. */
async function countCalls(
  stack: BenchStack,
  targets: Map<TargetId, RunningTarget>,
  counting: RunningTarget,
): Promise<CountRow[]> {
  const rows: CountRow[] = [];
  const n = SETTINGS.count;
  const sourcesFor = (id: TargetId | "counting"): CountSources => ({
    targetUrl: id === "counting" ? counting.url : undefined,
    facilitator: stack.facilitator,
    origin: stack.origin,
  });
  const base = (id: TargetId | "counting"): string =>
    id === "counting" ? counting.url : need(targets, id).url;
  const count = async (
    scenario: string,
    id: TargetId | "counting",
    once: (base: string) => Promise<unknown>,
  ): Promise<void> => {
    const sources = sourcesFor(id);
    const before = await snapshot(sources);
    for (let i = 0; i < n; i++) await once(base(id));
    await afterWork();
    const after = await snapshot(sources);
    const target = id === "counting" ? "paywall" : id;
    rows.push({ scenario, target, requests: n, ...perRequest(before, after, n) });
  };
  const get =
    (path: string, expect: number, headers: Record<string, string> = {}) =>
    async (origin: string): Promise<void> => {
      const response = await fetch(`${origin}${path}`, { headers });
      await response.arrayBuffer();
      if (response.status !== expect)
        throw new Error(`bench: ${origin}${path}: ${response.status}`);
    };
  /** Counts only the request carrying the payment, not the 402 before it. */
  const paid = async (scenario: string, id: TargetId | "counting", path: string) => {
    const sources = sourcesFor(id);
    let totals: CallCounts | undefined;
    for (let i = 0; i < n; i++) {
      let before = await snapshot(sources);
      await paidRequest(`${base(id)}${path}`, stack.facilitator, stack.origin, {
        before: async () => void (before = await snapshot(sources)),
        after: async () => {
          await afterWork();
          const one = perRequest(before, await snapshot(sources), 1);
          totals = totals ? addCounts(totals, one) : one;
        },
      });
    }
    if (!totals) throw new Error(`bench: nothing counted for ${scenario}`);
    const target = id === "counting" ? "paywall" : id;
    rows.push({ scenario, target, requests: n, ...divideCounts(totals, n) });
  };

  const token = await paidRequest(
    `${counting.url}${SESSION_ROUTE}`,
    stack.facilitator,
    stack.origin,
  );
  const sessionToken = token.response.headers.get("PAYMENT-SESSION") ?? "";
  for (const id of ["baseline", "peer", "counting"] as const) {
    await count("free route", id, get(FREE, 200));
  }
  for (const id of ["peer", "counting"] as const)
    await count("402 challenge", id, get(ARTICLE, 402));
  for (const id of ["peer-siwx", "counting"] as const) {
    await count("402 challenge, session route", id, get(SESSION_ROUTE, 402));
  }
  await count(
    "repeat access (token)",
    "counting",
    get(SESSION_ROUTE, 200, { "payment-session": sessionToken }),
  );
  await count(
    "repeat access (SIWx proof)",
    "peer-siwx",
    get(SESSION_ROUTE, 200, {
      "sign-in-with-x": await siwxProof(`${need(targets, "peer-siwx").url}${SESSION_ROUTE}`),
    }),
  );
  await count("SIWx sign-in (official client, 402 + retry)", "counting", (b) =>
    signIn(`${b}${SESSION_ROUTE}`)(),
  );
  await count("SIWx sign-in (official client, 402 + retry)", "peer-siwx", (b) =>
    signIn(`${b}${SESSION_ROUTE}`)(),
  );
  const crawler = await creditedCrawler(counting.url, n + 10);
  try {
    await count("signed crawler request debited from credit", "counting", async (origin) => {
      const response = await crawler.fetch(`${origin}${CRAWL_ROUTE}`, CRAWL_INIT);
      await response.arrayBuffer();
      if (response.status !== 200) throw new Error(`bench: crawler request: ${response.status}`);
    });
  } finally {
    await crawler.stop();
  }
  await paid("paid request (the paid retry only)", "peer", ARTICLE);
  await paid("paid request (the paid retry only)", "counting", ARTICLE);
  await paid("paid request, session route (grants a token)", "counting", SESSION_ROUTE);
  return rows;
}

function matching(): MatchingResult[] {
  const run = spawnSync(
    process.execPath,
    [
      "--experimental-transform-types",
      "--no-warnings",
      `${ROOT}bench/matching.ts`,
      String(MATCH_SAMPLES),
    ],
    { encoding: "utf8", cwd: ROOT },
  );
  if (run.status !== 0) throw new Error(`bench: matching failed:\n${run.stderr}`);
  return run.stdout
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as MatchingResult);
}

function machine(): BenchResults["machine"] {
  const list = cpus();
  return {
    cpus: list[0]?.model ?? "unknown",
    cores: list.length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    os: `${type()} ${release()}`,
    loadStart: LOAD_START,
    loadEnd: loadavg()[0] ?? Number.NaN,
  };
}

function versions(): Record<string, string> {
  const version = (name: string): string => {
    try {
      const pkg = JSON.parse(readFileSync(`${ROOT}node_modules/${name}/package.json`, "utf8")) as {
        version?: string;
      };
      return pkg.version ?? "?";
    } catch {
      return "?";
    }
  };
  const names = [
    "wrangler",
    "miniflare",
    "workerd",
    "autocannon",
    "hono",
    "@x402/hono",
    "@x402/fetch",
    "@x402/extensions",
  ];
  const git = (...args: string[]): string =>
    spawnSync("git", args, { cwd: ROOT, encoding: "utf8" }).stdout?.trim() ?? "";
  const dirty = git("status", "--porcelain", "--", "src") !== "";
  return {
    commit: `${git("rev-parse", "--short", "HEAD") || "?"}${dirty ? " (src/ had uncommitted changes)" : ""}`,
    node: process.version,
    ...Object.fromEntries(names.map((n) => [n, version(n)])),
  };
}

try {
  await main();
} catch (error) {
  if (!(error instanceof AgainstRefused)) throw error;
  console.error(error.message);
  process.exitCode = 2;
}
