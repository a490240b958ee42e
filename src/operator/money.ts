import { atomicToUsd, defaultUsdc } from "../pricing";

/**
 * Amounts for people: atomic units of a network's default USDC shown as dollars, anything else
 * left in atomic units (the ledger never guesses a token's decimals; static/dashboard.js shows
 * those as "<atomic> of 0x1234…abcd").
 */

/** "$0.012" when `asset` is the network's USDC, otherwise null. */
export function usdOf(network: string, asset: string, amount: string): string | null {
  const usdc = defaultUsdc(network);
  if (!usdc || usdc.address.toLowerCase() !== asset.toLowerCase()) return null;
  return atomicToUsd(amount, usdc.decimals);
}
