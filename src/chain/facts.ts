/**
 * What a proof from the chain is asked and answers: the facts of one payment, the verdict, the
 * search's limits, and the token events both proofs read (proof.ts for EIP-3009, permit2-proof.ts
 * for Permit2).
 */

/** What the proof needs to know of a payment. */
export interface TransferFacts {
  /** The token contract (lower- or mixed-case 0x address). */
  asset: string;
  payer: string;
  payTo: string;
  /** Atomic units, decimal string. */
  amount: string;
  /** The EIP-3009 nonce, 0x + 64 hex. */
  nonce: string;
  /** The authorization's `validBefore`, seconds since the epoch. */
  validBefore: number;
  /**
   * The authorization's `validAfter`, seconds since the epoch: no block at or before it can
   * hold its use, so the log search starts there. Absent: the search covers the last
   * `maxLogBlocks` blocks, and finding nothing there proves nothing.
   */
  validAfter?: number | undefined;
  /** A settlement transaction hash a facilitator reported, if any. */
  transaction?: string | undefined;
  /**
   * Set for a Permit2 permit (`upto`; src/chain/permit2-proof.ts): then `nonce` is the permit's
   * nonce as a word, `validBefore` its deadline, `validAfter` its witness's, `amount` the
   * permitted maximum and `charged` the amount its settlement asked for, when known.
   */
  permit2?: { charged?: string | undefined } | undefined;
}

/** The verdict of the chain. */
export type Proof =
  /** This authorization moved `amount` from payer to payTo in `transaction`. */
  | { type: "paid"; transaction: string }
  /**
   * It never will: `cancelled` (AuthorizationCanceled), `diverted` (used without this
   * transfer), `expired` (past validBefore, never used: the payer may pay anew).
   */
  | { type: "unpaid"; why: "cancelled" | "diverted" | "expired"; reason: string }
  /** No proof either way (RPC down, not mined yet, logs not found); `unused`: the chain says so. */
  | { type: "unknown"; reason: string; unused?: boolean };

/** Limits of one proof. */
export interface ProofOptions {
  /** The most blocks the log search covers back from the latest (default 100,000). */
  maxLogBlocks?: number;
}

/** The log search's default span: about 55 hours of Base (2 s blocks), 14 days of Ethereum. */
export const DEFAULT_MAX_LOG_BLOCKS = 100_000;

/** Event topics and the `authorizationState(address,bytes32)` selector (FiatToken V2). */
export const TRANSFER_TOPIC = "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef";
export const AUTHORIZATION_USED_TOPIC =
  "0x98de503528ee59b575ef0c0a2576a82497bfc029a5685b209e9ec333479b10a5";
export const AUTHORIZATION_CANCELED_TOPIC =
  "0x1cdd46ff242716cdaa72d159d339a485b3438398348d68f09d7c8c0a59353d81";
