import { familyOf, schemeFor } from "../schemes";
import { atomicToUsd, defaultUsdc, knownNetworks, usdToAtomic } from "./assets";
import type { Brand } from "./brand";
import type { DiscoveryConfig } from "./discovery-terms";
import type { DynamicPrice } from "./dynamic-price";
import type { Metered } from "./metered";
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
  /** The x402 scheme: `exact`, or `upto` on metered rules (src/schemes). */
  scheme: string;
  network: string;
  amount: string;
  asset: string;
  payTo: string;
  maxTimeoutSeconds: number;
  /** The scheme's `extra` (an EVM token's EIP-712 domain, …), less what `fromFacilitator` adds. */
  extra: Readonly<Record<string, string>>;
  /**
   * `extra` keys only the facilitator can give (Solana's fee payer, upto's settling address),
   * filled in per request from its `/supported` listing (src/payments/offer-extra.ts).
   */
  fromFacilitator?: readonly string[];
  description: string;
  /** What the paywall page calls the content (the rule's `title`). */
  title?: string;
  /** The table's `brand`, for the paywall page. */
  brand?: Brand;
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
  /** The origin names the payee per request (`payee: {from: "origin"}`); `payTo` is "" till then. */
  payeeFromOrigin?: boolean;
  /** Metered use (`metered`, scheme `upto`): `amount` is the most a request may cost. */
  metered?: Metered;
}

/** An offer resolved from a rule's terms, or why it cannot be. */
export type ResolvedOffer = { ok: true; offer: Offer } | { ok: false; reason: string };

/**
 * Resolves a price with a rule's terms (falling back to defaults) for `scheme`, or says why it
 * cannot be: the network's family and scheme must be registered (src/schemes), the payee must be
 * an address there, and a "$0.01" price needs the network's known USDC.
 */
export function resolveOffer(
  price: NonNullable<Rule["price"]>,
  terms: Terms & { brand?: Brand | undefined },
  scheme = "exact",
  payeeFromOrigin = false,
): ResolvedOffer {
  const network = terms.network;
  if (!network)
    return {
      ok: false,
      reason: "no network: set one on the rule, in defaults, or the NETWORK variable",
    };
  const family = familyOf(network);
  if (!family)
    return {
      ok: false,
      reason: `${network}: no chain family is registered for this network's namespace`,
    };
  const module = schemeFor(scheme, network);
  if (!module) return { ok: false, reason: `the ${scheme} scheme is not available on ${network}` };
  // A payee the origin names is filled in per request; until then nothing can pay "".
  const payTo = payeeFromOrigin ? "" : terms.payTo;
  if (payTo === undefined || (!payeeFromOrigin && !payTo)) {
    return {
      ok: false,
      reason: "no payTo: set one on the rule, in defaults, or the PAY_TO variable",
    };
  }
  if (!payeeFromOrigin && !family.isAddress(payTo)) {
    return { ok: false, reason: `payTo ${payTo} is not ${family.addressHint} (${network})` };
  }
  const common = {
    scheme,
    network,
    payTo,
    ...(payeeFromOrigin && { payeeFromOrigin: true }),
    maxTimeoutSeconds: terms.maxTimeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS,
    description: terms.description ?? "",
    ...(terms.title !== undefined && { title: terms.title }),
    ...(terms.brand && { brand: terms.brand }),
    mimeType: terms.mimeType ?? "",
    ...(module.facilitatorExtra.length > 0 && { fromFacilitator: module.facilitatorExtra }),
    ...(terms.paymentIdentifier === "required" && { paymentIdRequired: true }),
    ...(terms.discovery && { discovery: terms.discovery }),
  };
  const usdc = defaultUsdc(network);
  if (typeof price !== "string") {
    if (!family.isAddress(price.asset)) {
      return {
        ok: false,
        reason: `asset ${price.asset} is not ${family.addressHint} (${network})`,
      };
    }
    const known = usdc && family.fold(usdc.address) === family.fold(price.asset) ? usdc : undefined;
    const stated = module.offerExtra({
      address: price.asset,
      decimals: known?.decimals ?? 0,
      ...(price.extra && { eip712: price.extra }),
    });
    if (!stated.ok) return stated;
    const display = known ? atomicToUsd(price.amount, known.decimals) : "";
    const offer = { ...common, amount: price.amount, asset: price.asset, extra: stated.extra };
    return { ok: true, offer: { ...offer, display } };
  }
  if (!usdc) {
    return {
      ok: false,
      reason: `no default USDC is known on ${network} (known: ${knownNetworks().join(", ")}); give the price as {amount, asset, extra}`,
    };
  }
  const amount = usdToAtomic(price, usdc.decimals);
  if (!amount.ok) return { ok: false, reason: amount.reason };
  const stated = module.offerExtra(usdc);
  if (!stated.ok) return stated;
  const extra = stated.extra;
  return {
    ok: true,
    offer: {
      ...common,
      amount: amount.amount,
      asset: usdc.address,
      extra,
      display: atomicToUsd(amount.amount, usdc.decimals),
    },
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
