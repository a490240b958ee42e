/**
 * Renders a bench run as Markdown (bench/RESULTS.md): the targets from issue 7 met or missed,
 * then every table the run measured.
 */
import { median, quantile, type BenchResults, type LoadRow } from "./results.ts";

/** A figure, or "–" when there is none (NaN is stored as null in results.json). */
const f = (value: number | null | undefined, digits = 2): string =>
  value === undefined || value === null || Number.isNaN(value) ? "–" : value.toFixed(digits);
const kib = (bytes: number): string => (bytes / 1024).toFixed(1);
const table = (head: string[], rows: string[][]): string =>
  [head, head.map(() => "---"), ...rows].map((r) => `| ${r.join(" | ")} |`).join("\n");

/** One target of the issue: what was asked, what was measured, met or not. */
export interface TargetCheck {
  goal: string;
  measured: string;
  met: boolean;
}

function loadRow(results: BenchResults, scenario: string, target: string): LoadRow | undefined {
  return results.load.find((r) => r.scenario === scenario && r.target === target);
}

/** Checks each target of the issue against the results. */
export function checkTargets(results: BenchResults): TargetCheck[] {
  const checks: TargetCheck[] = [];
  const ratio = (scenario: string, key: "baseline" | "ceiling"): number =>
    loadRow(results, scenario, "paywall")?.ratios[key] ?? Number.NaN;
  const cpu = (scenario: string, key: "baseline" | "ceiling"): string =>
    `; from CPU time ${f(loadRow(results, scenario, "paywall")?.cpuRatios[key])}×`;
  const free = ratio("free route", "baseline");
  checks.push({
    goal: "free route ≥ 0.95× baseline req/s",
    measured: `${f(free)}×${cpu("free route", "baseline")}`,
    met: free >= 0.95,
  });
  const challenge = ratio("402 challenge", "ceiling");
  const peerChallenge = loadRow(results, "402 challenge", "peer")?.ratios.ceiling;
  checks.push({
    goal: "402 challenge ≥ 0.9× constant-402 ceiling",
    measured:
      `${f(challenge)}× (peer ${f(peerChallenge)}×)${cpu("402 challenge", "ceiling")}; ` +
      `${f(loadRow(results, "402 challenge", "paywall")?.ratios.sameBytes)}× a constant 402 of the paywall's own bytes ` +
      `(from CPU time ${f(loadRow(results, "402 challenge", "paywall")?.cpuRatios.sameBytes)}×)`,
    met: challenge >= 0.9,
  });
  const repeat = ratio("repeat access (token / SIWx proof)", "baseline");
  const peerRepeat = loadRow(results, "repeat access (token / SIWx proof)", "peer-siwx")?.ratios
    .baseline;
  checks.push({
    goal: "repeat access with a token ≥ 0.85× baseline req/s under load",
    measured: `${f(repeat)}× (peer with SIWx ${f(peerRepeat)}×)${cpu("repeat access (token / SIWx proof)", "baseline")}`,
    met: repeat >= 0.85,
  });
  const one = results.sequential.find(
    (r) => r.scenario === "repeat access, one at a time" && r.target === "paywall",
  );
  const oneRatio = one?.ratioToBaseline ?? Number.NaN;
  checks.push({
    goal: "repeat access one at a time ≤ 1.2× baseline latency",
    measured: `${f(oneRatio)}× (p50 ${f(quantile(one?.latenciesMs ?? [], 0.5))} ms)`,
    met: oneRatio <= 1.2,
  });
  const paid = results.paid.find((r) => r.target === "paywall");
  const peerPaid = results.paid.find((r) => r.target === "peer");
  checks.push({
    goal: "paid request: own overhead < 1.5 ms at p50",
    measured: `${f(paid?.overheadP50)} ms (peer ${f(peerPaid?.overheadP50)} ms)`,
    met: (paid?.overheadP50 ?? Number.NaN) < 1.5,
  });
  const ours = results.bundles.find((b) => b.target === "paywall");
  const peerSiwx = results.bundles.find((b) => b.target === "peer-siwx");
  checks.push({
    goal: "bundle < 100 KiB gzip",
    measured: `${ours ? kib(ours.gzipBytes) : "–"} KiB (peer with SIWx ${peerSiwx ? kib(peerSiwx.gzipBytes) : "–"} KiB)`,
    met: (ours?.gzipBytes ?? Infinity) < 100 * 1024,
  });
  const small = results.matching[0];
  const big = results.matching[results.matching.length - 1];
  const slope =
    small && big ? Math.log(big.p50Us / small.p50Us) / Math.log(big.rules / small.rules) : NaN;
  checks.push({
    goal: "matching 10,000 rules: p50 < 50 µs, sub-linear growth",
    measured: `${f(big?.p50Us, 1)} µs; growth exponent ${f(slope)} (1 = linear)`,
    met: (big?.p50Us ?? Infinity) < 50 && slope < 1,
  });
  return checks;
}

