import {
  CRAWLER_CHARGED,
  checkCrawlerPrice,
  crawlerTag,
  decide,
  formatCrawlerPrice,
  identifyCrawler,
  privilegeOf,
  unsignedPriceHeaders,
} from "../crawlers";
import type { Privilege, Subject, WebBotAuthVerifier } from "../crawlers";
import { creditAccount, creditPays } from "../credit";
import type { CreditService } from "../credit";
import type { CrawlerTerms, Match, Offer } from "../pricing";
import type { OriginOptions } from "../proxy";
import { NONCE_GRACE_SECONDS, spendCredit } from "./credit-spend";
import {
  crawlerChallenge,
  crawlerErrorResponse,
  priceHeader,
  withHeaders,
} from "./crawler-responses";

/**
 * The identify step of the request path for pay-per-crawl (docs/pay-per-crawl.md): on rules the
 * crawler policies cover, find out who is asking (User-Agent claim, Web Bot Auth proof), apply the
 * table's policy, and check the `crawler-exact-price` / `crawler-max-price` headers. The result
 * tells the flow to carry on as before, to serve the request free, to charge the crawler's own
 * price through x402, or it is the answer itself (a refusal, a 402, or a page paid from prepaid
 * credit). Requests on other rules touch nothing here: no header parsing, no I/O.
 *
 * A signature is a bearer credential until it expires (a copy replays to any path it does not
 * name), so what it earns beyond an anonymous client's lot (policy.ts `privilegeOf`) is bounded:
 * free access, a price below the public one and credit need a signature made within the table's
 * `crawlers.maxSignatureAge`; a payment at the lower price and a debit of credit happen once per
 * signature (the payment header signed, or the nonce recorded in the key's own Durable Object).
 * Credit pays only for pages owed on its own terms (payee, asset, network: src/credit/account.ts).
 */

/** What crawler handling needs: the verifier (with its directory cache) and the credit store. */
export interface CrawlerDeps {
  verifier: WebBotAuthVerifier;
  /** Absent when the `CRAWL_CREDIT` binding is not configured: credit is then neither sold nor spent. */
  credit: CreditService | undefined;
}

/** The request facts the gate looks at. */
export interface CrawlRequest {
  request: Request;
  match: Match;
  terms: CrawlerTerms | undefined;
  forwardPath: string;
  resourceUrl: string;
}

/** What the flow does next. */
export type CrawlStep =
  /** Not a crawler matter: the rule's own terms apply. */
  | { type: "pass" }
  /** The policy allows this client: forward as on a free rule. */
  | { type: "free" }
  /** Charge through x402 at the crawler's price; `decorate` adds the crawler headers. */
  | {
      type: "charge";
      match: Extract<Match, { kind: "priced" }>;
      decorate(r: Response): Response;
      /** Who is charged, for the receipt and the funnel: a name and the key (crawlerTag). */
      crawler: CrawlerTag;
    }
  /** The answer is ready; `crawler` names who it went to, when a crawler policy applied. */
  | { type: "respond"; response: Response; crawler?: CrawlerTag | undefined };

/** A crawler as receipts and the funnel name it: see `crawlerTag` (src/crawlers/policy.ts). */
export type CrawlerTag = ReturnType<typeof crawlerTag>;

/** What the gate needs besides the request. */
export interface GateDeps {
  crawlers: CrawlerDeps;
  origin: OriginOptions;
  /** Work after the answer (the request's `waitUntil`): an owed credit refund's retries. */
  defer?: ((work: Promise<unknown>) => void) | undefined;
}

