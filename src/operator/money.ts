import { atomicToUsd, defaultUsdc } from "../pricing";

/**
 * Amounts for people: atomic units of a network's default USDC shown as dollars, anything else
 * left in atomic units (the ledger never guesses a token's decimals).
 */

/** "$0.012" when `asset` is the network's USDC, otherwise null. */
export function usdOf(network: string, asset: string, amount: string): string | null {
  const usdc = defaultUsdc(network);
  if (!usdc || usdc.address.toLowerCase() !== asset.toLowerCase()) return null;
  return atomicToUsd(amount, usdc.decimals);
}

/** The amount for display: dollars for USDC, else "<atomic> of 0x1234…abcd". */
export function amountLabel(network: string, asset: string, amount: string): string {
  return usdOf(network, asset, amount) ?? `${amount} of ${asset.slice(0, 6)}…${asset.slice(-4)}`;
}

/** A block explorer link for a transaction, on networks with a well-known explorer. */
export function transactionUrl(network: string, transaction: string): string | undefined {
  const explorers: Record<string, string> = {
    "eip155:8453": "https://basescan.org/tx/",
    "eip155:84532": "https://sepolia.basescan.org/tx/",
    "eip155:1": "https://etherscan.io/tx/",
  };
  const base = explorers[network];
  return base && /^0x[0-9a-f]{64}$/i.test(transaction) ? `${base}${transaction}` : undefined;
}
