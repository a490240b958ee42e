import { BAZAAR, bazaarExtension } from "../discovery";
import { PAYMENT_IDENTIFIER, paymentIdentifierDeclaration } from "../idempotency";
import { challengeResponse, prefersHtml } from "./challenge-response";
import type { Offer } from "../pricing";
import { signedOffer } from "./origin-quote";
import type { QuotedRequest } from "./origin-quote";
import { sessionExtensions } from "./session-gate";
import type { SessionDeps, SessionRequest } from "./session-gate";

/**
 * The 402 of a priced route (x402 v2 §5.1, `PAYMENT-REQUIRED`): the offer with its extensions
 * (`payment-identifier`, `bazaar` discovery, and on a session route a fresh sign-in-with-x
 * challenge), terms the origin states signed for this request (origin-quote.ts), as HTML for a
 * browser. Built from plain facts the decide step gathered, so any step's refusal is answered
 * the same way.
 */

/** What a route's 402 is built from. */
export interface ChallengeTerms {
  request: Request;
  resourceUrl: string;
  /** The terms to pay, after the origin's quote and the facilitator's `extra`. */
  offer: Offer;
  /** Set when the origin states the terms and they are signed into every 402. */
  quote?: { request: QuotedRequest; secret: string } | undefined;
  /** On a session route: the request's session facts and the session store. */
  session?: { request: SessionRequest; deps: SessionDeps } | undefined;
}

/** Why the 402 is sent, and with what besides the route's terms. */
export interface ChallengeReason {
  error?: string | undefined;
  headers?: Record<string, string> | undefined;
  /** Other terms than the route's (the origin's terms now). */
  terms?: Offer | undefined;
}

/** Builds the route's 402 (see above). */
export async function challenge(
  terms: ChallengeTerms,
  reason: ChallengeReason = {},
): Promise<Response> {
  const { request, resourceUrl, quote, session } = terms;
  const base = reason.terms ?? terms.offer;
  const offer = quote ? await signedOffer(base, quote.request, quote.secret) : base;
  const extensions: Record<string, unknown> = {
    [PAYMENT_IDENTIFIER]: paymentIdentifierDeclaration(offer.paymentIdRequired === true),
    ...bazaarFor(offer, request.method),
    ...(session ? await sessionExtensions(session.request, session.deps) : {}),
  };
  const html = prefersHtml(request.headers.get("Accept"));
  const { error, headers } = reason;
  return challengeResponse({ offer, resourceUrl, error, html, headers, extensions });
}

/** The `bazaar` discovery extension for this request's method, when there is one. */
function bazaarFor(offer: Offer, method: string): Record<string, unknown> {
  const extension = bazaarExtension(offer, method);
  return extension ? { [BAZAAR]: extension } : {};
}
