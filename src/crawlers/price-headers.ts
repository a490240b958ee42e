import { atomicToUsd, usdToAtomic } from "../pricing/assets";

/**
 * Cloudflare's pay-per-crawl headers (docs/pay-per-crawl.md), as pure functions. Prices travel as
 * `USD 0.01`; the paywall prices crawlers in USDC atomic units (6 decimals), so every
 * comparison is between integers of atomic units: no floating point anywhere.
 */

/** Header names, lower-case as fetch reports them. */
export const CRAWLER_PRICE = "crawler-price";
export const CRAWLER_EXACT_PRICE = "crawler-exact-price";
export const CRAWLER_MAX_PRICE = "crawler-max-price";
export const CRAWLER_CHARGED = "crawler-charged";
export const CRAWLER_ERROR = "crawler-error";

/** Decimals of the USDC the crawl prices are paid in. */
export const USD_DECIMALS = 6;

/** Cloudflare's `crawler-error` codes and the HTTP status each is sent with. */
export const CRAWLER_ERRORS = {
  CrawlerForbidden: 403,
  StrongAuthRequired: 400,
  InvalidSignature: 400,
  InvalidCrawlerPriceValue: 400,
  MissingCrawlerPrice: 402,
  PaymentFailed: 403,
  InvalidCrawlerExactPrice: 402,
  InvalidCrawlerMaxPrice: 402,
  ConflictingPriceHeaders: 400,
  InvalidContentPrice: 502,
  // The one retryable error; the paywall sends it as 502/503 when a key directory or the credit
  // store is out of reach, so it reads as an upstream failure, never as a crash.
  InternalError: 500,
} as const satisfies Record<string, number>;

/** A `crawler-error` code. */
export type CrawlerErrorCode = keyof typeof CRAWLER_ERRORS;

/** Formats atomic USDC units as a header value: "10000" → "USD 0.01", "1000000" → "USD 1.00". */
export function formatCrawlerPrice(atomic: string): string {
  const [whole = "0", fraction = ""] = atomicToUsd(atomic, USD_DECIMALS).slice(1).split(".");
  return `USD ${whole}.${fraction.padEnd(2, "0")}`;
}

/** A parsed `USD 0.01`: its amount in atomic units, and whether it was that exact (not finer). */
export type ParsedCrawlerPrice =
  { ok: true; atomic: bigint; exact: boolean } | { ok: false; reason: string };

const PRICE_VALUE = /^USD +(\d{1,12})(?:\.(\d{1,18}))?$/;

/**
 * Parses a price header value. The currency must be `USD`; the amount a plain decimal. A value
 * finer than USDC's 6 decimals is rounded *down* and marked not exact: as a ceiling it still
 * allows the prices below it, as an exact price it can match none.
 */
export function parseCrawlerPrice(value: string): ParsedCrawlerPrice {
  const match = PRICE_VALUE.exec(value.trim());
  if (!match) return { ok: false, reason: `"${value}" is not a "USD 0.01"-style price` };
  const whole = match[1] ?? "0";
  const fraction = match[2] ?? "";
  const kept = fraction.slice(0, USD_DECIMALS);
  const exact = /^0*$/.test(fraction.slice(USD_DECIMALS));
  const converted = usdToAtomic(`$${whole}.${kept || "0"}`, USD_DECIMALS);
  // usdToAtomic refuses zero (a zero price is a free rule); here zero is a valid ceiling.
  return { ok: true, atomic: converted.ok ? BigInt(converted.amount) : 0n, exact };
}

/** What the price headers of a request mean against the price of what it asks for. */
export type CrawlerPriceCheck =
  /** Neither header: the crawler has not agreed to pay (a 402 quoting `crawler-price`). */
  | { kind: "none" }
  /** The crawler agreed to pay `charged` atomic units; answer with `crawler-charged`. */
  | { kind: "accepted"; charged: string }
  | { kind: "refused"; code: CrawlerErrorCode; status: number; reason: string };

/**
 * Checks `crawler-exact-price` / `crawler-max-price` against a price in atomic USDC units, as
 * Cloudflare does: exactly one header; the exact price must equal the price, the maximum must be
 * at least the price; the amount charged is always the price, never the ceiling.
 */
export function checkCrawlerPrice(headers: Headers, priceAtomic: string): CrawlerPriceCheck {
  const exactHeader = headers.get(CRAWLER_EXACT_PRICE);
  const maxHeader = headers.get(CRAWLER_MAX_PRICE);
  if (exactHeader === null && maxHeader === null) return { kind: "none" };
  if (exactHeader !== null && maxHeader !== null) {
    return refuse(
      "ConflictingPriceHeaders",
      `send ${CRAWLER_EXACT_PRICE} or ${CRAWLER_MAX_PRICE}, not both`,
    );
  }
  const name = exactHeader !== null ? CRAWLER_EXACT_PRICE : CRAWLER_MAX_PRICE;
  const offered = parseCrawlerPrice((exactHeader ?? maxHeader)!);
  if (!offered.ok) return refuse("InvalidCrawlerPriceValue", `${name}: ${offered.reason}`);
  if (!/^\d{1,30}$/.test(priceAtomic)) {
    return refuse("InvalidContentPrice", `the price "${priceAtomic}" is not an atomic amount`);
  }
  const price = BigInt(priceAtomic);
  const quoted = formatCrawlerPrice(priceAtomic);
  if (name === CRAWLER_EXACT_PRICE && (!offered.exact || offered.atomic !== price)) {
    return refuse("InvalidCrawlerExactPrice", `${name} does not equal the price ${quoted}`);
  }
  if (name === CRAWLER_MAX_PRICE && offered.atomic < price) {
    return refuse("InvalidCrawlerMaxPrice", `the price ${quoted} is above ${name}`);
  }
  return { kind: "accepted", charged: priceAtomic };
}

/**
 * The price headers a request carries that its signature does not cover. When a request is signed,
 * a price it agrees to must be signed too (docs/pay-per-crawl.md), or a replayed request could
 * raise the ceiling; a non-empty answer is refused as `InvalidSignature`.
 */
export function unsignedPriceHeaders(headers: Headers, covered: readonly string[]): string[] {
  return [CRAWLER_EXACT_PRICE, CRAWLER_MAX_PRICE].filter(
    (name) => headers.has(name) && !covered.includes(name),
  );
}

function refuse(code: CrawlerErrorCode, reason: string): CrawlerPriceCheck {
  return { kind: "refused", code, status: CRAWLER_ERRORS[code], reason };
}
