import { paymentIdentity } from "../idempotency";
import type { PreparedPayment } from "../payments";
import type { Settled } from "./paid-request";

/**
 * The names a settled crawl-credit top-up is credited under (src/credit/store.ts `topUp`):
 * the credit store counts it once whichever of them it comes by.
 *
 * A settlement's reference (settle-once.ts `referenceOf`) is its transaction, or, when the
 * receipt names none, its authorization; a payment credited under one and concluded later
 * under the other (a receipt without a transaction whose "settled" record was lost, then
 * proven from the chain) would be credited twice. So a top-up is always named by its
 * authorization first, `network:authorization:<payer>|<asset>|<nonce>` (the payer and the
 * payment's claim key in the lock, src/idempotency/claim.ts, read from the payment itself, so
 * every path knows it, with or without the lock), then by its transaction when the reference
 * names one. The payer is part of the name: an authorization's nonce is unique per payer and
 * token only, and one key may buy credit from several wallets (two of them choosing the same
 * nonce are two payments). The reference's own authorization form names no payer, so it is not
 * a name here. The store compares names without case: a facilitator may spell a transaction
 * hash in upper case where the chain spells it in lower.
 */
export async function topUpNames(
  prepared: Extract<PreparedPayment, { type: "ready" }>,
  settled: Settled,
): Promise<string[]> {
  const { offer } = prepared;
  const identity = await paymentIdentity({
    paymentPayload: prepared.request.paymentPayload,
    scheme: offer.scheme,
    network: offer.network,
    asset: offer.asset,
    resource: "",
    paymentIdRequired: false,
  });
  // Not readable here: the payment could not have been claimed either, so no path named it by
  // its authorization (referenceOf's "authorization:unknown" is no name of it).
  if (!identity.ok) return [settled.reference];
  const authorization = `${offer.network}:authorization:${identity.payer}|${identity.claim.key}`;
  const names = [authorization];
  // A reference without a transaction is the authorization without its payer: no name of it.
  if (!settled.reference.includes(":authorization:")) names.push(settled.reference);
  return names;
}
