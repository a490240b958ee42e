import {
  PaymentPayloadV1Schema as SdkV1,
  PaymentPayloadV2Schema as SdkV2,
} from "@x402/core/schemas";
import { describe, expect, it } from "vitest";
import {
  PaymentPayloadV1Schema,
  PaymentPayloadV2Schema,
} from "../../../src/x402/payload-schema.ts";

/** The payload schemas restated in Zod Mini, held to the SDK's for the same inputs. */

const accepted = {
  scheme: "exact",
  network: "eip155:84532",
  amount: "1000",
  asset: "0x036CbD53842c5426634e7929541eC2318f3dCF7e",
  payTo: "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC",
  maxTimeoutSeconds: 60,
  extra: { name: "USDC", version: "2" },
};
const v2 = {
  x402Version: 2,
  resource: { url: "http://127.0.0.1/a", description: "a", mimeType: "text/plain" },
  accepted,
  payload: { signature: "0x12", authorization: { from: "0x1" } },
};

const V2_CASES: unknown[] = [
  v2,
  { ...v2, unknown: 1, accepted: { ...accepted, unknown: 2 } },
  { ...v2, resource: undefined },
  { ...v2, resource: null },
  { ...v2, resource: { url: "u", description: null, tags: ["a", "b"], serviceName: "Shop" } },
  { ...v2, resource: { url: "" } },
  { ...v2, resource: { url: "u", serviceName: "line\nbreak" } },
  { ...v2, resource: { url: "u", tags: ["1", "2", "3", "4", "5", "6"] } },
  { ...v2, resource: { url: "u", iconUrl: "x".repeat(2049) } },
  { ...v2, extensions: null },
  { ...v2, extensions: { "payment-identifier": { id: "x" } } },
  { ...v2, extensions: [] },
  { ...v2, x402Version: 1 },
  { ...v2, accepted: { ...accepted, network: "base" } },
  { ...v2, accepted: { ...accepted, network: "a:" } },
  { ...v2, accepted: { ...accepted, maxTimeoutSeconds: 0 } },
  { ...v2, accepted: { ...accepted, maxTimeoutSeconds: "60" } },
  { ...v2, accepted: { ...accepted, amount: "" } },
  { ...v2, accepted: { ...accepted, extra: null } },
  { ...v2, accepted: { ...accepted, extra: [1] } },
  { ...v2, accepted: { ...accepted, payTo: undefined } },
  { ...v2, payload: [] },
  { ...v2, payload: "0x12" },
  { ...v2, accepted: undefined },
  null,
  [],
];

const V1_CASES: unknown[] = [
  { x402Version: 1, scheme: "exact", network: "base-sepolia", payload: { signature: "0x1" } },
  { x402Version: 1, scheme: "exact", network: "base-sepolia", payload: {}, unknown: true },
  { x402Version: 1, scheme: "", network: "base-sepolia", payload: {} },
  { x402Version: 1, scheme: "exact", payload: {} },
  { x402Version: 1, scheme: "exact", network: "base", payload: "0x1" },
  { x402Version: 2, scheme: "exact", network: "base", payload: {} },
];

describe("payment payload schemas", () => {
  it.each(V2_CASES.map((value) => [JSON.stringify(value), value]))(
    "should judge the V2 payload %s as the SDK does",
    (_, value) => {
      const ours = PaymentPayloadV2Schema.safeParse(value);
      const sdk = SdkV2.safeParse(value);
      expect(ours.success).toBe(sdk.success);
      if (ours.success && sdk.success) expect(ours.data).toStrictEqual(sdk.data);
      if (!ours.success && !sdk.success) {
        expect(ours.error.issues[0]?.path).toEqual(sdk.error.issues[0]?.path);
      }
    },
  );

  it.each(V1_CASES.map((value) => [JSON.stringify(value), value]))(
    "should judge the V1 payload %s as the SDK does",
    (_, value) => {
      const ours = PaymentPayloadV1Schema.safeParse(value);
      const sdk = SdkV1.safeParse(value);
      expect(ours.success).toBe(sdk.success);
      if (ours.success && sdk.success) expect(ours.data).toStrictEqual(sdk.data);
      if (!ours.success && !sdk.success) {
        expect(ours.error.issues[0]?.path).toEqual(sdk.error.issues[0]?.path);
      }
    },
  );
});