/** Runs the crawler step for one request; never throws. */
export async function crawlerGate(input: CrawlRequest, deps: GateDeps): Promise<CrawlStep> {
  const { request, match, terms } = input;
  if (!terms || !match.crawl) return { type: "pass" };
  const identity = await identifyCrawler(request, deps.crawlers.verifier, {
    catalogue: terms.catalogue,
  });
  const decision = decide(identity, match, terms);
  switch (decision.type) {
    case "pass":
      return decision;
    case "invalid-signature":
      return respond(crawlerErrorResponse("InvalidSignature", decision.reason));
    case "directory-unavailable":
      return respond(crawlerErrorResponse("InternalError", decision.reason, { status: 502 }));
    case "block": {
      const blocked = crawlerErrorResponse("CrawlerForbidden", blockReason(decision.subject));
      return { ...respond(blocked), crawler: crawlerTag(decision.subject) };
    }
    case "allow": {
      // Let in free where others pay: worth money to whoever holds a copy of the signature.
      const free = privilegeOf(decision, match, terms) === "free";
      const fresh = free ? staleSignature(decision.subject, terms, "free access") : PASS;
      return fresh.type === "respond"
        ? { ...fresh, crawler: crawlerTag(decision.subject) }
        : { type: "free" };
    }
    case "charge": {
      const privilege = privilegeOf(decision, match, terms);
      const step = await charge(input, decision.subject, decision.offer, privilege, deps);
      return step.type === "respond" ? { ...step, crawler: crawlerTag(decision.subject) } : step;
    }
  }
}

async function charge(
  input: CrawlRequest,
  subject: Subject,
  offer: Offer,
  privilege: Privilege,
  deps: GateDeps,
): Promise<CrawlStep> {
  const { request, resourceUrl } = input;
  const headers = request.headers;
  if (subject.covered) {
    const unsigned = unsignedPriceHeaders(headers, subject.covered);
    if (unsigned.length > 0) {
      const reason = `${unsigned.join(" and ")} must be covered by the signature`;
      return respond(crawlerErrorResponse("InvalidSignature", reason));
    }
  }
  const check = checkCrawlerPrice(headers, offer.amount);
  if (check.kind === "refused") {
    const refusal = crawlerErrorResponse(check.code, check.reason, { headers: priceHeader(offer) });
    return respond(refusal);
  }
  // A payee the origin names is known only once the origin is asked: the paid flow asks it, for
  // the 402 as for a payment, and such a page is never served from credit.
  const paying = headers.has("payment-signature") || headers.has("x-payment");
  if (paying && privilege === "cheaper") {
    const once = await oncePerSignature(headers, subject, input.terms, deps.crawlers.credit);
    if (once.type === "respond") return once;
  }
  if (paying || offer.payeeFromOrigin) {
    const rule = input.match.rule;
    const match = { kind: "priced" as const, rule, offer };
    return { type: "charge", match, decorate: decorate(offer), crawler: crawlerTag(subject) };
  }
  if (check.kind === "none") return respond(crawlerChallenge(request, offer, resourceUrl));
  if (!subject.keyid) {
    const why = "prepaid credit needs a Web Bot Auth signature; pay this request with x402";
    return respond(crawlerChallenge(request, offer, resourceUrl, why));
  }
  const credit = input.terms?.credit;
  if (!deps.crawlers.credit || !credit) {
    return respond(crawlerChallenge(request, offer, resourceUrl, "no crawl credit is sold here"));
  }
  if (!creditPays(credit, offer)) {
    // Credit is money paid to the credit's payee: a page owed to another (a tenant on a payee
    // map), or priced in another asset or on another network, is paid for on its own.
    const why = `crawl credit pays ${credit.payTo} on ${credit.network}; this page is owed to ${offer.payTo} on ${offer.network}: pay it with x402`;
    return respond(crawlerChallenge(request, offer, resourceUrl, why));
  }
  const fresh = staleSignature(subject, input.terms, "spending crawl credit");
  if (fresh.type === "respond") return fresh;
  const spend = {
    request,
    offer,
    resourceUrl,
    forwardPath: input.forwardPath,
    subject,
    account: creditAccount(credit),
  };
  const spendDeps = { credit: deps.crawlers.credit, origin: deps.origin, defer: deps.defer };
  return respond(await spendCredit(spend, spendDeps));
}

