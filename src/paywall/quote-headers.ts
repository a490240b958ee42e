import { atomicToUsd, usdToAtomic } from "../pricing";
import type { Offer, OriginPrice } from "../pricing";
import { familyOf } from "../schemes";

/**
 * The headers of an origin that states its own terms (src/pricing/origin-price.ts): the quote
 * request, the quote an origin answers with, and the payee it names, each read against the
 * rule's bounds or network. A quote or payee that cannot be used is a reason, never a price.
 */

/** The request header that asks the origin for a quote. */
export const QUOTE_REQUEST_HEADER = "x402-quote-request";
/** The response header carrying the origin's quote, e.g. `$0.05` (USD in the rule's USDC). */
export const QUOTE_HEADER = "x402-price";
/** The response header naming the payee, for rules with `payee: {from: "origin"}`. */
export const PAYEE_HEADER = "x402-pay-to";

/** Reads an origin's quote; the amount in atomic units, or why the quote cannot be used. */
export function readQuote(
  value: string | null,
  bounds: OriginPrice,
): { ok: true; amount: string; display: string } | { ok: false; reason: string } {
  if (value === null) return { ok: false, reason: `the origin sent no ${QUOTE_HEADER} quote` };
  const parsed = usdToAtomic(value.trim(), bounds.decimals);
  if (!parsed.ok)
    return { ok: false, reason: `the origin's quote is not usable: ${parsed.reason}` };
  const amount = BigInt(parsed.amount);
  if (amount < bounds.min || amount > bounds.max) {
    return {
      ok: false,
      reason: `the origin quoted ${value.trim()}, outside this rule's ${bounds.minText}–${bounds.maxText}`,
    };
  }
  return { ok: true, amount: parsed.amount, display: atomicToUsd(parsed.amount, bounds.decimals) };
}

/** True when a client's own amount could be a quote of this rule (checked before verifying). */
export function withinQuoteBounds(amount: string, bounds: OriginPrice): boolean {
  if (!/^\d{1,30}$/.test(amount)) return false;
  const value = BigInt(amount);
  return value >= bounds.min && value <= bounds.max;
}

/**
 * Checks the origin's answer to a paid request: it must quote the amount paid. Otherwise the
 * answer is withheld and nothing is settled: a 502 for a missing or out-of-bounds quote, or the
 * amount the origin asks now (the client pays that instead).
 */
export function checkAnswerQuote(
  answer: Response,
  paid: Offer,
  bounds: OriginPrice,
): { ok: true } | { ok: false; invalid: string } | { ok: false; changed: Offer; reason: string } {
  const quote = readQuote(answer.headers.get(QUOTE_HEADER), bounds);
  if (!quote.ok) return { ok: false, invalid: quote.reason };
  if (quote.amount === paid.amount) return { ok: true };
  return {
    ok: false,
    changed: { ...paid, amount: quote.amount, display: quote.display },
    reason: `the price is now ${quote.display}; this payment was for another amount, and nothing was charged`,
  };
}

/** Reads the payee an origin names: it must be an address of the rule's network. */
export function readPayee(
  value: string | null,
  network: string,
): { ok: true; payTo: string } | { ok: false; reason: string } {
  const family = familyOf(network);
  const payTo = value?.trim();
  if (!payTo) return { ok: false, reason: `the origin named no payee (${PAYEE_HEADER})` };
  if (!family?.isAddress(payTo)) {
    return {
      ok: false,
      reason: `the origin's payee "${payTo.slice(0, 64)}" is not ${family?.addressHint ?? "an address"} on ${network}`,
    };
  }
  return { ok: true, payTo };
}
