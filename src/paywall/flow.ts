import type { ChainProver } from "../chain";
import type { TableState } from "../kv";
import { decodePayment, preparePayment, withFacilitatorExtra } from "../payments";
import type { Facilitator } from "../payments";
import {
  canonicalUrl,
  challengeResponse,
  dynamicAmount,
  normalisePath,
  prefersHtml,
} from "../pricing";
import type { Match, Offer } from "../pricing";
import { forwardToOrigin } from "../proxy";
import type { OriginOptions } from "../proxy";
import { wantFor } from "../sessions";
import type { Admitted, SessionResult } from "../sessions";
import { crawlerGate } from "./crawler-gate";
import type { CrawlerTag } from "./crawler-gate";
import { ruleKey, tagOutcome } from "../funnel";
import type { FunnelRecorder } from "../funnel";
import { forwardPreflight, isPreflight } from "./preflight";
import type { CrawlerDeps } from "./crawler-gate";
import { BAZAAR, bazaarExtension } from "../discovery";
import { PAYMENT_IDENTIFIER, paymentIdentifierDeclaration } from "../idempotency";
import type { PaymentLockService } from "../idempotency";
import { checkOriginAnswer, fromOrigin, originTerms, signedOffer } from "./origin-quote";
import { answerKind, withoutContent } from "./answers";
import { payOnce } from "./pay-once";
import { recordPayment } from "../ledger";
import type { ReceiptsLedger } from "../ledger";
import { errorResponse, misconfiguredResponse, sessionResponse } from "./responses";
import { retryLater, sessionExtensions, tryCredentials } from "./session-gate";
import type { SessionDeps, SessionRequest } from "./session-gate";

/**
 * The request path, top to bottom: normalise → CORS preflights (free) → match → identify (crawlers, crawler-gate.ts) →
 * free: forward | priced: challenge or verify → forward → settle → respond.
 *
 * Money rules it keeps: nothing reaches the origin on a priced route without a verified
 * payment; settlement happens only after the origin answered below 400 and before any of its
 * body is sent, so an origin error costs nothing and a failed settlement delivers nothing; a
 * facilitator that cannot be reached is a 502/503, never a free pass. On session routes a valid
 * session token or SIWx proof replaces the payment; a use it spends on a request the origin
 * fails to answer is given back.
 */

/** Everything the flow needs, injected so tests can swap each part. */
export interface PaywallDeps {
  tables: { current(): Promise<TableState> };
  facilitator: Facilitator;
  origin: OriginOptions;
  /** Absent when `SESSIONS` or `SESSION_SECRET` is not configured. */
  sessions?: SessionDeps | undefined;
  /** The at-most-once lock on payments (`PAYMENTS`); absent without the binding. */
  payments?: PaymentLockService | undefined;
  /** Web Bot Auth verification and prepaid crawl credit (pay-per-crawl). */
  crawlers?: CrawlerDeps | undefined;
  /** The receipts ledger (`LEDGER`, D1); absent without the binding. */
  ledger?: ReceiptsLedger | undefined;
  /**
   * The key signing origin-quoted terms in 402s (`SESSION_SECRET`); absent: every paid request
   * on such a rule is checked against a fresh quote instead (src/paywall/origin-quote.ts).
   */
  quoteSecret?: string | undefined;
  /** Reads the chain to resolve pending payments (`CHAIN_RPC_URLS`, src/chain). */
  chain?: ChainProver | undefined;
  /** Counts each answer on a priced route for the operator's funnel (src/funnel); no I/O. */
  funnel?: FunnelRecorder | undefined;
}

/** One priced request, as the paid flow sees it. */
interface PricedRequest {
  request: Request;
  url: URL;
  forwardPath: string;
  matchPath: string;
  resourceUrl: string;
  match: Extract<Match, { kind: "priced" }>;
  /** The charged crawler's identity (pay-per-crawl), for the receipt. */
  crawler?: CrawlerTag | undefined;
  waitUntil?: RequestContext["waitUntil"];
}

/** Paths under this prefix belong to the paywall itself and are never proxied. */
export const RESERVED_PREFIX = "/__x402";

/** What the Worker knows of one request besides the request itself. */
export interface RequestContext {
  /** The request's URL, when already parsed. */
  url?: URL | undefined;
  /**
   * Keeps work going after the answer is sent (`ExecutionContext.waitUntil`); without it that
   * work is awaited before answering.
   */
  waitUntil?: ((work: Promise<unknown>) => void) | undefined;
}