function byBinding(calls: Record<string, number>): string {
  const parts = Object.entries(calls).map(([name, n]) => `${name} ${f(n)}`);
  return parts.length > 0 ? ` (${parts.join(", ")})` : "";
}

function rpsCell(row: LoadRow): string {
  const rps = row.rounds.map((r) => r.rps);
  return `${Math.round(median(rps))} (${Math.round(Math.min(...rps))}–${Math.round(Math.max(...rps))})`;
}

/** The headline table (load and one-at-a-time), as bench/README.md shows it. */
export function headlineTable(results: BenchResults): string {
  const rows = results.load.map((row) => [
    row.scenario,
    row.label,
    rpsCell(row),
    f(median(row.rounds.map((r) => r.p50Ms)), 0),
    f(median(row.rounds.map((r) => r.p99Ms)), 0),
    f(row.ratios.baseline),
    f(row.ratios.ceiling),
    f(row.ratios.peer),
    f(median(row.rounds.map((r) => r.cpuUsPerRequest ?? Number.NaN)), 0),
    [row.cpuRatios.baseline, row.cpuRatios.ceiling, row.cpuRatios.peer]
      .map((v) => f(v))
      .join(" / "),
  ]);
  return table(
    [
      "scenario",
      "target",
      "req/s median (min–max)",
      "p50 ms",
      "p99 ms",
      "× baseline",
      "× ceiling",
      "× peer",
      "CPU µs/req",
      "from CPU: × baseline / ceiling / peer",
    ],
    rows,
  );
}

