/**
 * The default stablecoin of each network the paywall can price in US dollars (registered with
 * the chain families in src/schemes), and the conversion of "$0.01" prices into atomic units.
 * Amounts are exact: no floating point.
 */

import { networkInfo } from "../schemes";
import type { TokenInfo } from "../schemes";

/** Networks with a known default USDC, for error messages (src/schemes/registry.ts). */
export { knownNetworks } from "../schemes";

/** A token a price is paid in (src/schemes/types.ts). */
export type Asset = TokenInfo;

/** A "$0.01"-style price in US dollars: a dollar sign and a decimal amount. */
export const USD_PRICE = /^\$\d+(\.\d+)?$/;

/** The default USDC of a CAIP-2 network, or undefined when the paywall knows none. */
export function defaultUsdc(network: string): Asset | undefined {
  return networkInfo(network)?.usdc;
}

/** The default USDC of `network`, or why `what` (a price table key) cannot be priced there. */
export function usdcFor(network: string, what: string): Asset | string {
  return defaultUsdc(network) ?? `${what} needs a network with a known USDC; ${network} has none`;
}

/** The x402 V1 network name of a CAIP-2 network, or undefined when V1 has none. */
export function v1NetworkName(network: string): string | undefined {
  return networkInfo(network)?.v1Name;
}

/**
 * Converts a "$1.25"-style price to atomic units of a token with `decimals` decimals.
 * Returns an error message instead of rounding when the price is finer than the token allows,
 * and refuses zero (a zero price is a free rule).
 */
export function usdToAtomic(
  price: string,
  decimals: number,
): { ok: true; amount: string } | { ok: false; reason: string } {
  const match = /^\$(\d+)(?:\.(\d+))?$/.exec(price);
  if (!match) return { ok: false, reason: `"${price}" is not a "$0.01"-style price` };
  const whole = match[1] ?? "0";
  const fraction = (match[2] ?? "").replace(/0+$/, "");
  if (fraction.length > decimals) {
    return { ok: false, reason: `"${price}" has more than ${decimals} decimal places` };
  }
  const amount = (whole + fraction.padEnd(decimals, "0")).replace(/^0+/, "");
  if (amount === "") return { ok: false, reason: `"${price}" is zero: use a free rule instead` };
  return { ok: true, amount };
}

/** Formats atomic units back to a dollar string ("10000", 6 → "$0.01") for people. */
export function atomicToUsd(amount: string, decimals: number): string {
  const padded = amount.padStart(decimals + 1, "0");
  const whole = padded.slice(0, padded.length - decimals);
  const fraction = padded.slice(padded.length - decimals).replace(/0+$/, "");
  return `$${whole}${fraction ? "." + fraction : ""}`;
}