/** Handles one request in front of the origin. */
export async function handleRequest(
  request: Request,
  deps: PaywallDeps,
  context: RequestContext = {},
): Promise<Response> {
  // One spelling of the host (no trailing dot) for matching, scopes, resource URLs and sign-in.
  const url = canonicalUrl(context.url ?? new URL(request.url));
  const path = normalisePath(url.pathname);
  if (!path.ok) return errorResponse("bad_path", path.reason);
  if (isReserved(path.matchPath)) {
    return errorResponse("reserved_path", `${RESERVED_PREFIX}/ is reserved for the paywall`);
  }
  // Before any rule is read: a preflight is never priced, on any rule (preflight.ts).
  if (isPreflight(request)) return forwardPreflight(request, path.forwardPath, deps.origin);

  const state = await deps.tables.current();
  if (!state.ok) return errorResponse("price_table_unavailable", state.reason);
  const match = state.table.match({
    method: request.method,
    host: url.hostname,
    path: path.matchPath,
  });
  if (match.kind === "unknown-payee") return errorResponse("unknown_payee", match.reason);

  const resourceUrl = `${url.origin}${path.forwardPath}${url.search}`;
  const forwardPath = path.forwardPath;
  const crawl = deps.crawlers
    ? await crawlerGate(
        { request, match, terms: state.table.crawlers, forwardPath, resourceUrl },
        { crawlers: deps.crawlers, origin: deps.origin, defer: context.waitUntil },
      )
    : { type: "pass" as const };
  // The operator's funnel: one count per answer on a priced route, written after the answer.
  const counted = (response: Response, crawler?: CrawlerTag) => {
    const key = {
      rule: ruleKey(match),
      crawler: crawler?.name ?? "",
      crawlerKey: crawler?.key ?? "",
    };
    deps.funnel?.record(key, request, response, context.waitUntil);
    return response;
  };
  if (crawl.type === "respond") return counted(crawl.response, crawl.crawler);
  const decided = crawl.type === "charge" ? crawl.match : match;

  if (decided.kind === "free" || crawl.type === "free") {
    const result = await forwardToOrigin({ request, forwardPath }, deps.origin);
    if (result.type === "unreachable") return errorResponse("origin_unreachable", result.reason);
    return result.response;
  }
  const priced = { request, url, forwardPath, matchPath: path.matchPath };
  const crawler = crawl.type === "charge" ? crawl.crawler : undefined;
  const response = await paidFlow(
    { ...priced, resourceUrl, match: decided, crawler, waitUntil: context.waitUntil },
    deps,
  );
  return counted(crawl.type === "charge" ? crawl.decorate(response) : response, crawler);
}

async function paidFlow(priced: PricedRequest, deps: PaywallDeps): Promise<Response> {
  const { request, forwardPath, resourceUrl } = priced;
  const dynamic = offerFor(priced.match.offer, priced.url, request.headers);
  if (typeof dynamic === "string") return errorResponse("unpriceable_request", dynamic);
  let offer = dynamic;
  let session: SessionRequest | undefined;
  let refusal: string | undefined;
  if (offer.session) {
    if (!deps.sessions) {
      return misconfiguredResponse(
        `${priced.match.rule} sells sessions, but the SESSIONS binding or SESSION_SECRET is not configured`,
      );
    }
    const want = wantFor(offer, offer.session, priced.url.hostname, priced.matchPath);
    session = {
      headers: request.headers,
      url: priced.url,
      resourceUrl,
      offer,
      want,
      defer: priced.waitUntil,
    };
    // A HEAD delivers no content: it spends no use of a pass and gets the route's 402.
    const result =
      request.method === "HEAD"
        ? ({ type: "none" } as const)
        : await tryCredentials(session, deps.sessions);
    if (result.type === "admitted") return serveSession(priced, result, want.scope, deps);
    if (result.type === "retry") return retryLater(result.reason, result.retryAfter);
    if (result.type === "unavailable") {
      return errorResponse("session_store_unavailable", `${result.reason}; nothing was charged`);
    }
    if (result.type === "refused") refusal = result.reason;
  }

  const payment = decodePayment(request.headers);
  const originSays = fromOrigin(offer);
  // Terms the origin states are bound before it sees a paid request (signed in every 402).
  const quoted = { request, forwardPath, resourceUrl, rule: priced.match.rule };
  const secret = deps.quoteSecret;
  const signed = async (at: Offer) => (originSays && secret ? signedOffer(at, quoted, secret) : at);
  let unquoted: string | undefined;
  if (originSays) {
    const bound = await originTerms(offer, payment, quoted, deps.origin, secret);
    if (bound instanceof Response) return bound;
    offer = bound.offer;
    unquoted = bound.refused;
  }

  const completed = await withFacilitatorExtra(offer, deps.facilitator);
  if (typeof completed === "string") {
    return errorResponse("facilitator_unavailable", `${completed}; nothing was charged`, 503);
  }
  offer = completed;

  const html = prefersHtml(request.headers.get("Accept"));
  const challenge = async (error?: string, headers?: Record<string, string>, terms = offer) => {
    const at = await signed(terms);
    const extensions: Record<string, unknown> = {
      [PAYMENT_IDENTIFIER]: paymentIdentifierDeclaration(at.paymentIdRequired === true),
      ...bazaarFor(at, request.method),
      ...(session && deps.sessions ? await sessionExtensions(session, deps.sessions) : {}),
    };
    return challengeResponse({ offer: at, resourceUrl, error, html, headers, extensions });
  };

  if (payment.type === "none") return challenge(refusal);
  if (payment.type === "invalid") return errorResponse("invalid_payment", payment.reason);
  // Refused before the origin runs: nothing was verified, forwarded or charged.
  if (unquoted !== undefined) return challenge(unquoted);

  const prepared = preparePayment(payment, offer, resourceUrl);
  if (prepared.type === "refused") return challenge(prepared.reason);

  return payOnce(
    {
      request,
      forwardPath,
      resourceUrl,
      offer,
      prepared,
      challenge,
      beforeSettle: originSays
        ? async (answer) =>
            checkOriginAnswer(answer, prepared.offer, (error, at) =>
              challenge(error, undefined, at),
            )
        : undefined,
      onSettled: async (paid, receipt, buyer, reference) => {
        // The receipt is written after the answer goes out when the runtime lets work go on
        // (admin reads in this isolate wait for it; see src/ledger/ledger.ts).
        const { waitUntil, ...request } = priced;
        const recorded = recordPayment(deps.ledger, {
          ...request,
          // The offer actually paid: its network, payee, asset and (dynamic, quoted) amount.
          match: {
            rule: priced.match.rule,
            offer:
              prepared.offer.metered && receipt.amount !== undefined
                ? { ...prepared.offer, amount: receipt.amount }
                : prepared.offer,
          },
          paymentPayload: prepared.request.paymentPayload,
          x402Version: prepared.x402Version,
          settlement: receipt,
          payer: buyer,
          session: offer.session ? session?.want.scope : undefined,
        });
        if (waitUntil) waitUntil(recorded);
        else await recorded;
        if (!session || !deps.sessions || !offer.session || !buyer) return paid;
        const paidWith = prepared.offer;
        const granted = await deps.sessions.service.grant(
          {
            payer: buyer,
            // What this payment bought: the scope at the price of the offer it paid.
            want: {
              scope: session.want.scope,
              network: paidWith.network,
              asset: paidWith.asset,
              amount: paidWith.amount,
            },
            ttlSeconds: offer.session.ttlSeconds,
            uses: offer.session.uses,
            payment: reference,
          },
          waitUntil,
        );
        return withGrant(paid, granted, session.want.scope);
      },
    },
    { ...deps, defer: priced.waitUntil },
  );
}

