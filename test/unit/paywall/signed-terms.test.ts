import { describe, expect, it } from "vitest";
import {
  QUOTE_TTL_SECONDS,
  SIGNED_QUOTE,
  checkSignature,
  quoteSignature,
  signTerms,
} from "../../../src/paywall/signed-terms.ts";
import type { QuoteBinding, QuotedTerms } from "../../../src/paywall/signed-terms.ts";
import { OFFER, OTHER_ADDRESS, RESOURCE_URL } from "../fixtures.ts";

/** The paywall's signature on origin-quoted terms: bound to every term and to the request. */

const SECRET = "unit-test-quote-secret-0123456789abcdef";
const BINDING: QuoteBinding = { resourceUrl: RESOURCE_URL, method: "GET", rule: "rules[0]" };
const NOW = 1_800_000_000_000;

async function signedOffer() {
  const signed = await signTerms(OFFER, BINDING, SECRET, NOW);
  return { signed, value: signed.extra[SIGNED_QUOTE] };
}

describe("signTerms", () => {
  it("should add a compact signature with an expiry to extra and keep the rest", async () => {
    const { signed, value } = await signedOffer();
    expect(value).toMatch(/^\d+\.[A-Za-z0-9_-]{43}$/);
    expect(Number(value!.split(".")[0])).toBe(NOW / 1000 + QUOTE_TTL_SECONDS);
    expect(signed).toEqual({ ...OFFER, extra: { ...OFFER.extra, [SIGNED_QUOTE]: value } });
  });

  it("should last as long as the offer's timeout when that is longer", async () => {
    const long = await signTerms({ ...OFFER, maxTimeoutSeconds: 900 }, BINDING, SECRET, NOW);
    expect(Number(long.extra[SIGNED_QUOTE]!.split(".")[0])).toBe(NOW / 1000 + 900);
  });

  it("should replace an earlier signature", async () => {
    const { signed } = await signedOffer();
    const again = await signTerms(signed, BINDING, SECRET, NOW + 1000);
    expect(Object.keys(again.extra)).toEqual(Object.keys(signed.extra));
    expect(again.extra[SIGNED_QUOTE]).not.toBe(signed.extra[SIGNED_QUOTE]);
  });
});

describe("checkSignature", () => {
  it("should accept the terms it signed for the same request before the expiry", async () => {
    const { value } = await signedOffer();
    expect(await checkSignature(OFFER, value, BINDING, SECRET, NOW + 1000)).toEqual({ ok: true });
  });

  it.each<[string, Partial<QuotedTerms>]>([
    ["amount", { amount: "9999" }],
    ["payTo", { payTo: OTHER_ADDRESS }],
    ["asset", { asset: OTHER_ADDRESS }],
    ["network", { network: "eip155:8453" }],
    ["scheme", { scheme: "upto" }],
  ])("should refuse the signature on another %s", async (_, change) => {
    const { value } = await signedOffer();
    const check = await checkSignature({ ...OFFER, ...change }, value, BINDING, SECRET, NOW);
    expect(check).toMatchObject({ ok: false, reason: "invalid" });
  });

  it.each<[string, Partial<QuoteBinding>]>([
    ["resource", { resourceUrl: `${RESOURCE_URL}/other` }],
    ["query", { resourceUrl: `${RESOURCE_URL}?page=2` }],
    ["method", { method: "POST" }],
    ["rule", { rule: "rules[1]" }],
  ])("should refuse the signature for another %s", async (_, change) => {
    const { value } = await signedOffer();
    const check = await checkSignature(OFFER, value, { ...BINDING, ...change }, SECRET, NOW);
    expect(check).toMatchObject({ ok: false, reason: "invalid" });
  });

  it("should refuse a signature made with another secret", async () => {
    const { value } = await signedOffer();
    const check = await checkSignature(OFFER, value, BINDING, `${SECRET}-rotated`, NOW);
    expect(check).toMatchObject({ ok: false, reason: "invalid" });
  });

  it("should refuse a later expiry written over a genuine signature", async () => {
    const { value } = await signedOffer();
    const [, mac] = value!.split(".");
    const later = `${NOW / 1000 + 86_400}.${mac}`;
    expect(await checkSignature(OFFER, later, BINDING, SECRET, NOW)).toMatchObject({
      ok: false,
      reason: "invalid",
    });
  });

  it("should call a genuine signature past its expiry expired", async () => {
    const value = await quoteSignature(OFFER, BINDING, SECRET, NOW / 1000);
    expect(await checkSignature(OFFER, value, BINDING, SECRET, NOW)).toMatchObject({
      ok: false,
      reason: "expired",
    });
  });

  it.each([undefined, 42, "", "1.abc", `${"9".repeat(13)}.${"A".repeat(43)}`, { a: 1 }])(
    "should refuse the carried value %j without throwing",
    async (carried) => {
      const check = await checkSignature(OFFER, carried, BINDING, SECRET, NOW);
      expect(check.ok).toBe(false);
    },
  );
});
