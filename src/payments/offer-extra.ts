import { offersOf } from "../pricing";
import type { Offer } from "../pricing";
import type { Facilitator } from "./facilitator";

/**
 * Completes a rule's offers with what only a facilitator can state (src/schemes): the fee payer
 * of a Solana offer, the settling address of an upto offer, read from the first facilitator in
 * the operator's order whose `/supported` listing has them (cached per isolate, so a 402 on
 * such a rule costs no call once warm). Offers that need nothing are returned as they are, at
 * no cost. An alternative no facilitator can complete is left out of the 402; a main offer that
 * cannot be completed makes the route unavailable (503), never a payment nobody can settle.
 */

/** An offer completed, or why it cannot be. */
export type CompletedOffer = { ok: true; offer: Offer } | { ok: false; reason: string };

/** The offer with every `fromFacilitator` key filled in, or why its main offer cannot be. */
export async function withFacilitatorExtra(
  offer: Offer,
  facilitator: Facilitator,
): Promise<CompletedOffer> {
  const all = offersOf(offer);
  if (all.every((one) => !one.fromFacilitator)) return { ok: true, offer };
  const [main, ...alternatives] = await Promise.all(all.map((one) => complete(one, facilitator)));
  if (main && !main.ok) return main;
  const completed = main?.offer ?? offer;
  const kept: Offer[] = [];
  for (const one of alternatives) {
    if (one.ok) kept.push(one.offer);
    else console.warn("an alsoAccept offer was left out of a 402:", one.reason);
  }
  return { ok: true, offer: offer.alternatives ? { ...completed, alternatives: kept } : completed };
}

async function complete(offer: Offer, facilitator: Facilitator): Promise<CompletedOffer> {
  const keys = offer.fromFacilitator;
  if (!keys) return { ok: true, offer };
  const kind = { x402Version: 2, scheme: offer.scheme, network: offer.network };
  const listed = await facilitator.listedExtra?.(kind, keys);
  if (!listed) {
    const reason = `no configured facilitator lists ${keys.join(" and ")} for ${offer.scheme} payments on ${offer.network}`;
    return { ok: false, reason };
  }
  const extra: Record<string, string> = { ...offer.extra };
  for (const key of keys) extra[key] = String(listed[key]);
  return { ok: true, offer: { ...offer, extra } };
}
