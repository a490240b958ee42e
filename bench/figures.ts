/**
 * The run's target figures as lines a script can read, printed last by `npm run bench`:
 * `[figures] <name>: <value> (<comparisons>)`, medians over rounds, `n/a` where a figure was not
 * measured. With `--against <ref>`, each figure measured on that build also gets a line
 * `[figures] <name>-against: <value>`. bench/README.md lists the lines.
 */
import { quantile, SCENARIO, type BenchResults, type OverRounds } from "./results.ts";

const AGAINST = "paywall-against";

const num = (value: number | null | undefined, digits = 2): string =>
  value === undefined || value === null || Number.isNaN(value) ? "n/a" : value.toFixed(digits);
const mid = (ratio: OverRounds | undefined): number | undefined => ratio?.median;

/** One line per figure, then one per figure the `--against` build has. */
export function figureLines(results: BenchResults): string[] {
  const load = (scenario: string, target: string) =>
    results.load.find((r) => r.scenario === scenario && r.target === target);
  const seq = (scenario: string, target: string) =>
    results.sequential.find((r) => r.scenario === scenario && r.target === target);
  const seqP50 = (scenario: string, target: string): number | undefined => {
    const row = seq(scenario, target);
    return row ? quantile(row.latenciesMs, 0.5) : undefined;
  };
  const paid = (target: string) => mid(results.paid.find((r) => r.target === target)?.overhead);
  const gzipKiB = (target: string): number | undefined => {
    const bytes = results.bundles.find((b) => b.target === target)?.gzipBytes;
    return bytes === undefined ? undefined : bytes / 1024;
  };
  const size = (target: string) =>
    results.challengeSizes.find((s) => s.scenario === SCENARIO.challenge && s.target === target);

  const challenge = (t: string) => mid(load(SCENARIO.challenge, t)?.ratios.ceiling);
  const sessionChallenge = (t: string) => mid(load(SCENARIO.sessionChallenge, t)?.ratios.ceiling);
  const tokenRepeat = (t: string) => mid(load(SCENARIO.tokenRepeat, t)?.ratios.baseline);
  const oneAtATime = (t: string) => mid(seq(SCENARIO.oneAtATime, t)?.ratioToBaseline);
  const crawl = (t: string) => mid(seq(SCENARIO.crawl, t)?.ratioToBaseline);
  const bytes = (t: string): string | undefined => {
    const s = size(t);
    return s ? `header ${s.headerBytes}, body ${s.bodyBytes}` : undefined;
  };
  const known = (value: number | undefined, unit = ""): string | undefined =>
    value === undefined || Number.isNaN(value) ? undefined : `${num(value)}${unit}`;
  const ours = bytes("paywall");
  const againstOverhead = paid(AGAINST);
  /** Each figure: its line, and its value on the `--against` build (undefined: not measured). */
  const all: Array<{ name: string; line: string; against: string | undefined }> = [
    {
      name: "paid-overhead",
      line:
        `${num(paid("paywall"))} ms (peer ${num(paid("peer"))} ms)` +
        (results.against ? ` [against ${num(againstOverhead)} ms]` : ""),
      against: known(againstOverhead, " ms"),
    },
    {
      name: "402-vs-ceiling",
      line: `${num(challenge("paywall"))} (constant-bytes ${num(challenge("paywall-bytes"))}, peer ${num(challenge("peer"))})`,
      against: known(challenge(AGAINST)),
    },
    {
      name: "402-session-vs-ceiling",
      line: `${num(sessionChallenge("paywall"))} (peer-siwx ${num(sessionChallenge("peer-siwx"))})`,
      against: known(sessionChallenge(AGAINST)),
    },
    {
      name: "token-repeat-vs-baseline",
      line: `${num(tokenRepeat("paywall"))} (peer-siwx ${num(tokenRepeat("peer-siwx"))})`,
      against: known(tokenRepeat(AGAINST)),
    },
    {
      name: "token-one-at-a-time-vs-baseline",
      line: num(oneAtATime("paywall")),
      against: known(oneAtATime(AGAINST)),
    },
    {
      name: "siwx-sign-in",
      line: `${num(seqP50(SCENARIO.oneAtATime, "paywall-siwx"))} ms (peer ${num(seqP50(SCENARIO.oneAtATime, "peer-siwx"))} ms)`,
      against: known(seqP50(SCENARIO.oneAtATime, `${AGAINST}-siwx`), " ms"),
    },
    {
      name: "crawler-credit-vs-plain-get",
      line: num(crawl("paywall")),
      against: known(crawl(AGAINST)),
    },
    {
      name: "bundle",
      line: `${num(gzipKiB("paywall"), 1)} KiB gzip`,
      against: gzipKiB(AGAINST) === undefined ? undefined : `${num(gzipKiB(AGAINST), 1)} KiB gzip`,
    },
    {
      name: "402-bytes",
      line: `${ours ?? "header n/a, body n/a"} (peer header ${size("peer")?.headerBytes ?? "n/a"})`,
      against: bytes(AGAINST),
    },
  ];
  const lines = all.map((f) => `[figures] ${f.name}: ${f.line}`);
  if (results.against) {
    for (const f of all) if (f.against) lines.push(`[figures] ${f.name}-against: ${f.against}`);
  }
  return lines;
}
