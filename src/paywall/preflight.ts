import { forwardToOrigin } from "../proxy";
import type { OriginOptions } from "../proxy";
import { SESSION_HEADER, SIWX_HEADER } from "../sessions";
import { PAYMENT_SIGNATURE, X_PAYMENT } from "../x402";
import { errorResponse } from "./responses";

/**
 * CORS preflights are never priced. A browser sends one (Fetch standard §4.8, "CORS-preflight
 * fetch": `OPTIONS` with `Origin` and `Access-Control-Request-Method`, no credentials, no body)
 * before a cross-origin call that carries a payment header; a 402 to it stops the call before it
 * can pay. So on every rule the preflight goes to the origin, which answers CORS, and nothing is
 * charged or spent.
 *
 * It can carry no paid request's effect: the origin gets an `OPTIONS` without a body and without
 * payment or session credentials (src/proxy strips them), and the client gets the origin's status
 * and headers without a body, which is all a browser reads of a preflight's answer.
 *
 * A plain `OPTIONS` (no `Access-Control-Request-Method`) is an ordinary request and is priced like
 * any other method on a rule without `methods`: some frameworks answer it with content (a
 * self-describing API's metadata), which an operator may have priced.
 */

/** Request headers the paywall reads from clients, which a browser must be allowed to send. */
const PAYWALL_REQUEST_HEADERS = [PAYMENT_SIGNATURE, X_PAYMENT, SIWX_HEADER, SESSION_HEADER].map(
  (name) => name.toLowerCase(),
);

/** Whether the request is a CORS preflight (and so never priced). */
export function isPreflight(request: Request): boolean {
  return (
    request.method === "OPTIONS" &&
    request.headers.has("Origin") &&
    request.headers.has("Access-Control-Request-Method")
  );
}

/**
 * Forwards a preflight to the origin without a body and answers with the origin's status and
 * headers only. When the origin allowed the caller (`Access-Control-Allow-Origin`), the paywall's
 * own request headers the browser asked to send are added to `Access-Control-Allow-Headers`: the
 * origin does not know them, and the payment could not be sent without them.
 */
export async function forwardPreflight(
  request: Request,
  forwardPath: string,
  origin: OriginOptions,
): Promise<Response> {
  const forwarded = await forwardToOrigin({ request, forwardPath, withoutBody: true }, origin);
  if (forwarded.type === "unreachable") {
    return errorResponse("origin_unreachable", forwarded.reason);
  }
  const answer = forwarded.response;
  await answer.body?.cancel();
  const headers = new Headers(answer.headers);
  headers.delete("Content-Length");
  if (headers.has("Access-Control-Allow-Origin")) allowPaywallHeaders(request, headers);
  return new Response(null, { status: answer.status, statusText: answer.statusText, headers });
}

function allowPaywallHeaders(request: Request, headers: Headers): void {
  const asked = (request.headers.get("Access-Control-Request-Headers") ?? "")
    .split(",")
    .map((name) => name.trim().toLowerCase());
  const allowed = headers.get("Access-Control-Allow-Headers");
  // A "*" there is no wildcard for credentialed calls (Fetch §3.2.5): the names are added anyway.
  const already = new Set((allowed ?? "").split(",").map((name) => name.trim().toLowerCase()));
  const missing = PAYWALL_REQUEST_HEADERS.filter(
    (name) => asked.includes(name) && !already.has(name),
  );
  if (missing.length === 0) return;
  headers.set("Access-Control-Allow-Headers", [allowed, ...missing].filter(Boolean).join(", "));
}
