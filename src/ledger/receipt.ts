import type { SettleResponse } from "@x402/core/types";
import type { Offer } from "../pricing";
import { familyOf, schemeFor } from "../schemes";
import type { PayerIdentity } from "../schemes";

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
  /**
   * The price-table rule that priced it, by its stable name (src/pricing/rule-id.ts), e.g.
   * "weather-api" or "/api/*". Receipts recorded before rules had names keep "rules[3]".
   */
  rule: string;
  payer: string;
  payTo: string;
  amount: string;
  asset: string;
  /** CAIP-2 network, e.g. "eip155:8453". */
  network: string;
  /** Settlement transaction hash; null if the facilitator reported none. */
  transaction: string | null;
  /**
   * What the chain lets move money once: the EIP-3009 authorization nonce (`0x…`), a Permit2
   * nonce (`permit2:<n>`) or a Solana payer signature (`sig:<base58>`); null when unreadable.
   */
  nonce: string | null;
  /**
   * The paying crawler (pay-per-crawl) by name: the catalogue's (`GPTBot`), else its key
   * directory's host; "<name> (unverified)" for a User-Agent claim without a signature.
   */
  crawler: string | null;
  /**
   * The paying crawler's key (RFC 7638 thumbprint), when it signed; absent in receipts parked
   * before it was recorded.
   */
  crawlerKey?: string | null;
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
  crawler?: { name: string; key: string } | undefined;
  session?: string | undefined;
}

/**
 * The receipt of a settled payment. The terms come from the route's offer (what the payment was
 * checked against, in CAIP-2 form for V1 payments too), the payer from the settlement, falling
 * back on the verified payer and then the authorization's `from`.
 */
export function receiptOf(paid: SettledPayment, now: number = Date.now()): Receipt {
  const { offer } = paid.match;
  const claimed = claimOf(paid.paymentPayload, offer);
  const fold = familyOf(offer.network)?.fold ?? ((address: string) => address.toLowerCase());
  const payer = paid.settlement.payer ?? paid.payer ?? claimed?.payer ?? "";
  return {
    time: now,
    host: paid.url.hostname,
    path: paid.forwardPath,
    rule: paid.match.rule,
    payer: fold(payer),
    payTo: fold(offer.payTo),
    amount: offer.amount,
    asset: fold(offer.asset),
    network: offer.network,
    transaction: paid.settlement.transaction ? fold(paid.settlement.transaction) : null,
    nonce: claimed?.replayKey ?? null,
    crawler: paid.crawler?.name ?? null,
    crawlerKey: paid.crawler?.key || null,
    session: paid.session ?? null,
    x402Version: paid.x402Version,
  };
}

/** A key naming the payment itself (its transaction, else its nonce), for parked receipts. */
export function paymentKey(receipt: Receipt): string {
  const ref = receipt.transaction ?? `${receipt.payer}:${receipt.nonce ?? receipt.time}`;
  return `${receipt.network}:${ref}`;
}

/** A receipt read back from its JSON, or undefined when `raw` is none or not one. */
export function parseReceipt(raw: string | null): Receipt | undefined {
  if (raw === null) return undefined;
  try {
    const value = JSON.parse(raw) as Partial<Receipt> | null;
    return typeof value?.payer === "string" && typeof value.amount === "string"
      ? (value as Receipt)
      : undefined;
  } catch {
    return undefined;
  }
}

/** Who the payload says pays, and its replay key (an EIP-3009 nonce, …; src/schemes). */
function claimOf(payload: unknown, offer: Offer): PayerIdentity | undefined {
  const inner = (payload as { payload?: unknown } | null)?.payload;
  if (typeof inner !== "object" || inner === null) return undefined;
  const identity = schemeFor(offer.scheme, offer.network)?.identity(
    inner as Record<string, unknown>,
  );
  return identity?.ok ? identity.identity : undefined;
}
