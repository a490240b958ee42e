import type { DecodedPayment } from "../x402";
import {
  PAYEE_HEADER,
  QUOTE_HEADER,
  QUOTE_REQUEST_HEADER,
  checkAnswerQuote,
  readPayee,
  readQuote,
  withinQuoteBounds,
} from "./quote-headers";
import { atomicToUsd } from "../pricing";
import type { Offer } from "../pricing";
import { forwardToOrigin } from "../proxy";
import type { OriginOptions } from "../proxy";
import { errorResponse } from "./responses";
import { SIGNED_QUOTE, checkSignature, signTerms } from "./signed-terms";
import type { QuoteBinding } from "./signed-terms";

/**
 * The origin's in-band terms (src/pricing/origin-price.ts) in the request path: its price
 * (`originPrice`) and its payee (`payee: {from: "origin"}`). An unpaid request costs one origin
 * call, `x402-quote-request: 1` with no body, whose `x402-price` and `x402-pay-to` become the
 * 402's terms, signed by the paywall with an expiry (signed-terms.ts) when it has a secret.
 *
 * A paid request's terms are bound before the origin sees it: a V2 payment whose `accepted`
 * carries a valid, unexpired signature for this request is taken at its terms with no origin
 * call; any other payment (x402 V1, no secret configured, a missing, changed or expired
 * signature) costs a fresh quote and must pay exactly its terms. Otherwise it is refused with a
 * 402 at the origin's terms, the origin never asked to run it. The origin's answer must then
 * state the same terms again before anything is settled (`checkOriginAnswer`).
 */

/** True when the offer's terms come from the origin. */
export function fromOrigin(offer: Offer): boolean {
  return offer.quote !== undefined || offer.payeeFromOrigin === true;
}

/** The request whose terms the origin states. */
export interface QuotedRequest {
  request: Request;
  forwardPath: string;
  resourceUrl: string;
  /** The matched rule's stable name, which a signature binds. */
  rule: string;
}

/**
 * The terms that apply to this request: `offer` to pay or challenge with and, when a payment
 * came with other terms, `refused`: why it is refused (answer a 402 at `offer`, forward
 * nothing). Or the answer to give instead (the origin could not quote).
 */
export type BoundTerms =
  | { type: "bound"; offer: Offer; refused?: string | undefined }
  | { type: "respond"; response: Response };

/** Binds the terms a payment may carry before the origin sees the request (see above). */
export async function originTerms(
  offer: Offer,
  payment: DecodedPayment,
  input: QuotedRequest,
  origin: OriginOptions,
  secret: string | undefined,
): Promise<BoundTerms> {
  // A malformed payment is answered 400 without terms: the origin need not be asked.
  if (payment.type === "invalid") return { type: "bound", offer };
  const binding = bindingOf(input);
  const carried = carriedTerms(payment);
  let why: string | undefined;
  if (payment.type === "v2" && secret) {
    const signed = await signedTerms(offer, carried, binding, secret);
    if (signed.ok) return { type: "bound", offer: signed.offer };
    why = signed.message;
  }
  const fresh = await freshQuote(offer, input, origin);
  if (fresh.type === "respond") return fresh;
  const quoted = fresh.offer;
  if (payment.type === "none") return { type: "bound", offer: quoted };
  const same =
    carried.amount === quoted.amount &&
    carried.payTo !== undefined &&
    carried.payTo.toLowerCase() === quoted.payTo.toLowerCase();
  if (!same) {
    const now = `not the origin's terms now (${quoted.display} to ${quoted.payTo})`;
    const refused = why ? `${why}, and its terms are ${now}` : `the payment's terms are ${now}`;
    return { type: "bound", offer: quoted, refused: `${refused}; nothing was charged` };
  }
  // The payment's own copy of the terms (its signature or none), so its `accepted` matches.
  const extra: Record<string, string> = { ...quoted.extra };
  if (typeof carried.signature === "string") extra[SIGNED_QUOTE] = carried.signature;
  return { type: "bound", offer: { ...quoted, extra } };
}

/** The offer with its origin-stated terms signed for this request, for a 402 to carry. */
export function signedOffer(offer: Offer, input: QuotedRequest, secret: string): Promise<Offer> {
  return signTerms(offer, bindingOf(input), secret);
}

function bindingOf(input: QuotedRequest): QuoteBinding {
  return { resourceUrl: input.resourceUrl, method: input.request.method, rule: input.rule };
}

