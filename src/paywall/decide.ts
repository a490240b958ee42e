import { preparePayment, withFacilitatorExtra } from "../payments";
import { decodePayment } from "../x402";
import type { Facilitator } from "../payments";
import { dynamicAmount } from "../pricing";
import type { Match, Offer } from "../pricing";
import type { OriginOptions } from "../proxy";
import { wantFor } from "../sessions";
import type { Admitted } from "../sessions";
import { challenge } from "./challenge";
import type { ChallengeTerms } from "./challenge";
import type { CrawlerTag } from "./crawler-gate";
import { fromOrigin, originTerms } from "./origin-quote";
import type { PaidRequest } from "./paid-request";
import type { PaidFacts } from "./record-settlement";
import { errorResponse, misconfiguredResponse } from "./responses";
import { retryLater, tryCredentials } from "./session-gate";
import type { SessionDeps, SessionRequest } from "./session-gate";

/**
 * The decide step of the request path, after match and identify: what a request on a matched
 * rule needs next, as a value (the x402 SDK's `HTTPProcessResult` has the same shape). Free
 * rules go to the origin; on a priced rule a session credential may let it in (session-gate.ts),
 * else it is answered here (a 402, a malformed payment, terms the origin refused) or it carries
 * a payment ready for the paid step (pay-once.ts). Nothing here forwards a paid request or
 * moves money: a priced request leaves only as `respond`, `session` or `pay`.
 */

/** A request on a matched rule, as the decide step sees it. */
export interface MatchedRequest {
  request: Request;
  url: URL;
  forwardPath: string;
  matchPath: string;
  resourceUrl: string;
  match: Exclude<Match, { kind: "unknown-payee" }>;
  /** The charged crawler's identity (pay-per-crawl), for the receipt. */
  crawler?: CrawlerTag | undefined;
  defer?: ((work: Promise<unknown>) => void) | undefined;
}

/** What the decide step needs. */
export interface DecideDeps {
  facilitator: Facilitator;
  origin: OriginOptions;
  sessions?: SessionDeps | undefined;
  /** The key signing origin-quoted terms in 402s (origin-quote.ts). */
  quoteSecret?: string | undefined;
}

/** What the flow does next with a matched request. */
export type Decision =
  /** A free rule (or a crawler let in free): forward to the origin. */
  | { type: "free" }
  /** The answer is ready: a 402, or a refusal with a reason. */
  | { type: "respond"; response: Response }
  /** A session credential let it in: serve it under the pass (serve-session.ts). */
  | { type: "session"; admitted: Admitted; scope: string }
  /**
   * A payment ready for the paid step; `terms` build the 402 of a refusal (challenge.ts) and
   * `facts` go to the record step once it settled (record-settlement.ts).
   */
  | { type: "pay"; paid: PaidRequest; terms: ChallengeTerms; facts: PaidFacts };

/** Decides what a matched request needs next (see above). */
export async function decide(input: MatchedRequest, deps: DecideDeps): Promise<Decision> {
  if (input.match.kind === "free") return { type: "free" };
  const { request, forwardPath, resourceUrl, match } = input;
  const priced = offerFor(match.offer, input.url, request.headers);
  if (priced.type === "unpriceable") {
    return respond(errorResponse("unpriceable_request", priced.reason));
  }
  let offer = priced.offer;
  let session: ChallengeTerms["session"];
  let refusal: string | undefined;
  if (offer.session) {
    if (!deps.sessions) {
      return respond(
        misconfiguredResponse(
          `${match.rule} sells sessions, but the SESSIONS binding or SESSION_SECRET is not configured`,
        ),
      );
    }
    const want = wantFor(offer, offer.session, input.url.hostname, input.matchPath);
    const asked: SessionRequest = {
      headers: request.headers,
      url: input.url,
      resourceUrl,
      offer,
      want,
      defer: input.defer,
    };
    session = { request: asked, deps: deps.sessions };
    // A HEAD delivers no content: it spends no use of a pass and gets the route's 402.
    const result =
      request.method === "HEAD"
        ? ({ type: "none" } as const)
        : await tryCredentials(asked, deps.sessions);
    if (result.type === "admitted") return { type: "session", admitted: result, scope: want.scope };
    if (result.type === "retry") return respond(retryLater(result.reason, result.retryAfter));
    if (result.type === "unavailable") {
      const why = `${result.reason}; nothing was charged`;
      return respond(errorResponse("session_store_unavailable", why));
    }
    if (result.type === "refused") refusal = result.reason;
  }

  const payment = decodePayment(request.headers);
  const originSays = fromOrigin(offer);
  // Terms the origin states are bound before it sees a paid request (signed in every 402).
  const quoted = { request, forwardPath, resourceUrl, rule: match.rule };
  const secret = deps.quoteSecret;
  let unquoted: string | undefined;
  if (originSays) {
    const bound = await originTerms(offer, payment, quoted, deps.origin, secret);
    if (bound.type === "respond") return bound;
    offer = bound.offer;
    unquoted = bound.refused;
  }

  const completed = await withFacilitatorExtra(offer, deps.facilitator);
  if (!completed.ok) {
    const why = `${completed.reason}; nothing was charged`;
    return respond(errorResponse("facilitator_unavailable", why, 503));
  }
  offer = completed.offer;
  const quote = originSays && secret ? { request: quoted, secret } : undefined;
  const terms: ChallengeTerms = { request, resourceUrl, offer, quote, session };

  if (payment.type === "none") return respond(await challenge(terms, { error: refusal }));
  if (payment.type === "invalid") {
    return respond(errorResponse("invalid_payment", payment.reason));
  }
  // Refused before the origin runs: nothing was verified, forwarded or charged.
  if (unquoted !== undefined) return respond(await challenge(terms, { error: unquoted }));

  const prepared = preparePayment(payment, offer, resourceUrl);
  if (prepared.type === "refused") {
    return respond(await challenge(terms, { error: prepared.reason }));
  }
  const paid: PaidRequest = { request, forwardPath, resourceUrl, offer, prepared };
  const pass = offer.session &&
    session && { scope: session.request.want.scope, session: offer.session };
  const facts: PaidFacts = {
    url: input.url,
    forwardPath,
    rule: match.rule,
    prepared,
    crawler: input.crawler,
    pass: pass || undefined,
  };
  return { type: "pay", paid, terms, facts };
}

function respond(response: Response): Extract<Decision, { type: "respond" }> {
  return { type: "respond", response };
}

/** The offer for this request: the rule's, or with its `dynamicPrice` worked out. */
function offerFor(
  offer: Offer,
  url: URL,
  headers: Headers,
): { type: "priced"; offer: Offer } | { type: "unpriceable"; reason: string } {
  if (!offer.dynamic) return { type: "priced", offer };
  const price = dynamicAmount(offer.dynamic, { url, headers });
  if (!price.ok) return { type: "unpriceable", reason: price.reason };
  return { type: "priced", offer: { ...offer, amount: price.amount, display: price.display } };
}
