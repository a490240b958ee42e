/**
 * One-request-at-a-time measurements: latency of plain requests, and a full paid request with
 * the official client split into the time spent past the facilitator and the origin (timing
 * pass-through and bench origin spans) and the Worker's own time, paired per request.
 */
import { PAYER } from "../dev/chain.ts";
import { payingFetchV2 } from "../dev/clients.ts";
import type { Span } from "./passthrough.ts";

/** Something that records spans of the requests it served. */
export interface SpanSource {
  spansWithin(from: number, to: number): Span[];
}

/** Milliseconds from sending until the whole body has arrived, for `n` requests in a row. */
export async function sequentialMs(
  n: number,
  send: () => Promise<Response>,
  expect: number,
): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const start = performance.now();
    const response = await send();
    await response.arrayBuffer();
    times.push(performance.now() - start);
    if (response.status !== expect) {
      throw new Error(`bench: expected ${expect}, got ${response.status} from ${response.url}`);
    }
  }
  return times;
}

/** One request's time split: total, past the facilitator, past the origin, and the rest (own). */
export interface SplitTiming {
  totalMs: number;
  facilitatorMs: number;
  originMs: number;
  ownMs: number;
  /** Facilitator calls made during the request. */
  facilitatorCalls: number;
}

function split(start: number, end: number, facilitator: SpanSource, origin: SpanSource) {
  const sum = (spans: Span[]): number => spans.reduce((t, s) => t + (s.end - s.start), 0);
  const fac = facilitator.spansWithin(start, end);
  const facilitatorMs = sum(fac);
  const originMs = sum(origin.spansWithin(start, end));
  const totalMs = end - start;
  return {
    totalMs,
    facilitatorMs,
    originMs,
    ownMs: totalMs - facilitatorMs - originMs,
    facilitatorCalls: fac.length,
  };
}

/** A plain GET whose time is split like a paid one (for the baseline's own time on a route). */
export async function splitGet(
  url: string,
  facilitator: SpanSource,
  origin: SpanSource,
  expect = 200,
): Promise<SplitTiming> {
  const start = performance.now();
  const response = await fetch(url);
  await response.arrayBuffer();
  const end = performance.now();
  if (response.status !== expect) throw new Error(`bench: ${url} answered ${response.status}`);
  await settleSpans();
  return split(start, end, facilitator, origin);
}

/** A paid request with the official client: the whole cycle, and the paid retry split. */
export interface PaidTiming extends SplitTiming {
  /** From the first request (answered 402) until the paid answer's body arrived. */
  cycleMs: number;
}

/**
 * Pays for `url` with `@x402/fetch` (the payer's dev key); the base fetch it is given records when
 * the request carrying the payment was sent and when its body had fully arrived. `around` is
 * called just before and after that request (for counting).
 */
export async function paidRequest(
  url: string,
  facilitator: SpanSource,
  origin: SpanSource,
  around?: { before(): Promise<void>; after(): Promise<void> },
): Promise<PaidTiming & { response: Response }> {
  let paid: { start: number; end: number } | undefined;
  const timedFetch = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const request = new Request(input, init);
    const paying = request.headers.has("PAYMENT-SIGNATURE") || request.headers.has("X-PAYMENT");
    if (paying) await around?.before();
    const start = performance.now();
    const response = await fetch(request);
    const body = await response.arrayBuffer();
    const end = performance.now();
    if (paying) {
      paid = { start, end };
      await around?.after();
    }
    return new Response(body, { status: response.status, headers: response.headers });
  };
  const client = payingFetchV2(PAYER.privateKey, timedFetch as typeof fetch);
  const cycleStart = performance.now();
  const response = await client(url);
  const cycleMs = performance.now() - cycleStart;
  if (response.status !== 200 || !paid) {
    throw new Error(`bench: paying ${url} failed (${response.status}): ${await response.text()}`);
  }
  await settleSpans();
  return { ...split(paid.start, paid.end, facilitator, origin), cycleMs, response };
}

/** Lets the pass-throughs' `finish` events of a just-answered request run. */
function settleSpans(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
