/**
 * The two kinds of plug-in the paywall's payments are built from (x402 V2 spec §5–6): a chain
 * family (a CAIP-2 namespace: its address syntax and the networks whose USDC it knows) and a
 * payment scheme on that family (what its payload must say to pay an offer, who pays, and what
 * makes a payment unique). Adding a chain or a scheme is one module listed in registry.ts; the
 * request path never names one.
 */

/** A token a price can be paid in. */
export interface TokenInfo {
  /** Contract address (EVM) or mint (Solana), as the chain writes it. */
  address: string;
  decimals: number;
  /** The token's EIP-712 domain (EVM tokens signed for with EIP-3009 or Permit2). */
  eip712?: { name: string; version: string };
}

/** A network of a family, with its default USDC. */
export interface NetworkInfo {
  /** For people, e.g. "Base Sepolia". */
  label: string;
  usdc: TokenInfo;
  /** The network's x402 V1 name (1.x clients), when V1 knows it. */
  v1Name?: string;
}

/** A chain family: one CAIP-2 namespace. */
export interface ChainFamily {
  /** The CAIP-2 namespace, e.g. "eip155" or "solana". */
  namespace: string;
  /** True when `value` is an address on this family's chains. */
  isAddress(value: string): boolean;
  /** What an address looks like, for error messages. */
  addressHint: string;
  /** The form addresses are compared and stored in (EVM: lower case; Base58 is case-sensitive). */
  fold(address: string): string;
  /** Networks of this family the paywall can price in US dollars. */
  networks: Readonly<Record<string, NetworkInfo>>;
}

/** The parts of an offer a payload is checked against. */
export interface OfferedTerms {
  amount: string;
  asset: string;
  payTo: string;
  extra: Readonly<Record<string, unknown>>;
}

/** Who pays and what the chain lets move money only once (the at-most-once lock's key). */
export interface PayerIdentity {
  payer: string;
  /** Unique per payment for a payer and asset (an EIP-3009 nonce, a Permit2 nonce, …). */
  replayKey: string;
  /** When the signed payment stops being valid, in seconds since the epoch, if it says. */
  validUntil?: number;
}

/** A payment scheme on one chain family (`exact` on EVM, `upto` on EVM, `exact` on Solana). */
export interface SchemeModule {
  scheme: string;
  namespace: string;
  /** Whether x402 V1 (1.x) clients can pay it. */
  v1: boolean;
  /** Keys of `extra` only a facilitator can give (its fee payer, its settling address). */
  facilitatorExtra: readonly string[];
  /** The `extra` an offer of `token` states before the facilitator's keys, or why there is none. */
  offerExtra(
    token: TokenInfo,
  ): { ok: true; extra: Record<string, string> } | { ok: false; reason: string };
  /** Why the scheme payload does not pay exactly `offered`; undefined when it does. */
  check(payload: Record<string, unknown>, offered: OfferedTerms): string | undefined;
  /** The payer and replay key of a scheme payload, or why it has none. */
  identity(
    payload: Record<string, unknown>,
  ): { ok: true; identity: PayerIdentity } | { ok: false; reason: string };
}

/** Whether `value` is a plain object (not null, not an array). */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A plain object's fields, or none. */
export function fields(value: unknown): Record<string, unknown> {
  return isRecord(value) ? value : {};
}
