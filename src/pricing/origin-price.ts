import * as z from "../zod";
import { USD_PRICE, usdcFor, usdToAtomic } from "./assets";

/**
 * Prices the origin quotes itself, in band (as Cloudflare's pay-per-crawl lets an origin set
 * `crawler-price`): the paywall asks the origin with `x402-quote-request: 1`, the origin answers
 * with `x402-price: $0.05`, and the paywall challenges with that price (signed, so a payment can
 * only carry a price quoted for its request: src/paywall/origin-quote.ts, which reads the headers
 * with src/paywall/quote-headers.ts). The paid request is sent on, and settled only if the
 * origin's answer carries the same price. A rule's `originPrice` bounds what an origin may quote,
 * so a broken or compromised origin cannot overcharge (or give away) beyond them: a quote out of
 * bounds, missing or malformed is a 502, never a free request.
 */

const usd = z.string().check(z.regex(USD_PRICE, 'must look like "$0.01"'));

export const OriginPriceSchema = z.strictObject({ min: usd, max: usd });

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
