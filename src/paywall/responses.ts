import type { SettleResponse } from "@x402/core/types";
import { keepPrivate } from "./cache-control";
import { EXPOSED_HEADERS } from "./challenge-response";
import { encodeReceipt, receiptHeaderName } from "../x402";
import { tagOutcome } from "../funnel/tags";
import {
  SESSION_EXPIRES_HEADER,
  SESSION_HEADER,
  SESSION_REMAINING_HEADER,
  sessionCookie,
} from "../sessions";
import type { Admitted } from "../sessions";

/**
 * The paywall's own answers (every one a value, none thrown): JSON errors with a stable code and
 * a reason, and the paid response that streams the origin's body with the receipt attached.
 */

/** Error codes the paywall answers with, and their HTTP statuses. */
export const ERRORS = {
  bad_path: 400,
  invalid_payment: 400,
  bad_amount: 400,
  credit_not_sold: 404,
  credit_store_unavailable: 503,
  reserved_path: 404,
  unknown_payee: 404,
  unpriceable_request: 400,
  invalid_origin_quote: 502,
  /** A metered route's origin did not report a usable usage. */
  invalid_usage_report: 502,
  payment_in_progress: 409,
  /** Nobody receives it: the client went away (nginx's "client closed request"). */
  client_gone: 499,
  payment_conflict: 409,
  payment_already_settled: 409,
  payment_pending: 503,
  payment_lock_unavailable: 503,
  origin_unreachable: 502,
  facilitator_unavailable: 503,
  price_table_unavailable: 503,
  session_store_unavailable: 503,
  misconfigured: 503,
  internal_error: 500,
} as const;

/** A stable error code of the paywall. */
export type ErrorCode = keyof typeof ERRORS;

/** A JSON error `{error, message}`; `status` overrides the code's default status. */
export function errorResponse(code: ErrorCode, message: string, status?: number): Response {
  const response = new Response(JSON.stringify({ error: code, message }), {
    status: status ?? ERRORS[code],
    headers: { "Content-Type": "application/json", "Cache-Control": "no-store" },
  });
  // The code, for the operator's funnel (src/funnel/tags.ts): nothing is added to the answer.
  return tagOutcome(response, { type: "error", code });
}

/** All a public client learns of a misconfigured paywall: the details may name credentials. */
export const MISCONFIGURED_MESSAGE =
  "the paywall is misconfigured; its operator can see why in the admin health check";

/**
 * The `503 misconfigured` answer to a public client: the reason is logged for the operator (who
 * also sees it, redacted, in the admin API), never sent, since it may repeat configuration
 * values such as the origin's URL.
 */
export function misconfiguredResponse(reason: string): Response {
  console.error(reason);
  return errorResponse("misconfigured", MISCONFIGURED_MESSAGE);
}

/**
 * The origin's response with the settlement receipt (`PAYMENT-RESPONSE`, and `X-PAYMENT-RESPONSE`
 * for V1 clients). The body is passed through as a stream, never buffered. Paid content is kept
 * out of shared caches, whatever the origin's caching headers say (cache-control.ts).
 */
export function paidResponse(
  origin: Response,
  receipt: SettleResponse,
  x402Version: number,
): Response {
  const headers = new Headers(origin.headers);
  const encoded = encodeReceipt(receipt);
  headers.set(receiptHeaderName(x402Version), encoded);
  keepPrivate(headers);
  headers.set("Access-Control-Expose-Headers", EXPOSED_HEADERS);
  return new Response(origin.body, {
    status: origin.status,
    statusText: origin.statusText,
    headers,
  });
}

/** A cookie without a time limit lasts as long as browsers allow (400 days). */
const MAX_COOKIE_SECONDS = 400 * 86_400;

/**
 * An origin response served under a session: its terms in `PAYMENT-SESSION-EXPIRES` and
 * `-REMAINING`, plus the new token (header and cookie) when one was just issued. Kept out of
 * shared caches (cache-control.ts).
 */
export function sessionResponse(origin: Response, admitted: Admitted, scope: string): Response {
  const headers = new Headers(origin.headers);
  if (admitted.expiresAt !== null) {
    headers.set(SESSION_EXPIRES_HEADER, new Date(admitted.expiresAt).toISOString());
  }
  if (admitted.remaining !== null) {
    headers.set(SESSION_REMAINING_HEADER, String(admitted.remaining));
  }
  if (admitted.token !== undefined) {
    headers.set(SESSION_HEADER, admitted.token);
    const maxAge =
      admitted.expiresAt === null ? MAX_COOKIE_SECONDS : (admitted.expiresAt - Date.now()) / 1000;
    headers.append("Set-Cookie", sessionCookie(scope, admitted.token, maxAge));
  }
  keepPrivate(headers);
  headers.set("Access-Control-Expose-Headers", EXPOSED_HEADERS);
  return new Response(origin.body, {
    status: origin.status,
    statusText: origin.statusText,
    headers,
  });
}
