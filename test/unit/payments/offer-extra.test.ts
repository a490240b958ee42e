import { describe, expect, it } from "vitest";
import { withFacilitatorExtra } from "../../../src/payments/offer-extra.ts";
import type { Facilitator } from "../../../src/payments/index.ts";
import type { Offer } from "../../../src/pricing/index.ts";
import { BASE_MAINNET, OFFER, USDC_BASE_MAINNET } from "../fixtures.ts";

/**
 * Offers completed with what the facilitator lists (src/payments/offer-extra.ts): the same
 * completed object while the listing is the same, so its 402 texts are built once.
 */

const UPTO: Offer = { ...OFFER, scheme: "upto", fromFacilitator: ["facilitatorAddress"] };

/** A facilitator whose `/supported` listing says `listed`, changed by the test. */
function listing(listed: Record<string, unknown>): Facilitator & { listed: typeof listed } {
  const fake = {
    listed,
    verify: () => Promise.reject(new Error("not called")),
    settle: () => Promise.reject(new Error("not called")),
    listedExtra: () => Promise.resolve(fake.listed),
  };
  return fake as unknown as Facilitator & { listed: typeof listed };
}

async function completed(offer: Offer, facilitator: Facilitator): Promise<Offer> {
  const result = await withFacilitatorExtra(offer, facilitator);
  if (!result.ok) throw new Error(result.reason);
  return result.offer;
}

describe("withFacilitatorExtra", () => {
  it("should give the same completed offer while the facilitator lists the same values", async () => {
    const facilitator = listing({ facilitatorAddress: "0xF1" });
    const first = await completed(UPTO, facilitator);
    expect(first.extra).toMatchObject({ facilitatorAddress: "0xF1" });
    expect(await completed(UPTO, facilitator)).toBe(first);
  });

  it("should complete the offer anew when the listing changes", async () => {
    const offer = { ...UPTO };
    const facilitator = listing({ facilitatorAddress: "0xF1" });
    const first = await completed(offer, facilitator);
    facilitator.listed = { facilitatorAddress: "0xF2" };
    const second = await completed(offer, facilitator);
    expect(second).not.toBe(first);
    expect(second.extra).toMatchObject({ facilitatorAddress: "0xF2" });
  });

  it("should keep an offer with alternatives the same object too", async () => {
    const other = { ...UPTO, network: BASE_MAINNET, asset: USDC_BASE_MAINNET };
    const offer = { ...UPTO, alternatives: [other] };
    const facilitator = listing({ facilitatorAddress: "0xF1" });
    const first = await completed(offer, facilitator);
    expect(first.alternatives?.[0]?.extra).toMatchObject({ facilitatorAddress: "0xF1" });
    expect(await completed(offer, facilitator)).toBe(first);
  });

  it("should return an offer that needs nothing as it is", async () => {
    expect(await completed(OFFER, listing({}))).toBe(OFFER);
  });
});
