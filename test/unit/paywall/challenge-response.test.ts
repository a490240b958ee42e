import { decodePaymentRequiredHeader } from "@x402/core/http";
import { PaymentRequiredV2Schema, PaymentRequirementsV1Schema } from "@x402/core/schemas";
import { PaymentRequirementsSchema } from "x402/types";
import { describe, expect, it } from "vitest";
import { challengeResponse, prefersHtml } from "../../../src/paywall/challenge-response.ts";
import { PAYMENT_NEEDED, requirementsV1, requirementsV2 } from "../../../src/x402/index.ts";
import { OFFER, RESOURCE_URL } from "../fixtures.ts";

function paymentRequired(response: Response): unknown {
  const header = response.headers.get("PAYMENT-REQUIRED");
  if (header === null) throw new Error("no PAYMENT-REQUIRED header");
  return decodePaymentRequiredHeader(header);
}

describe("challengeResponse", () => {
  it("should answer 402 with a V2 PAYMENT-REQUIRED header", () => {
    const response = challengeResponse({ offer: OFFER, resourceUrl: RESOURCE_URL, html: false });
    expect(response.status).toBe(402);
    const required = paymentRequired(response);
    expect(required).toStrictEqual({
      x402Version: 2,
      resource: { url: RESOURCE_URL, description: "A paid article", mimeType: "text/html" },
      accepts: [requirementsV2(OFFER)],
    });
    expect(PaymentRequiredV2Schema.safeParse(required).success).toBe(true);
  });

  it("should put the refusal reason in the header's error", () => {
    const response = challengeResponse({
      offer: OFFER,
      resourceUrl: RESOURCE_URL,
      error: "accepted.amount does not match what this resource offers",
      html: false,
    });
    expect(paymentRequired(response)).toMatchObject({
      x402Version: 2,
      error: "accepted.amount does not match what this resource offers",
    });
  });

  it("should never be cached and expose the payment headers to browsers", () => {
    const response = challengeResponse({ offer: OFFER, resourceUrl: RESOURCE_URL, html: false });
    expect(response.headers.get("Cache-Control")).toBe("no-store");
    expect(response.headers.get("Vary")).toBe("Accept");
    expect(response.headers.get("Access-Control-Expose-Headers")).toContain("PAYMENT-REQUIRED");
  });

  it("should carry a V1 JSON body for x402 1.x clients", async () => {
    const response = challengeResponse({ offer: OFFER, resourceUrl: RESOURCE_URL, html: false });
    expect(response.headers.get("Content-Type")).toBe("application/json");
    const stated: Record<string, unknown> = { ...requirementsV1(OFFER, RESOURCE_URL) };
    delete stated["outputSchema"];
    expect(await response.json()).toStrictEqual({
      x402Version: 1,
      error: PAYMENT_NEEDED,
      accepts: [stated],
    });
  });

  it("should name the V2 and the V1 payment header in the V1 body, not X-PAYMENT alone", async () => {
    const response = challengeResponse({ offer: OFFER, resourceUrl: RESOURCE_URL, html: false });
    const { error } = (await response.json()) as { error: string };
    expect(error).toContain("PAYMENT-SIGNATURE header (x402 V2");
    expect(error).toContain("X-PAYMENT header (x402 V1");
    expect(error).not.toMatch(/^X-PAYMENT header is required$/);
  });

  it("should state no empty outputSchema in the V1 body, which x402 1.x clients still parse", async () => {
    const response = challengeResponse({ offer: OFFER, resourceUrl: RESOURCE_URL, html: false });
    const body = (await response.json()) as { accepts: Array<Record<string, unknown>> };
    expect(body.accepts).toHaveLength(1);
    expect(body.accepts[0]).not.toHaveProperty("outputSchema");
    // x402-fetch 1.x parses each entry with this schema before paying; @x402/core's V1 too.
    expect(PaymentRequirementsSchema.safeParse(body.accepts[0]).success).toBe(true);
    expect(PaymentRequirementsV1Schema.safeParse(body.accepts[0]).success).toBe(true);
  });

  it("should put the refusal reason in the V1 body's error", async () => {
    const response = challengeResponse({
      offer: OFFER,
      resourceUrl: RESOURCE_URL,
      error: "payload.signature is missing",
      html: false,
    });
    expect(await response.json()).toMatchObject({ error: "payload.signature is missing" });
  });

  it("should offer nothing to V1 clients on a network V1 does not know, but still to V2", async () => {
    const offer = { ...OFFER, network: "eip155:999999" };
    const response = challengeResponse({ offer, resourceUrl: RESOURCE_URL, html: false });
    expect(await response.json()).toMatchObject({ x402Version: 1, accepts: [] });
    expect(paymentRequired(response)).toMatchObject({ accepts: [{ network: "eip155:999999" }] });
  });

  it("should add the extra headers it is given", () => {
    const response = challengeResponse({
      offer: OFFER,
      resourceUrl: RESOURCE_URL,
      html: false,
      headers: { "PAYMENT-RESPONSE": "abc" },
    });
    expect(response.headers.get("PAYMENT-RESPONSE")).toBe("abc");
  });

  it("should answer a browser with an HTML page showing the price", async () => {
    const response = challengeResponse({ offer: OFFER, resourceUrl: RESOURCE_URL, html: true });
    expect(response.status).toBe(402);
    expect(response.headers.get("Content-Type")).toBe("text/html; charset=utf-8");
    expect(response.headers.get("PAYMENT-REQUIRED")).not.toBeNull();
    const page = await response.text();
    expect(page).toContain('<p class="price">$0.01</p>');
    expect(page).toContain('<p id="x402-about">A paid article</p>');
    expect(page).not.toContain('class="error"');
  });

  it("should escape the description and the error in the HTML page", async () => {
    const offer = { ...OFFER, description: `<script>alert("x")</script>` };
    const response = challengeResponse({
      offer,
      resourceUrl: RESOURCE_URL,
      error: `<img src=x onerror='alert(1)'>&`,
      html: true,
    });
    const page = await response.text();
    expect(page).not.toContain("<script>alert");
    expect(page).not.toContain("<img");
    expect(page).toContain("&#60;script&#62;alert(&#34;x&#34;)&#60;/script&#62;");
    expect(page).toContain("&#60;img src=x onerror=&#39;alert(1)&#39;&#62;&#38;");
  });

  it("should show atomic units and the name from the URL when there is no dollar price or description", async () => {
    const offer = { ...OFFER, display: "", description: "" };
    const page = await challengeResponse({ offer, resourceUrl: RESOURCE_URL, html: true }).text();
    expect(page).toContain(`10000 units of ${OFFER.asset}`);
    expect(page).toContain('<h1 id="x402-title">Paid</h1>');
  });
});

describe("prefersHtml", () => {
  it.each([
    ["text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", true],
    ["text/html, application/json", true],
    ["text/html", true],
    ["application/json, text/html", false],
    ["application/json", false],
    ["*/*", false],
    ["", false],
    ["text/html;q=0, application/json", false],
    ["application/json;q=0.5, text/html", true],
    ["text/html;q=0.4, application/json;q=0.8", false],
  ])("should read %j as %s", (accept, expected) => {
    expect(prefersHtml(accept)).toBe(expected);
  });

  it("should not prefer HTML without an Accept header", () => {
    expect(prefersHtml(null)).toBe(false);
  });
});
