import { routeExtensions } from "./challenge-extensions";
import { challengeResponse, prefersHtml } from "./challenge-response";
import type { Offer } from "../pricing";
import { signedOffer } from "./origin-quote";
import type { QuotedRequest } from "./origin-quote";
import { sessionExtension } from "./session-gate";
import type { SessionDeps, SessionRequest } from "./session-gate";

/**
 * The 402 of a priced route (x402 v2 §5.1, `PAYMENT-REQUIRED`): the offer with its extensions
 * (`payment-identifier`, `bazaar` discovery, and on a session route a fresh sign-in-with-x
 * challenge), terms the origin states signed for this request (origin-quote.ts), as HTML for a
 * browser. Built from plain facts the decide step gathered, so any step's refusal is answered
 * the same way. What does not depend on the request (the offer's texts, the route's extensions)
 * is built once per compiled offer; per request only the URL, the refusal, a sign-in challenge
 * and a quoted or dynamic price are added.
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
  const routeWide = routeExtensions(offer, request.method);
  const signIn = session ? await sessionExtension(session.request, session.deps) : "";
  const extensions = routeWide && signIn ? `${routeWide},${signIn}` : routeWide || signIn;
  const html = prefersHtml(request.headers.get("Accept"));
  const { error, headers } = reason;
  return challengeResponse({ offer, resourceUrl, error, html, headers, extensions });
}
