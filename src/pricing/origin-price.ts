import { z } from "zod";
import { familyOf } from "../schemes";
import { atomicToUsd, USD_PRICE, usdcFor, usdToAtomic } from "./assets";
import type { Offer } from "./matcher";

/**
 * Prices the origin quotes itself, in band (as Cloudflare's pay-per-crawl lets an origin set
 * `crawler-price`): the paywall asks the origin with `x402-quote-request: 1`, the origin answers
 * with `x402-price: $0.05`, and the paywall challenges with that price (signed, so a payment can
 * only carry a price quoted for its request: src/paywall/origin-quote.ts). The paid request is
 * sent on, and settled only if the origin's answer carries the same price. A rule's `originPrice`
 * bounds what an origin may quote, so a broken or compromised origin cannot overcharge (or give
 * away) beyond them: a quote out of bounds, missing or malformed is a 502, never a free request.
 */

/** The request header that asks the origin for a quote. */
export const QUOTE_REQUEST_HEADER = "x402-quote-request";
/** The response header carrying the origin's quote, e.g. `$0.05` (USD in the rule's USDC). */
export const QUOTE_HEADER = "x402-price";
/** The response header naming the payee, for rules with `payee: {from: "origin"}`. */
export const PAYEE_HEADER = "x402-pay-to";

const usd = z.string().regex(USD_PRICE, 'must look like "$0.01"');

export const OriginPriceSchema = z.object({ min: usd, max: usd }).strict();

/** A rule's `originPrice` as written in the table. */
export type OriginPriceConfig = z.infer<typeof OriginPriceSchema>;

/** The bounds of an origin's quotes, in atomic units of the rule's USDC. */
export interface OriginPrice {
  min: bigint;
  max: bigint;
  decimals: number;
  /** "$0.001" and "$1", for messages. */
  minText: string;
  maxText: string;
}

/** Resolves a rule's quote bounds on `network`'s USDC, or says why it cannot be. */
export function resolveOriginPrice(
  config: OriginPriceConfig,
  network: string,
): OriginPrice | string {
  const usdc = usdcFor(network, "originPrice");
  if (typeof usdc === "string") return usdc;
  const min = usdToAtomic(config.min, usdc.decimals);
  const max = usdToAtomic(config.max, usdc.decimals);
  if (!min.ok) return `originPrice.min: ${min.reason}`;
  if (!max.ok) return `originPrice.max: ${max.reason}`;
  if (BigInt(max.amount) < BigInt(min.amount)) return "originPrice.max is below its min";
  return {
    min: BigInt(min.amount),
    max: BigInt(max.amount),
    decimals: usdc.decimals,
    minText: config.min,
    maxText: config.max,
  };
}

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
