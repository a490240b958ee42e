import { decodePaymentRequiredHeader, encodePaymentRequiredHeader } from "@x402/core/http";
import { PaymentRequiredV2Schema } from "@x402/core/schemas";
import { validateDiscoveryExtension } from "@x402/extensions/bazaar";
import type { DiscoveryExtension } from "@x402/extensions/bazaar";
import { describe, expect, it } from "vitest";
import { bazaarExtension } from "../../../src/discovery/bazaar.ts";
import type { Offer } from "../../../src/pricing/index.ts";
import {
  extensionMembers,
  paymentRequiredV1,
  paymentRequiredV2,
  requiredTemplate,
} from "../../../src/x402/index.ts";
import { BASE_MAINNET, OFFER, RESOURCE_URL, USDC_BASE_MAINNET } from "../fixtures.ts";

/**
 * The 402 texts built once per offer (src/x402/required-template.ts): the same bytes as the
 * objects serialised whole, for any URL, refusal and extensions, and shared by every request.
 */

const OFFERS: Record<string, Offer> = {
  plain: OFFER,
  unicode: { ...OFFER, description: 'Café ☕ — 記事 🎉 "quoted" \\ </script>' },
  bare: { ...OFFER, description: "", mimeType: "" },
  "other networks": {
    ...OFFER,
    alternatives: [{ ...OFFER, network: BASE_MAINNET, asset: USDC_BASE_MAINNET }],
  },
  "no V1 name": { ...OFFER, network: "eip155:999999" },
  "spells the URL slot": { ...OFFER, description: "\u0000resource-url\u0000" },
};
const URLS = [RESOURCE_URL, 'https://example.com/a?q="x"&r=\\', "https://example.com/%E2%82%AC"];
const ERRORS = [undefined, "", "accepted.amount does not match", "Übersicht \u2028 \u0000"];
const EXTENSIONS = [
  undefined,
  { "payment-identifier": { info: { required: false }, schema: { type: "object" } } },
  { a: { info: { statement: "Übersicht" } }, b: { info: { nonce: "abc" }, schema: {} } },
];

describe("requiredTemplate", () => {
  it("should serialise exactly as paymentRequiredV2 and paymentRequiredV1 do", () => {
    for (const [name, offer] of Object.entries(OFFERS)) {
      const template = requiredTemplate(offer);
      for (const url of URLS) {
        for (const error of ERRORS) {
          for (const extensions of EXTENSIONS) {
            const members = extensions ? extensionMembers(extensions) : "";
            const whole = paymentRequiredV2(offer, url, error, extensions);
            expect(template.json(url, error, members), name).toBe(JSON.stringify(whole));
            expect(template.header(url, error, members), name).toBe(
              encodePaymentRequiredHeader(whole),
            );
          }
          expect(template.bodyV1(url, error), name).toBe(
            JSON.stringify(paymentRequiredV1(offer, url, error)),
          );
        }
      }
    }
  });

  it("should build an offer's texts once, and each request's differ only in its own parts", () => {
    expect(requiredTemplate(OFFER)).toBe(requiredTemplate(OFFER));
    const template = requiredTemplate(OFFERS["other networks"]!);
    const first = "https://example.com/articles/one";
    const second = "https://example.com/articles/two?page=2";
    const masked = (text: string, url: string) => text.split(JSON.stringify(url)).join("URL");
    expect(masked(template.json(first, undefined, ""), first)).toBe(
      masked(template.json(second, undefined, ""), second),
    );
    expect(masked(template.bodyV1(first, undefined), first)).toBe(
      masked(template.bodyV1(second, undefined), second),
    );
    // The V1 body names the resource in each of its two offers.
    expect(template.bodyV1(first, undefined).split(first)).toHaveLength(3);
  });

  it("should give a copy of an offer (another price) its own texts", () => {
    const dearer = { ...OFFER, amount: "20000", display: "$0.02" };
    expect(requiredTemplate(dearer)).not.toBe(requiredTemplate(OFFER));
    const required = decodePaymentRequiredHeader(
      requiredTemplate(dearer).header(RESOURCE_URL, undefined, ""),
    );
    expect(required.accepts[0]?.amount).toBe("20000");
  });

  it("should leave an empty description and mime type out of V2 and keep them in V1", () => {
    const bare = OFFERS["bare"]!;
    const json = JSON.parse(requiredTemplate(bare).json(RESOURCE_URL, undefined, "")) as unknown;
    expect(json).toMatchObject({ resource: { url: RESOURCE_URL } });
    expect((json as { resource: object }).resource).toStrictEqual({ url: RESOURCE_URL });
    expect(PaymentRequiredV2Schema.safeParse(json).success).toBe(true);
    const v1 = JSON.parse(requiredTemplate(bare).bodyV1(RESOURCE_URL, undefined)) as {
      accepts: Array<Record<string, unknown>>;
    };
    expect(v1.accepts[0]).toMatchObject({ description: "", mimeType: "" });
  });
});

describe("extension schemas without $schema", () => {
  it("should still validate bazaar with the official validator (Ajv's 2020-12 default)", () => {
    const extension = bazaarExtension(OFFER, "GET")!;
    const { $schema, ...schema } = extension.schema;
    expect($schema).toBe("https://json-schema.org/draft/2020-12/schema");
    const lean = { ...extension, schema } as unknown as DiscoveryExtension;
    expect(validateDiscoveryExtension(lean)).toEqual({ valid: true });
    // And the schema is still applied: an `info` it forbids is refused.
    const wrong = { ...lean, info: { input: { type: "http", method: "GET", extra: 1 } } };
    expect(validateDiscoveryExtension(wrong as unknown as DiscoveryExtension).valid).toBe(false);
  });
});
