import * as z from "../zod";
import { atomicToUsd, USD_PRICE, usdcFor, usdToAtomic } from "./assets";

/**
 * Prices that follow the request: `base + units × each`, kept within `[min, max]`, where the
 * units are a whole number read from a query parameter, a request header, or the body's size
 * in KiB (its `Content-Length`). Declared per rule in the price table (`dynamicPrice`), resolved
 * to atomic units once per table version; per request it is integer arithmetic on BigInt, so a
 * price is never rounded. Missing or malformed units are the client's error (400), never a
 * free request.
 */

const usd = z.string().check(z.regex(USD_PRICE, 'must look like "$0.01"'));

export const DynamicPriceSchema = z.strictObject({
  from: z
    .string()
    .check(
      z.regex(
        /^(query:[A-Za-z0-9_.-]{1,64}|header:[A-Za-z0-9-]{1,64}|body-kib)$/,
        'must be "query:<name>", "header:<name>" or "body-kib"',
      ),
    ),
  each: usd,
  base: z.optional(usd),
  min: z.optional(usd),
  max: usd,
});

/** A rule's `dynamicPrice` as written in the table. */
export type DynamicPriceConfig = z.infer<typeof DynamicPriceSchema>;

/** A resolved dynamic price: atomic units of the rule's asset. */
export interface DynamicPrice {
  from: DynamicPriceConfig["from"];
  each: bigint;
  base: bigint;
  min: bigint;
  max: bigint;
  decimals: number;
}

/** The most units a request may name: bounds the arithmetic, far above any sane price. */
const MAX_UNITS = 10n ** 12n;

/** Resolves a rule's dynamic price on `network`'s USDC, or says why it cannot be. */
export function resolveDynamicPrice(
  config: DynamicPriceConfig,
  network: string,
): DynamicPrice | string {
  const usdc = usdcFor(network, "dynamicPrice");
  if (typeof usdc === "string") return usdc;
  const atomic = (price: string | undefined, fallback: bigint): bigint | string => {
    if (price === undefined) return fallback;
    if (/^\$0+(\.0+)?$/.test(price)) return 0n;
    const result = usdToAtomic(price, usdc.decimals);
    return result.ok ? BigInt(result.amount) : result.reason;
  };
  const parts = [
    atomic(config.each, 0n),
    atomic(config.base, 0n),
    atomic(config.min, 1n),
    atomic(config.max, 0n),
  ];
  const problem = parts.find((part) => typeof part === "string");
  if (typeof problem === "string") return `dynamicPrice: ${problem}`;
  const [each, base, min, max] = parts as [bigint, bigint, bigint, bigint];
  if (min < 1n) return "dynamicPrice.min must be above zero";
  if (max < min) return "dynamicPrice.max is below its min";
  return { from: config.from, each, base, min, max, decimals: usdc.decimals };
}

/** The price of one request in atomic units (a decimal string), or why it has none. */
export function dynamicAmount(
  price: DynamicPrice,
  request: { url: URL; headers: Headers },
): { ok: true; amount: string; display: string } | { ok: false; reason: string } {
  const units = unitsOf(price.from, request);
  if (!units.ok) return units;
  let amount = price.base + units.units * price.each;
  if (amount < price.min) amount = price.min;
  if (amount > price.max) amount = price.max;
  return {
    ok: true,
    amount: amount.toString(),
    display: atomicToUsd(amount.toString(), price.decimals),
  };
}

function unitsOf(
  from: DynamicPrice["from"],
  request: { url: URL; headers: Headers },
): { ok: true; units: bigint } | { ok: false; reason: string } {
  let text: string | null;
  let what: string;
  if (from === "body-kib") {
    what = "the Content-Length header";
    text = request.headers.get("Content-Length");
  } else if (from.startsWith("query:")) {
    const name = from.slice("query:".length);
    what = `the query parameter ${name}`;
    const values = request.url.searchParams.getAll(name);
    if (values.length > 1) return { ok: false, reason: `${what} is given more than once` };
    text = values[0] ?? null;
  } else {
    const name = from.slice("header:".length);
    what = `the ${name} header`;
    text = request.headers.get(name);
  }
  if (text === null)
    return { ok: false, reason: `this resource is priced by ${what}, which is missing` };
  if (!/^\d{1,13}$/.test(text.trim())) {
    return { ok: false, reason: `${what} must be a whole number of at most 13 digits` };
  }
  let units = BigInt(text.trim());
  if (from === "body-kib") units = (units + 1023n) / 1024n;
  if (units > MAX_UNITS) return { ok: false, reason: `${what} is too large` };
  return { ok: true, units };
}
