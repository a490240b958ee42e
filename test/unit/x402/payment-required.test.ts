import { PaymentRequirementsV1Schema } from "@x402/core/schemas";
import { describe, expect, it } from "vitest";
import { requirementsV1, requirementsV2 } from "../../../src/x402/index.ts";
import { BASE_MAINNET, OFFER, PAY_TO, RESOURCE_URL, USDC_BASE_SEPOLIA } from "../fixtures.ts";

describe("requirementsV2", () => {
  it("should carry exactly the seven fields a V2 payment must accept", () => {
    expect(requirementsV2(OFFER)).toStrictEqual({
      scheme: "exact",
      network: "eip155:84532",
      amount: "10000",
      asset: USDC_BASE_SEPOLIA,
      payTo: PAY_TO,
      maxTimeoutSeconds: 60,
      extra: { name: "USDC", version: "2" },
    });
  });

  it("should copy extra so callers cannot change the compiled offer", () => {
    const requirements = requirementsV2(OFFER);
    (requirements.extra as Record<string, unknown>)["name"] = "changed";
    expect(OFFER.extra.name).toBe("USDC");
  });
});

describe("requirementsV1", () => {
  it("should use the V1 network name and name the resource", () => {
    expect(requirementsV1(OFFER, RESOURCE_URL)).toStrictEqual({
      scheme: "exact",
      network: "base-sepolia",
      maxAmountRequired: "10000",
      resource: RESOURCE_URL,
      description: "A paid article",
      mimeType: "text/html",
      outputSchema: {},
      payTo: PAY_TO,
      maxTimeoutSeconds: 60,
      asset: USDC_BASE_SEPOLIA,
      extra: { name: "USDC", version: "2" },
    });
  });

  it("should satisfy the x402 V1 requirements schema", () => {
    expect(PaymentRequirementsV1Schema.safeParse(requirementsV1(OFFER, RESOURCE_URL)).success).toBe(
      true,
    );
  });

  it("should call Base mainnet 'base'", () => {
    expect(requirementsV1({ ...OFFER, network: BASE_MAINNET }, RESOURCE_URL)?.network).toBe("base");
  });

  it("should have no V1 requirements on a network V1 does not know", () => {
    expect(requirementsV1({ ...OFFER, network: "eip155:999999" }, RESOURCE_URL)).toBeUndefined();
  });
});