/** The whole report. */
export function renderMarkdown(results: BenchResults): string {
  const out: string[] = [];
  const m = results.machine;
  out.push("# Benchmark results", "");
  out.push(
    `Measured ${results.date} (${results.mode} mode: ${results.settings["rounds"]} interleaved rounds, ` +
      `${results.settings["durationS"]} s per load run, ${results.settings["connections"]} connections) ` +
      `on ${m.cores} × ${m.cpus}, ${m.memoryGiB} GiB, ${m.os}, shared with other work (1-minute ` +
      `load average ${f(m.loadStart, 1)} at the start, ${f(m.loadEnd, 1)} at the end). Produced by \`npm run bench` +
      `${results.mode === "quick" ? " -- --quick" : ""}\`.`,
    "",
    `Versions: ${Object.entries(results.versions)
      .map(([k, v]) => `${k} ${v}`)
      .join(", ")}.`,
    "",
    "Every target is a bundle from `wrangler deploy --dry-run`, served by Miniflare (one workerd, no " +
      "inspector), in front of the same in-memory origin and the official facilitator on a local anvil. " +
      "Load: autocannon on loopback in its own process, closed loop. Ratios are taken within each round, " +
      "then the median over rounds.",
    "",
  );
  out.push("## Targets", "");
  out.push(
    table(
      ["target", "measured", "met"],
      checkTargets(results).map((c) => [c.goal, c.measured, c.met ? "yes" : "**no**"]),
    ),
    "",
  );
  out.push("## Under load", "", headlineTable(results), "");
  const bad = results.load.filter((r) => r.okShare < 0.999);
  for (const r of bad) {
    out.push(
      `Warning: ${r.label} / ${r.scenario}: only ${f(r.okShare * 100, 1)}% had the expected status.`,
    );
  }
  out.push("## One request at a time", "");
  out.push(
    table(
      ["scenario", "target", "requests", "p50 ms", "p99 ms", "× baseline p50"],
      results.sequential.map((r) => [
        r.scenario,
        r.label,
        String(r.latenciesMs.length),
        f(quantile(r.latenciesMs, 0.5)),
        f(quantile(r.latenciesMs, 0.99)),
        f(r.ratioToBaseline),
      ]),
    ),
    "",
    "The SIWx rows use the official client's sign-in hook, so each is a 402, a signature and a retry.",
    "",
  );
  out.push("## Paid request (official `@x402/fetch` client)", "");
  out.push(
    table(
      [
        "target",
        "route",
        "requests",
        "whole cycle p50 ms",
        "paid request p50 ms",
        "verify+settle p50 ms",
        "origin p50 ms",
        "own p50 ms",
        "own − baseline's own ms",
      ],
      results.paid.map((r) => [
        r.label,
        r.path,
        String(r.requests),
        f(r.cycleP50),
        f(r.totalP50),
        f(r.facilitatorP50),
        f(r.originP50),
        f(r.ownP50),
        f(r.overheadP50),
      ]),
    ),
    "",
    "Whole cycle: the client's first request (402), signing, and the paid retry. Paid request: the " +
      "retry alone, from sending to the last body byte. Own: the paid request minus the time spent " +
      "past the facilitator pass-through and at the origin, paired per request. The baseline row is a " +
      "plain proxied GET of the same article.",
    "",
  );
  out.push("## Calls per request (counted)", "");
  out.push(
    table(
      [
        "scenario",
        "target",
        "requests",
        "KV reads",
        "KV writes",
        "D1 statements",
        "DO calls (by binding)",
        "facilitator calls",
        "origin requests",
        "ms awaited on storage (by binding)",
      ],
      results.counts.map((r) => [
        r.scenario,
        r.target,
        String(r.requests),
        f(r.kvReads),
        f(r.kvWrites),
        f(r.d1Statements),
        f(r.doCalls) + byBinding(r.doCallsBy),
        f(r.facilitator),
        f(r.origin),
        Object.keys(r.awaitedMsBy).length > 0
          ? Object.entries(r.awaitedMsBy)
              .map(([k, v]) => `${k} ${f(v)}`)
              .join(", ")
          : "–",
      ]),
    ),
    "",
    "KV, D1 and Durable Object calls are counted by wrapping every storage binding wrangler.toml " +
      "declares (in a separate counting instance of the paywall, 100 ms after each answer so work " +
      "done in `waitUntil` counts); facilitator calls at the pass-through, origin requests at the " +
      "origin. Awaited: from each storage call until its promise settled (the Worker clock moves " +
      "across I/O only, so this is coarse). The price table is cached in the isolate for `PRICE_TABLE_TTL_SECONDS` (10 s), so KV " +
      "reads per request are near 0 in steady state. `–`: the target has no such binding.",
    "",
  );
  out.push("## Bundle size and start-up", "");
  const peer = results.bundles.find((b) => b.target === "peer");
  out.push(
    table(
      ["target", "raw KiB", "gzip KiB", "gzip × peer", "Miniflare ready ms", "first answer ms"],
      results.bundles.map((b) => {
        const s = results.startup.find((x) => x.target === b.target);
        return [
          b.target,
          kib(b.rawBytes),
          kib(b.gzipBytes),
          peer ? f(b.gzipBytes / peer.gzipBytes) : "–",
          f(s?.readyMs, 0),
          f(s?.firstAnswerMs, 0),
        ];
      }),
    ),
    "",
    "First answer: the first request after workerd listens (`/api/hello`; the peers fetch the " +
      "facilitator's `/supported` then, the paywall reads its price table from KV).",
    "",
  );
  const ours = results.bundles.find((b) => b.target === "paywall");
  if (ours) {
    const top = ours.composition.slice(0, 12);
    out.push(
      "What the paywall's bundle is made of (raw bytes in the output, by package or src/ folder, " +
        "from esbuild's metafile; gzip shrinks each part differently):",
      "",
      table(
        ["module", "raw KiB", "share"],
        top.map((m) => [m.module, kib(m.bytes), `${f((m.bytes / ours.rawBytes) * 100, 0)}%`]),
      ),
      "",
    );
  }
  out.push("## Route matching against table size", "");
  out.push(
    table(
      ["rules", "parse + compile ms", "p50 µs", "p99 µs", "mean µs", "miss p50 µs"],
      results.matching.map((r) => [
        String(r.rules),
        f(r.compileMs, 1),
        f(r.p50Us),
        f(r.p99Us),
        f(r.meanUs),
        f(r.missP50Us),
      ]),
    ),
    "",
    "Per request: `normalisePath` + `match` from src/pricing, in Node (bench/matching.ts); 90% of " +
      "requests hit rules spread over the table, 10% match none. Compiling happens once per table version.",
    "",
  );
  if (results.notes.length > 0) out.push("## Notes", "", ...results.notes.map((n) => `- ${n}`), "");
  return out.join("\n");
}
