/**
 * Renders a bench run as Markdown (bench/RESULTS.md): the targets met or missed, then every
 * table the run measured. Every ratio shows its median over rounds and its spread (lowest and
 * highest round), e.g. `0.91 (0.85–0.97)`.
 */
import {
  median,
  quantile,
  SCENARIO,
  type BenchResults,
  type LoadRow,
  type OverRounds,
} from "./results.ts";

/** A figure, or "–" when there is none (NaN is stored as null in results.json). */
const f = (value: number | null | undefined, digits = 2): string =>
  value === undefined || value === null || Number.isNaN(value) ? "–" : value.toFixed(digits);
/** A per-round figure: its median and, in brackets, its lowest and highest round. */
const r = (value: OverRounds | undefined, digits = 2): string =>
  value === undefined || Number.isNaN(value.median)
    ? "–"
    : `${f(value.median, digits)} (${f(value.min, digits)}–${f(value.max, digits)})`;
const mid = (value: OverRounds | undefined): number => value?.median ?? Number.NaN;
const kib = (bytes: number): string => (bytes / 1024).toFixed(1);
const AGAINST = "paywall-against";
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

/** Checks each target against the results; with `--against`, the other build's figure beside. */
export function checkTargets(results: BenchResults): TargetCheck[] {
  const checks: TargetCheck[] = [];
  const at = results.against ? `at ${results.against.ref}` : "";
  /** "; at <ref> 0.80 (…)×" when the run has the other build's figure. */
  const also = (value: OverRounds | undefined, unit = "×"): string =>
    results.against && value ? `; ${at} ${r(value)}${unit}` : "";
  const ratio = (scenario: string, key: "baseline" | "ceiling", target = "paywall") =>
    loadRow(results, scenario, target)?.ratios[key];
  const cpu = (scenario: string, key: "baseline" | "ceiling"): string =>
    `; from CPU time ${r(loadRow(results, scenario, "paywall")?.cpuRatios[key])}×`;
  const free = ratio("free route", "baseline");
  checks.push({
    goal: "free route ≥ 0.95× baseline req/s",
    measured: `${r(free)}×${cpu("free route", "baseline")}${also(ratio("free route", "baseline", AGAINST))}`,
    met: mid(free) >= 0.95,
  });
  const challenge = ratio(SCENARIO.challenge, "ceiling");
  const peerChallenge = ratio(SCENARIO.challenge, "ceiling", "peer");
  const ours = loadRow(results, SCENARIO.challenge, "paywall");
  checks.push({
    goal: "402 challenge ≥ 0.9× constant-402 ceiling",
    measured:
      `${r(challenge)}× (peer ${r(peerChallenge)}×)${cpu(SCENARIO.challenge, "ceiling")}; ` +
      `${r(ours?.ratios.sameBytes)}× a constant 402 of the paywall's own bytes ` +
      `(from CPU time ${r(ours?.cpuRatios.sameBytes)}×)` +
      also(ratio(SCENARIO.challenge, "ceiling", AGAINST)),
    met: mid(challenge) >= 0.9,
  });
  const repeat = ratio(SCENARIO.tokenRepeat, "baseline");
  const peerRepeat = ratio(SCENARIO.tokenRepeat, "baseline", "peer-siwx");
  checks.push({
    goal: "repeat access with a token ≥ 0.85× baseline req/s under load",
    measured:
      `${r(repeat)}× (peer with SIWx ${r(peerRepeat)}×)${cpu(SCENARIO.tokenRepeat, "baseline")}` +
      also(ratio(SCENARIO.tokenRepeat, "baseline", AGAINST)),
    met: mid(repeat) >= 0.85,
  });
  const seq = (target: string) =>
    results.sequential.find((row) => row.scenario === SCENARIO.oneAtATime && row.target === target);
  const one = seq("paywall");
  checks.push({
    goal: "repeat access one at a time ≤ 1.2× baseline latency",
    measured:
      `${r(one?.ratioToBaseline)}× (p50 ${f(quantile(one?.latenciesMs ?? [], 0.5))} ms)` +
      also(seq(AGAINST)?.ratioToBaseline),
    met: mid(one?.ratioToBaseline) <= 1.2,
  });
  const paid = (target: string) => results.paid.find((row) => row.target === target);
  const againstPaid = paid(AGAINST)?.overhead;
  checks.push({
    goal: "paid request: own overhead < 1.5 ms at p50",
    measured:
      `${r(paid("paywall")?.overhead)} ms (peer ${r(paid("peer")?.overhead)} ms)` +
      (results.against ? `; own overhead ${at}: ${r(againstPaid)} ms` : ""),
    met: mid(paid("paywall")?.overhead) < 1.5,
  });
  const bundle = (target: string) => results.bundles.find((b) => b.target === target);
  const againstBundle = bundle(AGAINST);
  checks.push({
    goal: "bundle < 100 KiB gzip",
    measured:
      `${kib(bundle("paywall")?.gzipBytes ?? NaN)} KiB (peer with SIWx ${kib(bundle("peer-siwx")?.gzipBytes ?? NaN)} KiB)` +
      (againstBundle ? `; ${at} ${kib(againstBundle.gzipBytes)} KiB` : ""),
    met: (bundle("paywall")?.gzipBytes ?? Infinity) < 100 * 1024,
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
  const rps = row.rounds.map((x) => x.rps);
  return `${Math.round(median(rps))} (${Math.round(Math.min(...rps))}–${Math.round(Math.max(...rps))})`;
}

/** The headline table (load and one-at-a-time), as bench/README.md shows it. */
export function headlineTable(results: BenchResults): string {
  const against = results.against;
  const rows = results.load.map((row) => [
    row.scenario,
    row.label,
    rpsCell(row),
    f(median(row.rounds.map((x) => x.p50Ms)), 0),
    f(median(row.rounds.map((x) => x.p99Ms)), 0),
    r(row.ratios.baseline),
    r(row.ratios.ceiling),
    r(row.ratios.peer),
    ...(against ? [r(row.ratios.against)] : []),
    f(median(row.rounds.map((x) => x.cpuUsPerRequest ?? Number.NaN)), 0),
    [
      row.cpuRatios.baseline,
      row.cpuRatios.ceiling,
      row.cpuRatios.peer,
      ...(against ? [row.cpuRatios.against] : []),
    ]
      .map((v) => r(v))
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
      ...(against ? [`× against ${against.ref}`] : []),
      "CPU µs/req",
      `from CPU: × baseline / ceiling / peer${against ? " / against" : ""}`,
    ],
    rows,
  );
}

/** How many paid requests each round took, and why. */
function paidTaken(results: BenchResults): string {
  const taken = results.paidPerRound.join(", ");
  const first = results.settings["paid"];
  const cap = results.settings["paidCap"];
  if (first === cap) return `Paid requests per target and round: ${taken}.`;
  return (
    `Paid requests per target and round: ${taken} (${first} at first, then ` +
    `${results.settings["paidStep"]} more at a time until the paywall's own overhead moved by at ` +
    `most 0.5 ms between two checks, at most ${cap}).`
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
  const bad = results.load.filter((row) => row.okShare < 0.999);
  for (const row of bad) {
    out.push(
      `Warning: ${row.label} / ${row.scenario}: only ${f(row.okShare * 100, 1)}% had the expected status.`,
    );
  }
  const against = results.against;
  if (against) {
    out.push(
      `"× against ${against.ref}": this paywall's figure divided by the same figure of the ` +
        `paywall built from ${against.ref} (commit ${against.commit}, its own wrangler.toml and ` +
        "bindings), measured in the same rounds, interleaved right after this one; per round, then " +
        "the median. Above 1 under load, and below 1 for latencies, this checkout is faster.",
      "",
    );
  }
  out.push("## One request at a time", "");
  out.push(
    table(
      [
        "scenario",
        "target",
        "requests",
        "p50 ms",
        "p99 ms",
        "× baseline p50",
        ...(against ? [`× against ${against.ref} p50`] : []),
      ],
      results.sequential.map((row) => [
        row.scenario,
        row.label,
        String(row.latenciesMs.length),
        f(quantile(row.latenciesMs, 0.5)),
        f(quantile(row.latenciesMs, 0.99)),
        r(row.ratioToBaseline),
        ...(against ? [r(row.ratioToAgainst)] : []),
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
        ...(against ? [`own × against ${against.ref}`] : []),
      ],
      results.paid.map((row) => [
        row.label,
        row.path,
        String(row.requests),
        f(row.cycleP50),
        f(row.totalP50),
        f(row.facilitatorP50),
        f(row.originP50),
        f(row.ownP50),
        r(row.overhead),
        ...(against ? [r(row.ownToAgainst)] : []),
      ]),
    ),
    "",
    paidTaken(results),
    "",
    "Whole cycle: the client's first request (402), signing, and the paid retry. Paid request: the " +
      "retry alone, from sending to the last body byte. Own: the paid request minus the time spent " +
      "past the facilitator pass-through and at the origin, paired per request. The baseline row is a " +
      "plain proxied GET of the same article.",
    "",
  );
  out.push("## The 402's size", "");
  out.push(
    table(
      ["scenario", "target", "route", "PAYMENT-REQUIRED header bytes", "body bytes"],
      results.challengeSizes.map((s) => [
        s.scenario,
        s.target,
        s.path,
        String(s.headerBytes),
        String(s.bodyBytes),
      ]),
    ),
    "",
    "As sent to a client that asks for no compression (autocannon's load); the header is the " +
      "base64 JSON of the V2 challenge, the body what the target sends beside it (the paywall: " +
      "the V1 challenge).",
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