/**
 * Adds the new session to a paid response. A store that cannot be reached does not cost the
 * payer the pass: its token goes out and the grant is retried (src/sessions/service.ts); only a
 * refused grant (the payment granted one before) leaves the response without a token.
 */
function withGrant(paid: Response, granted: SessionResult, scope: string): Response {
  if (granted.type === "admitted") return sessionResponse(paid, granted, scope);
  console.error("a paid request's session was not recorded", granted.reason);
  return paid;
}

/** Serves a request a session let in; the use is given back if the origin fails it. */
async function serveSession(
  priced: PricedRequest,
  admitted: Admitted,
  scope: string,
  deps: PaywallDeps,
): Promise<Response> {
  // A pass without a use count spent nothing to give back.
  const refund = async () => {
    if (admitted.remaining === null) return;
    await deps.sessions?.service.refund(admitted.ticket, priced.waitUntil);
  };
  const { request, forwardPath } = priced;
  const forwarded = await forwardToOrigin(
    { request, forwardPath, payer: admitted.payer },
    deps.origin,
  );
  if (forwarded.type === "unreachable") {
    await refund();
    return errorResponse("origin_unreachable", `${forwarded.reason}; no session use was spent`);
  }
  // Only an answer that delivers the content spends the use (src/paywall/answers.ts).
  const kind = answerKind(forwarded.response.status);
  if (kind !== "content") {
    await refund();
    if (kind === "no-content") return withoutContent(forwarded.response);
    if (kind === "error") return forwarded.response;
    await forwarded.response.body?.cancel();
    return errorResponse(
      "origin_unreachable",
      `the origin answered ${forwarded.response.status}; no session use was spent`,
    );
  }
  return tagOutcome(sessionResponse(forwarded.response, admitted, scope), { type: "session" });
}

function isReserved(matchPath: string): boolean {
  const lower = matchPath.toLowerCase();
  return lower === RESERVED_PREFIX || lower.startsWith(`${RESERVED_PREFIX}/`);
}

/** The `bazaar` discovery extension for this request's method, when there is one. */
function bazaarFor(offer: Offer, method: string): Record<string, unknown> {
  const extension = bazaarExtension(offer, method);
  return extension ? { [BAZAAR]: extension } : {};
}

/** The offer for this request: the rule's, or with its `dynamicPrice` worked out. */
function offerFor(offer: Offer, url: URL, headers: Headers): Offer | string {
  if (!offer.dynamic) return offer;
  const price = dynamicAmount(offer.dynamic, { url, headers });
  if (!price.ok) return price.reason;
  return { ...offer, amount: price.amount, display: price.display };
}
