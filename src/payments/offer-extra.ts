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

/** The offer with every `fromFacilitator` key filled in, or why its main offer cannot be. */
export async function withFacilitatorExtra(
  offer: Offer,
  facilitator: Facilitator,
): Promise<Offer | string> {
  const all = offersOf(offer);
  if (all.every((one) => !one.fromFacilitator)) return offer;
  const completed = await Promise.all(all.map((one) => complete(one, facilitator)));
  const [main = offer, ...alternatives] = completed;
  if (typeof main === "string") return main;
  const kept = alternatives.filter((one): one is Offer => typeof one !== "string");
  for (const one of alternatives) {
    if (typeof one === "string") console.warn("an alsoAccept offer was left out of a 402:", one);
  }
  return offer.alternatives ? { ...main, alternatives: kept } : main;
}

async function complete(offer: Offer, facilitator: Facilitator): Promise<Offer | string> {
  const keys = offer.fromFacilitator;
  if (!keys) return offer;
  const kind = { x402Version: 2, scheme: offer.scheme, network: offer.network };
  const listed = await facilitator.listedExtra?.(kind, keys);
  if (!listed) {
    return `no configured facilitator lists ${keys.join(" and ")} for ${offer.scheme} payments on ${offer.network}`;
  }
  const extra: Record<string, string> = { ...offer.extra };
  for (const key of keys) extra[key] = String(listed[key]);
  return { ...offer, extra };
}
