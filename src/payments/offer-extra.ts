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
  if (!offer.alternatives) return { ok: true, offer: completed };
  const parts = [completed, ...kept];
  const known = combined.get(offer);
  if (known && sameOffers(known.parts, parts)) return { ok: true, offer: known.offer };
  const whole = { ...completed, alternatives: kept };
  combined.set(offer, { parts, offer: whole });
  return { ok: true, offer: whole };
}

/**
 * The last completion of each compiled offer, kept while the facilitator lists the same values:
 * the same completed object every time, so its 402 texts are built once (src/x402
 * required-template.ts), not per request.
 */
const completions = new WeakMap<Offer, { listed: string; offer: Offer }>();
const combined = new WeakMap<Offer, { parts: readonly Offer[]; offer: Offer }>();

async function complete(offer: Offer, facilitator: Facilitator): Promise<CompletedOffer> {
  const keys = offer.fromFacilitator;
  if (!keys) return { ok: true, offer };
  const kind = { x402Version: 2, scheme: offer.scheme, network: offer.network };
  const listed = await facilitator.listedExtra?.(kind, keys);
  if (!listed) {
    const reason = `no configured facilitator lists ${keys.join(" and ")} for ${offer.scheme} payments on ${offer.network}`;
    return { ok: false, reason };
  }
  const values = keys.map((key) => String(listed[key]));
  const stamp = JSON.stringify(values);
  const known = completions.get(offer);
  if (known?.listed === stamp) return { ok: true, offer: known.offer };
  const extra: Record<string, string> = { ...offer.extra };
  keys.forEach((key, i) => (extra[key] = values[i]!));
  const completed = { ...offer, extra };
  completions.set(offer, { listed: stamp, offer: completed });
  return { ok: true, offer: completed };
}

function sameOffers(a: readonly Offer[], b: readonly Offer[]): boolean {
  return a.length === b.length && a.every((one, i) => one === b[i]);
}