/** The payment's own terms if this paywall signed them for this request, unexpired. */
async function signedTerms(
  offer: Offer,
  carried: Carried,
  binding: QuoteBinding,
  secret: string,
): Promise<{ ok: true; offer: Offer } | { ok: false; message?: string }> {
  const { amount, payTo, scheme, network, asset } = carried;
  if (amount === undefined || payTo === undefined) return { ok: false };
  if (scheme === undefined || network === undefined || asset === undefined) return { ok: false };
  const terms = { scheme, network, asset, amount, payTo };
  const check = await checkSignature(terms, carried.signature, binding, secret);
  if (!check.ok) {
    if (check.reason === "missing") return { ok: false };
    return { ok: false, message: check.message };
  }
  // Signed terms were possible ones when signed; checked again, at no cost.
  const bounds = offer.quote;
  if (bounds && !withinQuoteBounds(amount, bounds)) return { ok: false };
  if (offer.payeeFromOrigin && !readPayee(payTo, offer.network).ok) return { ok: false };
  // Scheme, network, asset, the rest of `extra` and the timeout are the rule's: the payment
  // must still match them exactly (src/payments/offer-match.ts).
  const signature = carried.signature as string;
  return {
    ok: true,
    offer: {
      ...offer,
      ...(bounds && { amount, display: atomicToUsd(amount, bounds.decimals) }),
      ...(offer.payeeFromOrigin && { payTo }),
      extra: { ...offer.extra, [SIGNED_QUOTE]: signature },
    },
  };
}

/** Asks the origin for its terms now: one call, `x402-quote-request: 1`, no body. */
async function freshQuote(
  offer: Offer,
  input: QuotedRequest,
  origin: OriginOptions,
): Promise<BoundTerms> {
  const result = await forwardToOrigin(
    { ...input, extraHeaders: { [QUOTE_REQUEST_HEADER]: "1" }, withoutBody: true },
    origin,
  );
  if (result.type === "unreachable") {
    const why = `${result.reason}; no price could be quoted`;
    return { type: "respond", response: errorResponse("origin_unreachable", why) };
  }
  await result.response.body?.cancel();
  let quoted = offer;
  if (offer.quote) {
    const quote = readQuote(result.response.headers.get(QUOTE_HEADER), offer.quote);
    if (!quote.ok) {
      return { type: "respond", response: errorResponse("invalid_origin_quote", quote.reason) };
    }
    quoted = { ...quoted, amount: quote.amount, display: quote.display };
  }
  if (offer.payeeFromOrigin) {
    const payee = readPayee(result.response.headers.get(PAYEE_HEADER), offer.network);
    if (!payee.ok) {
      return { type: "respond", response: errorResponse("invalid_origin_quote", payee.reason) };
    }
    quoted = { ...quoted, payTo: payee.payTo };
  }
  return { type: "bound", offer: quoted };
}

/** What the origin's answer to a paid request says of the terms paid. */
export type AnswerTerms =
  /** It states them: settle. */
  | { type: "same" }
  /** Missing or invalid terms: answer `response` (a 502), settle nothing. */
  | { type: "respond"; response: Response }
  /** Other terms now: refuse with the route's 402 at `terms`, settle nothing. */
  | { type: "refused"; reason: string; terms: Offer };

/**
 * Checks the origin's answer to a paid request against the terms paid: the same terms, or what
 * to answer instead (nothing is settled): a 502 for missing or invalid terms, or a 402 at the
 * origin's terms now.
 */
export function checkOriginAnswer(answer: Response, paid: Offer): AnswerTerms {
  let changed = paid;
  const reasons: string[] = [];
  if (paid.quote) {
    const check = checkAnswerQuote(answer, paid, paid.quote);
    if (!check.ok && "invalid" in check) {
      return { type: "respond", response: errorResponse("invalid_origin_quote", check.invalid) };
    }
    if (!check.ok) {
      changed = { ...changed, amount: check.changed.amount, display: check.changed.display };
      reasons.push(check.reason);
    }
  }
  if (paid.payeeFromOrigin) {
    const payee = readPayee(answer.headers.get(PAYEE_HEADER), paid.network);
    if (!payee.ok) {
      return { type: "respond", response: errorResponse("invalid_origin_quote", payee.reason) };
    }
    if (payee.payTo.toLowerCase() !== paid.payTo.toLowerCase()) {
      changed = { ...changed, payTo: payee.payTo };
      reasons.push("the origin names another payee for this resource; nothing was charged");
    }
  }
  return reasons.length > 0
    ? { type: "refused", reason: reasons.join("; "), terms: changed }
    : { type: "same" };
}

/** What a payment says it pays; any field may be absent or not a string. */
interface Carried {
  scheme?: string | undefined;
  network?: string | undefined;
  asset?: string | undefined;
  amount?: string | undefined;
  payTo?: string | undefined;
  /** `accepted.extra.signedQuote` as carried (V2 only; not necessarily a string). */
  signature?: unknown;
}

function carriedTerms(payment: DecodedPayment): Carried {
  const text = (value: unknown) => (typeof value === "string" ? value : undefined);
  if (payment.type === "v2") {
    const accepted = payment.payload.accepted as unknown as Record<string, unknown>;
    const extra = accepted["extra"];
    return {
      scheme: text(accepted["scheme"]),
      network: text(accepted["network"]),
      asset: text(accepted["asset"]),
      amount: text(accepted["amount"]),
      payTo: text(accepted["payTo"]),
      signature:
        typeof extra === "object" && extra !== null
          ? (extra as Record<string, unknown>)[SIGNED_QUOTE]
          : undefined,
    };
  }
  if (payment.type === "v1") {
    const authorization = payment.payload.payload["authorization"] as
      { value?: unknown; to?: unknown } | undefined;
    return { amount: text(authorization?.value), payTo: text(authorization?.to) };
  }
  return {};
}
