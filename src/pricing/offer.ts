import { atomicToUsd, defaultUsdc, knownNetworks, usdToAtomic } from "./assets";
import type { DiscoveryConfig } from "./discovery-terms";
import type { DynamicPrice } from "./dynamic-price";
import type { OriginPrice } from "./origin-price";
import { foldCase } from "./path";
import type { Rule, Terms } from "./schema";
import type { SessionTerms } from "./session-terms";

/**
 * A priced rule's offer, resolved once per table version: the terms a 402 states and a payment
 * must match, USD prices turned into exact atomic units of the network's USDC. Also the path
 * pattern syntax the matcher compiles.
 */

const DEFAULT_TIMEOUT_SECONDS = 60;

/** The fully resolved payment terms of a priced rule: what a 402 offers and a payment must match. */
export interface Offer {
  scheme: "exact";
  network: string;
  amount: string;
  asset: string;
  payTo: string;
  maxTimeoutSeconds: number;
  extra: { name: string; version: string };
  description: string;
  mimeType: string;
  /** The price for people, e.g. "$0.01", when the asset's decimals are known. */
  display: string;
  /** Present when one payment buys repeat access (a session). */
  session?: SessionTerms;
  /** Payments must carry a `payment-identifier` (the rule's `paymentIdentifier: "required"`). */
  paymentIdRequired?: boolean;
  /** How to call the resource and what it returns (bazaar discovery). */
  discovery?: DiscoveryConfig;
  /** The same rule payable on other networks (`alsoAccept`), offered after this one. */
  alternatives?: Offer[];
  /** The price follows the request (`dynamicPrice`); `amount` is then its maximum. */
  dynamic?: DynamicPrice;
  /** The origin quotes the price (`originPrice`); `amount` is then the maximum it may quote. */
  quote?: OriginPrice;
}

/** Resolves a price with a rule's terms (falling back to defaults), or says why it cannot be. */
export function resolveOffer(price: NonNullable<Rule["price"]>, terms: Terms): Offer | string {
  const network = terms.network;
  if (!network) return "no network: set one on the rule, in defaults, or the NETWORK variable";
  const payTo = terms.payTo;
  if (!payTo) return "no payTo: set one on the rule, in defaults, or the PAY_TO variable";
  const common = {
    scheme: "exact" as const,
    network,
    payTo,
    maxTimeoutSeconds: terms.maxTimeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS,
    description: terms.description ?? "",
    mimeType: terms.mimeType ?? "",
    ...(terms.paymentIdentifier === "required" && { paymentIdRequired: true }),
    ...(terms.discovery && { discovery: terms.discovery }),
  };
  if (typeof price !== "string") {
    const usdc = defaultUsdc(network);
    const knownDecimals = usdc?.address.toLowerCase() === price.asset.toLowerCase();
    const display = knownDecimals ? atomicToUsd(price.amount, usdc.decimals) : "";
    return { ...common, amount: price.amount, asset: price.asset, extra: price.extra, display };
  }
  const usdc = defaultUsdc(network);
  if (!usdc) {
    return `no default USDC is known on ${network} (known: ${knownNetworks().join(", ")}); give the price as {amount, asset, extra}`;
  }
  const amount = usdToAtomic(price, usdc.decimals);
  if (!amount.ok) return amount.reason;
  return {
    ...common,
    amount: amount.amount,
    asset: usdc.address,
    extra: usdc.eip712,
    display: atomicToUsd(amount.amount, usdc.decimals),
  };
}

/** The fields of `value` that are set. */
export function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** Every way to pay an offer: itself, then its alternatives. */
export function offersOf(offer: Offer): Offer[] {
  return offer.alternatives ? [offer, ...offer.alternatives] : [offer];
}

/**
 * Pattern syntax: literal segments, `:name` for one segment, a trailing `/*` for the prefix
 * itself and everything below it, a trailing `*` for any continuation of the string.
 */
export function compilePattern(pattern: string, caseSensitive: boolean): RegExp {
  let body = foldCase(pattern.normalize("NFKC"), caseSensitive);
  let tail = "";
  if (body.endsWith("/*")) {
    body = body.slice(0, -2);
    tail = "(?:/.*)?";
  } else if (body.endsWith("*")) {
    body = body.slice(0, -1);
    tail = ".*";
  } else if (body.length > 1 && body.endsWith("/")) {
    body = body.slice(0, -1);
  }
  const source = body
    .split("/")
    .map((segment) => (segment.startsWith(":") ? "[^/]+" : escapeRegExp(segment)))
    .join("/");
  return new RegExp(`^${source}${tail}$`, "s");
}
