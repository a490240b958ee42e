/**
 * The shape of a bench run's results (bench/results.json) and the statistics over rounds.
 */
import type { CallCounts } from "./counts.ts";
import type { LoadResult } from "./load.ts";
import type { MatchingResult } from "./matching.ts";

/** A load scenario's figures for one target, one entry per round. */
export interface LoadRow {
  scenario: string;
  target: string;
  label: string;
  rounds: LoadResult[];
  /** Share of answers with the expected status, over all rounds. */
  okShare: number;
  /** Median over rounds of this target's req/s divided by the other's in the same round. */
  ratios: Ratios;
  /**
   * The same comparison from CPU time: the other's CPU per request divided by this one's (above 1:
   * this one costs less). Steadier than req/s on a busy machine, since each target's own
   * processes are measured.
   */
  cpuRatios: Ratios;
}

/** Ratios to the other targets of a scenario; `sameBytes`: the paywall's bytes sent as a constant. */
export interface Ratios {
  baseline?: number;
  ceiling?: number;
  peer?: number;
  sameBytes?: number;
}

/** A one-at-a-time scenario's figures for one target (latencies in ms, all rounds). */
export interface SequentialRow {
  scenario: string;
  target: string;
  label: string;
  latenciesMs: number[];
  /** Median over rounds of this row's p50 divided by the baseline row's p50 in the same round. */
  ratioToBaseline?: number;
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
  /** This row's own p50 minus the baseline's own p50, median over rounds. */
  overheadP50?: number;
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
