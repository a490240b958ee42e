import type { SettleResponse } from "@x402/core/types";
import type { Offer } from "../pricing";

/**
 * A receipt: one settled payment, as the ledger keeps it. Addresses, the transaction hash and
 * the nonce are lower-case so the uniqueness rules (one receipt per transaction, one per
 * EIP-3009 authorization nonce of a payer and token) cannot be dodged by letter case.
 */

/** One settled payment. Amounts are atomic units of `asset`, as decimal strings. */
export interface Receipt {
  /** When the settlement was confirmed, ms since the epoch. */
  time: number;
  host: string;
  /** The canonical path paid for (the query string is not kept). */
  path: string;
  /** The price-table rule that priced it, e.g. "rules[3]". */
  rule: string;
  payer: string;
  payTo: string;
  amount: string;
  asset: string;
  /** CAIP-2 network, e.g. "eip155:8453". */
  network: string;
  /** Settlement transaction hash; null if the facilitator reported none. */
  transaction: string | null;
  /** The EIP-3009 authorization nonce; null for a payload without one. */
  nonce: string | null;
  /** The paying crawler's identity (pay-per-crawl), when it is one. */
  crawler: string | null;
  /** The session scope this payment opened, when the rule sells passes. */
  session: string | null;
  x402Version: number;
}

/** What the paid path knows once a payment has settled. */
export interface SettledPayment {
  url: URL;
  forwardPath: string;
  match: { rule: string; offer: Offer };
  paymentPayload: unknown;
  x402Version: number;
  settlement: SettleResponse;
  payer: string | undefined;
  crawler?: string | undefined;
  session?: string | undefined;
}

/**
 * The receipt of a settled payment. The terms come from the route's offer (what the payment was
 * checked against, in CAIP-2 form for V1 payments too), the payer from the settlement, falling
 * back on the verified payer and then the authorization's `from`.
 */
export function receiptOf(paid: SettledPayment, now: number = Date.now()): Receipt {
  const authorization = authorizationOf(paid.paymentPayload);
  const payer = paid.settlement.payer ?? paid.payer ?? authorization.from ?? "";
  return {
    time: now,
    host: paid.url.hostname,
    path: paid.forwardPath,
    rule: paid.match.rule,
    payer: payer.toLowerCase(),
    payTo: paid.match.offer.payTo.toLowerCase(),
    amount: paid.match.offer.amount,
    asset: paid.match.offer.asset.toLowerCase(),
    network: paid.match.offer.network,
    transaction: paid.settlement.transaction ? paid.settlement.transaction.toLowerCase() : null,
    nonce: authorization.nonce?.toLowerCase() ?? null,
    crawler: paid.crawler ?? null,
    session: paid.session ?? null,
    x402Version: paid.x402Version,
  };
}

/** A key naming the payment itself (its transaction, else its nonce), for parked receipts. */
export function paymentKey(receipt: Receipt): string {
  const ref = receipt.transaction ?? `${receipt.payer}:${receipt.nonce ?? receipt.time}`;
  return `${receipt.network}:${ref}`;
}

function authorizationOf(payload: unknown): { from?: string; nonce?: string } {
  const inner = (payload as { payload?: { authorization?: unknown } } | null)?.payload;
  const authorization = inner?.authorization as Record<string, unknown> | undefined;
  const text = (value: unknown) => (typeof value === "string" ? value : undefined);
  const result: { from?: string; nonce?: string } = {};
  const from = text(authorization?.["from"]);
  const nonce = text(authorization?.["nonce"]);
  if (from) result.from = from;
  if (nonce) result.nonce = nonce;
  return result;
}
