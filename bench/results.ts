/**
 * The shape of a bench run's results (bench/results.json) and the statistics over rounds.
 */
import type { CallCounts } from "./counts.ts";
import type { LoadResult } from "./load.ts";
import type { MatchingResult } from "./matching.ts";

/** Scenario names shared by the run, its report and its figures lines. */
export const SCENARIO = {
  challenge: "402 challenge",
  sessionChallenge: "402 challenge, session route",
  tokenRepeat: "repeat access (token / SIWx proof)",
  oneAtATime: "repeat access, one at a time",
  crawl: "signed crawler request debited from credit, one at a time",
} as const;

/** A load scenario's figures for one target, one entry per round. */
export interface LoadRow {
  scenario: string;
  target: string;
  label: string;
  rounds: LoadResult[];
  /** Share of answers with the expected status, over all rounds. */
  okShare: number;
  /** This target's req/s divided by the other's in the same round, over rounds. */
  ratios: Ratios;
  /**
   * The same comparison from CPU time: the other's CPU per request divided by this one's (above 1:
   * this one costs less). Steadier than req/s on a busy machine, since each target's own
   * processes are measured.
   */
  cpuRatios: Ratios;
}

/** A figure taken once per round: the median over rounds and the spread (lowest, highest round). */
export interface OverRounds {
  median: number;
  min: number;
  max: number;
}

/**
 * Ratios to the other targets of a scenario; `sameBytes`: the paywall's bytes sent as a constant;
 * `against`: the paywall built from another commit (`--against <ref>`), on the paywall's row.
 */
export interface Ratios {
  baseline?: OverRounds;
  ceiling?: OverRounds;
  peer?: OverRounds;
  sameBytes?: OverRounds;
  against?: OverRounds;
}

/** A one-at-a-time scenario's figures for one target (latencies in ms, all rounds). */
export interface SequentialRow {
  scenario: string;
  target: string;
  label: string;
  latenciesMs: number[];
  /** This row's p50 divided by the baseline row's p50 in the same round, over rounds. */
  ratioToBaseline?: OverRounds;
  /** The same against the matching row of the paywall built from the `--against` commit. */
  ratioToAgainst?: OverRounds;
}

/** A paid-request row: per-request splits (ms, p50 over all requests). */
export interface PaidRow {
  target: string;
  label: string;
  path: string;
  requests: number;
  cycleP50: number;
  totalP50: number;
  facilitatorP50: number;
  originP50: number;
  ownP50: number;
  /** This row's own p50 minus the baseline's own p50 in the same round, over rounds. */
  overhead?: OverRounds;
  /** This row's own p50 divided by the `--against` build's own p50 in the same round, over rounds. */
  ownToAgainst?: OverRounds;
}

/** The size of a 402 as sent (no compression): its PAYMENT-REQUIRED header and its body, bytes. */
export interface ChallengeSize {
  scenario: string;
  target: string;
  path: string;
  headerBytes: number;
  bodyBytes: number;
}

/** Counted calls per request. */
export interface CountRow extends CallCounts {
  scenario: string;
  target: string;
  requests: number;
}

/** Everything one run measured. */
export interface BenchResults {
  date: string;
  mode: "full" | "quick";
  machine: {
    cpus: string;
    cores: number;
    memoryGiB: number;
    os: string;
    /** 1-minute load averages at the start and the end of the run (others' work included). */
    loadStart: number;
    loadEnd: number;
  };
  versions: Record<string, string>;
  settings: Record<string, number>;
  /** The commit compared with (`--against <ref>`), when given. */
  against?: { ref: string; commit: string };
  /** Paid requests per target taken in each round (full mode adds some until the figure is stable). */
  paidPerRound: number[];
  bundles: Array<{
    target: string;
    rawBytes: number;
    gzipBytes: number;
    composition: Array<{ module: string; bytes: number }>;
  }>;
  startup: Array<{ target: string; readyMs: number; firstAnswerMs: number }>;
  load: LoadRow[];
  sequential: SequentialRow[];
  paid: PaidRow[];
  challengeSizes: ChallengeSize[];
  counts: CountRow[];
  matching: MatchingResult[];
  notes: string[];
}

/** The q-quantile of `values` (nearest rank); NaN when empty. */
export function quantile(values: number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
}

/** The median of `values`, averaging the middle two of an even count. */
export function median(values: number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const upper = sorted[mid] ?? Number.NaN;
  return sorted.length % 2 === 1 ? upper : ((sorted[mid - 1] ?? Number.NaN) + upper) / 2;
}

/** The median and spread of per-round figures, NaN rounds left out (all NaN when none is left). */
export function overRounds(values: number[]): OverRounds {
  const known = values.filter((v) => !Number.isNaN(v));
  if (known.length === 0) return { median: Number.NaN, min: Number.NaN, max: Number.NaN };
  return { median: median(known), min: Math.min(...known), max: Math.max(...known) };
}
