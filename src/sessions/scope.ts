import { canonicalHost } from "../pricing";
import type { Offer, SessionTerms } from "../pricing";

/**
 * What a request asks a session for: its scope and the price it would otherwise cost. A session
 * opens a request only for the same scope and only if what was paid covers this price, so a
 * session bought on a $0.01 route never opens a $0.25 one, even within one group.
 */

/** The price a session was bought at, or a request would cost. */
export interface HeldPrice {
  network: string;
  asset: string;
  /** Atomic units, a decimal string. */
  amount: string;
}

/** The scope key and price of one request on a session route. */
export interface Want extends HeldPrice {
  /** `route:<host> <rule>`, `resource:<host><path>` or `group:<name>`. */
  scope: string;
  /** The same request's prices on the rule's other networks (`alsoAccept`). */
  also?: HeldPrice[] | undefined;
}

/** The parts of a rule's session terms that make its scope key. */
export type ScopeTerms = Pick<SessionTerms, "scope" | "routeKey" | "caseSensitive">;

/**
 * The scope key of a request. `route`: the request's host and the rule's identity (host,
 * methods, pattern), so one pass covers every path of the rule; `resource`: host and normalised
 * match path, so every spelling of one path shares it; `group:<name>`: shared table-wide. The
 * host is canonical (lower case, no trailing dot), as the matcher reads it.
 */
export function scopeKey(terms: ScopeTerms, host: string, matchPath: string): string {
  if (terms.scope.startsWith("group:")) return terms.scope;
  if (terms.scope === "resource") {
    const path = terms.caseSensitive ? matchPath : matchPath.toLowerCase();
    return `resource:${canonicalHost(host)}${path}`;
  }
  return `route:${canonicalHost(host)} ${terms.routeKey}`;
}

/** What a request on this session-selling offer wants from a session. */
export function wantFor(offer: Offer, terms: ScopeTerms, host: string, matchPath: string): Want {
  const scope = scopeKey(terms, host, matchPath);
  const want: Want = { scope, network: offer.network, asset: offer.asset, amount: offer.amount };
  if (offer.alternatives) {
    want.also = offer.alternatives.map((o) => ({
      network: o.network,
      asset: o.asset,
      amount: o.amount,
    }));
  }
  return want;
}

/**
 * Why `held` does not open `want`, or undefined when it does: what was paid covers the request's
 * price on the network and asset it was paid in (the main price or an `alsoAccept` one).
 */
export function priceMismatch(
  held: HeldPrice,
  want: HeldPrice & { also?: HeldPrice[] | undefined },
): string | undefined {
  const main = mismatch(held, want);
  if (main === undefined) return undefined;
  for (const other of want.also ?? []) if (mismatch(held, other) === undefined) return undefined;
  return main;
}

function mismatch(held: HeldPrice, want: HeldPrice): string | undefined {
  if (held.network !== want.network || held.asset.toLowerCase() !== want.asset.toLowerCase()) {
    return `the session was paid in ${held.asset} on ${held.network}, this route is priced in ${want.asset} on ${want.network}`;
  }
  if (BigInt(held.amount) < BigInt(want.amount)) {
    return `the session was bought for ${held.amount} atomic units, this route costs ${want.amount}`;
  }
  return undefined;
}
