/**
 * Counting what each request costs in storage and remote calls: KV, D1 and Durable Object calls
 * as counted by a counting target (bench/serve.ts wraps its bindings), facilitator calls as seen
 * by the timing pass-through in front of the facilitator, origin requests as seen by the origin.
 */

/** Where a counting target reports its binding counts since it started. */
export const COUNTS_PATH = "/__bench/counts";

/** Calls made so far (or per request, after `perRequest`). NaN: not counted for this target. */
export interface CallCounts {
  kvReads: number;
  kvWrites: number;
  d1Statements: number;
  /** Durable Object stub calls, all bindings together. */
  doCalls: number;
  /** Durable Object stub calls by binding name. */
  doCallsBy: Record<string, number>;
  /** Milliseconds from calls on each binding until their promises settled. */
  awaitedMsBy: Record<string, number>;
  facilitator: number;
  origin: number;
}

/** Where the counts come from. `targetUrl` is undefined for a target without counting. */
export interface CountSources {
  targetUrl: string | undefined;
  facilitator: { count(): number };
  origin: { count(): number };
}

interface BindingCounts {
  kvReads: number;
  kvWrites: number;
  d1Statements: number;
  doCalls: Record<string, number>;
  awaitedMs: Record<string, number>;
}

/** The counts right now. */
export async function snapshot(sources: CountSources): Promise<CallCounts> {
  let bindings: BindingCounts = {
    kvReads: Number.NaN,
    kvWrites: Number.NaN,
    d1Statements: Number.NaN,
    doCalls: {},
    awaitedMs: {},
  };
  let doCalls = Number.NaN;
  if (sources.targetUrl !== undefined) {
    const response = await fetch(new URL(COUNTS_PATH, sources.targetUrl));
    bindings = (await response.json()) as BindingCounts;
    doCalls = Object.values(bindings.doCalls).reduce((a, b) => a + b, 0);
  }
  return {
    kvReads: bindings.kvReads,
    kvWrites: bindings.kvWrites,
    d1Statements: bindings.d1Statements,
    doCalls,
    doCallsBy: bindings.doCalls,
    awaitedMsBy: bindings.awaitedMs,
    facilitator: sources.facilitator.count(),
    origin: sources.origin.count(),
  };
}

/** (after − before) / requests, per kind of call. */
export function perRequest(before: CallCounts, after: CallCounts, requests: number): CallCounts {
  const per = (a: number, b: number): number => (a - b) / requests;
  const by = (a: Record<string, number>, b: Record<string, number>): Record<string, number> => {
    const out: Record<string, number> = {};
    for (const [name, value] of Object.entries(a)) {
      const delta = per(value, b[name] ?? 0);
      if (delta !== 0) out[name] = delta;
    }
    return out;
  };
  return {
    kvReads: per(after.kvReads, before.kvReads),
    kvWrites: per(after.kvWrites, before.kvWrites),
    d1Statements: per(after.d1Statements, before.d1Statements),
    doCalls: per(after.doCalls, before.doCalls),
    doCallsBy: by(after.doCallsBy, before.doCallsBy),
    awaitedMsBy: by(after.awaitedMsBy, before.awaitedMsBy),
    facilitator: per(after.facilitator, before.facilitator),
    origin: per(after.origin, before.origin),
  };
}

/** Adds `b` into `a` (for summing per-request counts). */
export function addCounts(a: CallCounts, b: CallCounts): CallCounts {
  const sum = (x: Record<string, number>, y: Record<string, number>): Record<string, number> => {
    const out = { ...x };
    for (const [name, value] of Object.entries(y)) out[name] = (out[name] ?? 0) + value;
    return out;
  };
  return {
    kvReads: a.kvReads + b.kvReads,
    kvWrites: a.kvWrites + b.kvWrites,
    d1Statements: a.d1Statements + b.d1Statements,
    doCalls: a.doCalls + b.doCalls,
    doCallsBy: sum(a.doCallsBy, b.doCallsBy),
    awaitedMsBy: sum(a.awaitedMsBy, b.awaitedMsBy),
    facilitator: a.facilitator + b.facilitator,
    origin: a.origin + b.origin,
  };
}

/** `counts` divided by `n`. */
export function divideCounts(counts: CallCounts, n: number): CallCounts {
  const zero: CallCounts = { ...counts, doCallsBy: {}, awaitedMsBy: {} };
  for (const key of [
    "kvReads",
    "kvWrites",
    "d1Statements",
    "doCalls",
    "facilitator",
    "origin",
  ] as const) {
    zero[key] = 0;
  }
  return perRequest(zero, counts, n);
}