/** A check of a signature's use: it may go on (`pass`), or the answer is the refusal. */
type SignatureCheck = Extract<CrawlStep, { type: "pass" | "respond" }>;

const PASS: SignatureCheck = { type: "pass" };

/**
 * A refusal when a signature is too old to earn a privilege worth money (`crawlers.
 * maxSignatureAge` since its `created`), else `pass`. Web Bot Auth signatures often cover
 * only `@authority` (draft-ietf-webbotauth-httpsig-protocol §4.2: valid for any path until they
 * expire, up to an hour here): a copy, from a log or an intermediary, would otherwise replay a
 * crawler's free access on any page for that hour. Signers sign each request, so a real
 * crawler's signature is seconds old; only the copies' window shrinks.
 */
function staleSignature(
  subject: Subject,
  terms: CrawlerTerms | undefined,
  what: string,
): SignatureCheck {
  if (subject.created === undefined || !terms) return PASS;
  const age = Math.floor(Date.now() / 1000) - subject.created;
  if (age <= terms.maxSignatureAge) return PASS;
  const why = `the signature was made ${age} s ago; ${what} needs one made in the last ${terms.maxSignatureAge} s: sign each request`;
  return respond(crawlerErrorResponse("InvalidSignature", why));
}

/**
 * Makes a payment at a crawler price below the public one count once per signature, else says
 * why not: a copy of the signed request must not buy pages at the crawler's price with another
 * payment. Either the signature covers the payment header (a copy cannot carry another payment;
 * nothing is stored), or its nonce is recorded as used in the key's own Durable Object. `pass`
 * when it counts once, else the refusal.
 */
async function oncePerSignature(
  headers: Headers,
  subject: Subject,
  terms: CrawlerTerms | undefined,
  credit: CreditService | undefined,
): Promise<SignatureCheck> {
  const fresh = staleSignature(subject, terms, "a crawler price below the public one");
  if (fresh.type === "respond") return fresh;
  const sent = ["payment-signature", "x-payment"].filter((name) => headers.has(name));
  if (subject.covered && sent.every((name) => subject.covered!.includes(name))) return PASS;
  if (!subject.keyid || !subject.nonce || subject.expires === undefined || !credit) {
    const why = `a crawler price below the public one is paid once per signature: cover ${sent.join(" and ")} in the signature${credit ? " or send a nonce" : ""}`;
    return respond(crawlerErrorResponse("InvalidSignature", why));
  }
  const expiresAt = (subject.expires + NONCE_GRACE_SECONDS) * 1000;
  const used = await credit.useNonce(subject.keyid, subject.nonce, expiresAt);
  if (used.type === "fresh") return PASS;
  if (used.type === "replayed") {
    return respond(
      crawlerErrorResponse("InvalidSignature", "this signed request was already used"),
    );
  }
  const why = `${used.reason}; nothing was charged`;
  return respond(crawlerErrorResponse("InternalError", why, { status: 503 }));
}

/** Adds `crawler-price` to a 402 and `crawler-charged` to a paid answer. */
function decorate(offer: Offer): (response: Response) => Response {
  return (response) => {
    if (response.status === 402) return withHeaders(response, priceHeader(offer));
    const paid =
      response.headers.has("payment-response") || response.headers.has("x-payment-response");
    if (response.status < 400 && paid) {
      return withHeaders(response, { [CRAWLER_CHARGED]: formatCrawlerPrice(offer.amount) });
    }
    return response;
  };
}

function blockReason(subject: Subject): string {
  if (subject.class === "unverified") {
    const who = subject.crawler?.name ?? "a crawler";
    return `this client claims to be ${who} without a valid Web Bot Auth signature, and such clients are blocked here`;
  }
  const who =
    subject.crawler?.name ?? (subject.class === "unknown" ? "this client" : "this signer");
  return `${who} is blocked here`;
}

function respond(response: Response): Extract<CrawlStep, { type: "respond" }> {
  return { type: "respond", response };
}
