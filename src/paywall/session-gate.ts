import type { Offer } from "../pricing";
import { SIWX_HEADER, checkSiwx, readToken, siwxChallenge } from "../sessions";
import { requestExtension } from "./challenge-extensions";
import { errorResponse } from "./responses";
import type { SessionResult, SessionService, SiwxContext, Want } from "../sessions";

/**
 * The session step of a priced request on a session route, before any payment is looked at:
 * a token (header or cookie) or a SIWx proof may let the request in. A refused credential is not
 * an error: the request goes on to the payment step, and the reason is shown in the 402.
 */

/** Sessions as the flow needs them: the store and the secret keying SIWx nonces. */
export interface SessionDeps {
  service: SessionService;
  secret: string;
}

/** The request facts the session step looks at. */
export interface SessionRequest {
  headers: Headers;
  url: URL;
  resourceUrl: string;
  offer: Offer;
  want: Want;
  /** The request's `waitUntil`, for work after the answer (giving back leased uses). */
  defer?: ((work: Promise<unknown>) => void) | undefined;
}

/** Tries the request's session credentials; `refused` carries why (for the 402). */
export async function tryCredentials(
  request: SessionRequest,
  deps: SessionDeps,
): Promise<SessionResult | { type: "none" }> {
  const token = readToken(request.headers, request.want.scope);
  if (token !== undefined) return deps.service.useToken(token, request.want, request.defer);
  const proof = request.headers.get(SIWX_HEADER);
  if (proof === null) return { type: "none" };
  const check = await checkSiwx(proof, siwxContext(request, deps));
  if (!check.ok) return { type: "refused", reason: `sign-in refused: ${check.reason}` };
  const result = await deps.service.signIn(check, request.want);
  if (result.type === "refused")
    return { type: "refused", reason: `sign-in refused: ${result.reason}` };
  return result;
}

/**
 * The `extensions` member of a session route's 402 (challenge-extensions.ts): a fresh
 * sign-in-with-x challenge; "" when the route's network has none.
 */
export async function sessionExtension(
  request: SessionRequest,
  deps: SessionDeps,
): Promise<string> {
  const extension = await siwxChallenge(siwxContext(request, deps));
  return extension ? requestExtension(SIWX_EXTENSION, { ...extension }) : "";
}

/** The `extensions` key of sign-in-with-x (`SIGN_IN_WITH_X` of `@x402/extensions`). */
const SIWX_EXTENSION = "sign-in-with-x";

function siwxContext(request: SessionRequest, deps: SessionDeps): SiwxContext {
  const what = request.offer.description || request.url.pathname;
  return {
    url: request.url,
    resourceUrl: request.resourceUrl,
    network: request.offer.network,
    scope: request.want.scope,
    secret: deps.secret,
    statement: `Sign in to use the access you already paid for: ${what}`,
  };
}

/**
 * The answer when a pass's last uses are leased to another server for a moment: a 503 with
 * `Retry-After`, never a 402 that a paying client would answer with a second payment.
 */
export function retryLater(reason: string, seconds: number): Response {
  const response = errorResponse("session_store_unavailable", reason);
  response.headers.set("Retry-After", String(seconds));
  return response;
}
