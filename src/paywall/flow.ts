import type { TableState } from "../kv";
import { decodePayment, preparePayment } from "../payments";
import type { Facilitator } from "../payments";
import { challengeResponse, normalisePath, prefersHtml } from "../pricing";
import type { Offer } from "../pricing";
import { forwardToOrigin } from "../proxy";
import type { OriginOptions } from "../proxy";
import { errorResponse, paidResponse, settlementHeader } from "./responses";

/**
 * The request path, top to bottom: normalise → match → free: forward | priced: challenge or
 * verify → forward → settle → respond.
 *
 * Money rules it keeps: nothing reaches the origin on a priced route without a verified
 * payment; settlement happens only after the origin answered below 400 and before any of its
 * body is sent, so an origin error costs nothing and a failed settlement delivers nothing; a
 * facilitator that cannot be reached is a 502/503, never a free pass.
 */

/** Everything the flow needs, injected so tests can swap each part. */
export interface PaywallDeps {
  tables: { current(): Promise<TableState> };
  facilitator: Facilitator;
  origin: OriginOptions;
}

/** Paths under this prefix belong to the paywall itself and are never proxied. */
export const RESERVED_PREFIX = "/__x402";

/** Handles one request in front of the origin. */
export async function handleRequest(request: Request, deps: PaywallDeps): Promise<Response> {
  const url = new URL(request.url);
  const path = normalisePath(url.pathname);
  if (!path.ok) return errorResponse("bad_path", path.reason);
  if (isReserved(path.matchPath)) {
    return errorResponse("reserved_path", `${RESERVED_PREFIX}/ is reserved for the paywall`);
  }

  const state = await deps.tables.current();
  if (!state.ok) return errorResponse("price_table_unavailable", state.reason);
  const match = state.table.match({
    method: request.method,
    host: url.hostname,
    path: path.matchPath,
  });

  if (match.kind === "free") {
    const result = await forwardToOrigin({ request, forwardPath: path.forwardPath }, deps.origin);
    if (result.type === "unreachable") return errorResponse("origin_unreachable", result.reason);
    return result.response;
  }
  const resourceUrl = `${url.origin}${path.forwardPath}${url.search}`;
  return paidFlow(request, path.forwardPath, resourceUrl, match.offer, deps);
}

async function paidFlow(
  request: Request,
  forwardPath: string,
  resourceUrl: string,
  offer: Offer,
  deps: PaywallDeps,
): Promise<Response> {
  const html = prefersHtml(request.headers.get("Accept"));
  const challenge = (error?: string, headers?: Record<string, string>) =>
    challengeResponse({ offer, resourceUrl, error, html, headers });

  const payment = decodePayment(request.headers);
  if (payment.type === "none") return challenge();
  if (payment.type === "invalid") return errorResponse("invalid_payment", payment.reason);

  const prepared = preparePayment(payment, offer, resourceUrl);
  if (prepared.type === "refused") return challenge(prepared.reason);

  const verified = await deps.facilitator.verify(prepared.request);
  if (verified.type === "unavailable") {
    return errorResponse("facilitator_unavailable", verified.reason, verified.status);
  }
  if (!verified.body.isValid) {
    return challenge(verified.body.invalidReason ?? "the payment is not valid");
  }

  const payer = verified.body.payer ?? prepared.from;
  const forwarded = await forwardToOrigin({ request, forwardPath, payer }, deps.origin);
  if (forwarded.type === "unreachable") {
    return errorResponse("origin_unreachable", `${forwarded.reason}; you were not charged`);
  }
  const origin = forwarded.response;
  if (origin.status >= 400) return origin;

  const settled = await deps.facilitator.settle(prepared.request);
  if (settled.type === "unavailable") {
    await origin.body?.cancel();
    return errorResponse(
      "facilitator_unavailable",
      `the settlement did not complete (${settled.reason}); the content was withheld`,
      settled.status,
    );
  }
  if (!settled.body.success) {
    await origin.body?.cancel();
    const reason = settled.body.errorReason ?? "the settlement failed";
    return challenge(reason, settlementHeader(settled.body));
  }
  return paidResponse(origin, settled.body, prepared.x402Version);
}

function isReserved(matchPath: string): boolean {
  const lower = matchPath.toLowerCase();
  return lower === RESERVED_PREFIX || lower.startsWith(`${RESERVED_PREFIX}/`);
}
