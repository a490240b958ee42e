import { HELD_TICK_MS, SLOW_MS } from "./origin.ts";
import type { Harness } from "./sequence.ts";

/**
 * What the harness's runtime passes on to the Worker of a client that goes away, found out once
 * before a run by asking it (a free path, forwarded to the scripted origin as a paid one is, with
 * the client's `request.signal`). The model counts what follows from a fact the runtime cannot
 * deliver apart from the violations ("not observable here", invariants.ts), and only then.
 *
 * Measured here (workerd 1.20261023, Miniflare 5 and `wrangler dev` 4.155 alike, and a bare
 * `workerd serve` too, compatibility flag `enable_request_signal` on): a client that closes its
 * connection while the Worker waits for the origin is never noticed; `request.signal` does not
 * fire, the origin request is not cancelled, and the Worker goes on to settle and answer into
 * the closed connection. A client that leaves a stream is noticed at the runtime's next write to
 * it: then the stream is cancelled and `request.signal` fires. On Cloudflare the edge passes the
 * disconnect on, and the paywall (src/paywall/attempt.ts) is tested against the signal itself
 * in the workers suite.
 */

/** What the runtime tells the Worker when a client goes away. */
export interface Observable {
  /** A disconnect while the Worker waits for the origin reaches `request.signal`. */
  disconnectBeforeAnswer: boolean;
  /** A client that left a stream is noticed (the stream cancelled) within a few writes. */
  disconnectMidStream: boolean;
}

/** Asks the harness's runtime what it passes on when a client goes away (about 2 s). */
export async function probeObservable(harness: Harness): Promise<Observable> {
  const id = `probe-${Date.now().toString(36)}`;
  // The client goes away while the origin takes SLOW_MS to answer.
  const waiting = `/free/slow/${id}-wait`;
  const early = new AbortController();
  const timer = setTimeout(() => early.abort(), SLOW_MS / 4);
  await fetch(`${harness.workerUrl}${waiting}`, { signal: early.signal })
    .then((r) => r.body?.cancel())
    .catch(() => {});
  clearTimeout(timer);
  // The client reads the first event of a held stream and goes away.
  const stream = `/free/ssehold/${id}-stream`;
  const late = new AbortController();
  try {
    const response = await fetch(`${harness.workerUrl}${stream}`, { signal: late.signal });
    const reader = response.body?.getReader();
    await Promise.race([reader?.read(), new Promise((r) => setTimeout(r, 3000))]);
    late.abort();
    await reader?.cancel().catch(() => {});
  } catch {
    late.abort();
  }
  await new Promise((r) => setTimeout(r, SLOW_MS + 4 * HELD_TICK_MS));
  return {
    disconnectBeforeAnswer: harness.origin.leftEarly.has(waiting),
    disconnectMidStream: harness.origin.leftEarly.has(stream),
  };
}

/** Why a fact is not observable, for the run's report. */
export const NOT_OBSERVABLE: Record<keyof Observable, string> = {
  disconnectBeforeAnswer:
    "this runtime does not pass a client's disconnect on to request.signal while the Worker " +
    "waits for the origin (probed), so the paywall cannot know the client left and settles",
  disconnectMidStream:
    "this runtime does not notice that a client left a stream (probed), so the stream is " +
    "neither cut nor settled while the origin holds it",
};
