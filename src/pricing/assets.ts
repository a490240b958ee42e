/**
 * Networks the paywall can price in US dollars, with each one's default stablecoin, and the
 * conversion of "$0.01" prices into atomic units. Amounts are exact: no floating point.
 */

/** An EIP-3009 token as the `exact` scheme needs it (X402.md §3). */
export interface Asset {
  address: string;
  decimals: number;
  /** The token's EIP-712 domain, sent to clients as `extra`. */
  eip712: { name: string; version: string };
}

interface NetworkInfo {
  usdc: Asset;
  /** The network's V1 name (x402 1.x clients), when V1 knows it. */
  v1Name?: string;
}

const NETWORKS: Readonly<Record<string, NetworkInfo>> = {
  "eip155:8453": {
    usdc: {
      address: "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913",
      decimals: 6,
      eip712: { name: "USD Coin", version: "2" },
    },
    v1Name: "base",
  },
  "eip155:84532": {
    usdc: {
      address: "0x036CbD53842c5426634e7929541eC2318f3dCF7e",
      decimals: 6,
      eip712: { name: "USDC", version: "2" },
    },
    v1Name: "base-sepolia",
  },
};

/** The default USDC of a CAIP-2 network, or undefined when the paywall knows none. */
export function defaultUsdc(network: string): Asset | undefined {
  return NETWORKS[network]?.usdc;
}

/** The x402 V1 network name of a CAIP-2 network, or undefined when V1 has none. */
export function v1NetworkName(network: string): string | undefined {
  return NETWORKS[network]?.v1Name;
}

/** Networks with a known default USDC, for error messages. */
export function knownNetworks(): string[] {
  return Object.keys(NETWORKS);
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
