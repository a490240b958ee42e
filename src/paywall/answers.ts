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
