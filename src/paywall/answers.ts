/**
 * Which of the origin's answers a payment is charged for. Only an answer that delivers the
 * content is settled, and that is a 2xx:
 * - 200–203: the content.
 * - 204 No Content and 205 Reset Content: the origin carried out the paid request (an API's
 *   POST, PUT or DELETE answers so when done); what was bought is the operation, and it ran.
 * - 206 Partial Content: the range of the content the client asked for went out; each paid
 *   range is charged, or a priced file could be read for free a range at a time.
 * A 3xx (a redirect, a 304 Not Modified) delivers none of it: it goes to the client without its
 * body and unsettled, the claim is let go and the same authorization stays unspent (a client
 * that follows the redirect meets its own 402). A 4xx or 5xx is passed on unsettled as well. A
 * 1xx (a protocol upgrade) can be neither charged nor handed out free: refused, not charged.
 */

/** How the paid path treats an origin answer of a given status. */
export type AnswerKind =
  /** 2xx: delivers the content; settled before it goes out. */
  | "content"
  /** 3xx: delivers no content; passed on without a body, not settled. */
  | "no-content"
  /** 4xx, 5xx: the origin failed the request; passed on, not settled. */
  | "error"
  /** Anything else (1xx): not passed on, not settled. */
  | "unsupported";

/** Classifies an origin status for the paid path (see the module's comment). */
export function answerKind(status: number): AnswerKind {
  if (status >= 200 && status < 300) return "content";
  if (status >= 300 && status < 400) return "no-content";
  if (status >= 400) return "error";
  return "unsupported";
}

/**
 * A 3xx as the client gets it on a priced route: status and headers, no body (a redirect's body
 * is a courtesy page; whatever an origin put there is not handed out unpaid). Cancels the
 * origin's body.
 */
export async function withoutContent(origin: Response): Promise<Response> {
  await origin.body?.cancel().catch(() => undefined);
  const headers = new Headers(origin.headers);
  headers.delete("Content-Length");
  return new Response(null, { status: origin.status, statusText: origin.statusText, headers });
}

/**
 * The longest paid answer (by its `Content-Length`) read whole before it is settled. Reading it
 * first means a body that breaks is never charged; a longer answer, or one of unknown length
 * (chunked), streams out after the settlement, and a break in it is charged: the payer's
 * remedy is a retry with the same `payment-identifier` (src/paywall/replay.ts).
 */
export const HOLD_LIMIT = 1 << 20;

/** An answer read (at least in part) before it goes out. */
export type HeldBody =
  /**
   * `response` carries the answer unsent; `whole` is its body when all of it was read within
   * the limit (then `response` replays it from memory), else the rest streams on.
   */
  | { type: "held"; response: Response; whole: Uint8Array | undefined }
  /** The origin's body broke (or came short) before it was read: none of it went out. */
  | { type: "broken"; reason: string };

/**
 * Reads `origin`'s body into memory up to `limit` bytes and returns the answer unsent: whole,
 * or its first part followed by the rest as it streams. A read that fails is `broken`.
 */
export async function holdBody(origin: Response, limit: number): Promise<HeldBody> {
  const init = { status: origin.status, statusText: origin.statusText, headers: origin.headers };
  if (!origin.body) return { type: "held", response: new Response(null, init), whole: undefined };
  const reader = origin.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size <= limit) {
      const chunk = await reader.read();
      if (chunk.done) {
        const bytes = new Uint8Array(size);
        let at = 0;
        for (const part of chunks) {
          bytes.set(part, at);
          at += part.byteLength;
        }
        return { type: "held", response: new Response(bytes, init), whole: bytes };
      }
      chunks.push(chunk.value);
      size += chunk.value.byteLength;
    }
  } catch (error) {
    return { type: "broken", reason: `the origin's answer broke off: ${String(error)}` };
  }
  const rest = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const part of chunks) controller.enqueue(part);
    },
    async pull(controller) {
      const chunk = await reader.read();
      if (chunk.done) controller.close();
      else controller.enqueue(chunk.value);
    },
    cancel: (reason) => reader.cancel(reason),
  });
  return { type: "held", response: new Response(rest, init), whole: undefined };
}

/**
 * A paid answer made ready to settle: one whose `Content-Length` is at most `HOLD_LIMIT` is read
 * whole first (`broken` when its body breaks or, sent without a content coding, comes short of
 * that length); any other goes on as it is, streamed after the settlement.
 */
export async function holdPaidAnswer(origin: Response): Promise<HeldBody> {
  const declared = origin.headers.get("Content-Length");
  if (declared === null || !/^\d{1,16}$/.test(declared) || Number(declared) > HOLD_LIMIT) {
    return { type: "held", response: origin, whole: undefined };
  }
  const held = await holdBody(origin, HOLD_LIMIT);
  if (held.type === "broken" || !held.whole) return held;
  // A decoded body (gzip, br) has another length than the one declared for the coded bytes.
  const coding = (origin.headers.get("Content-Encoding") ?? "identity").trim().toLowerCase();
  if (coding === "identity" && held.whole.byteLength !== Number(declared)) {
    return {
      type: "broken",
      reason: `the origin's answer ended after ${held.whole.byteLength} of its ${declared} bytes`,
    };
  }
  return held;
}
