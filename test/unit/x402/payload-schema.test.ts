import fc from "fast-check";
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

describe("payment payload schemas on hostile input (randomised)", () => {
  /**
   * A key a hostile client would try: prototype names among ordinary ones (`constructor` apart:
   * see the next test).
   */
  const key = fc.constantFrom(
    "__proto__",
    "prototype",
    "toString",
    "hasOwnProperty",
    "authorization",
    "from",
    "url",
    "amount",
  );
  /** JSON values whose objects may have own `__proto__` keys, as JSON.parse makes them. */
  const hostile = fc
    .dictionary(key, fc.jsonValue({ maxDepth: 3 }), { maxKeys: 4 })
    .map((value) => JSON.parse(JSON.stringify(value)) as unknown);
  const field = fc.constantFrom(
    "x402Version",
    "resource",
    "accepted",
    "payload",
    "extensions",
    "__proto__",
  );
  const inherits = (value: unknown): boolean => {
    if (typeof value !== "object" || value === null) return false;
    const own = new Set(Object.keys(value));
    for (const name in value) if (!own.has(name)) return true;
    return Object.values(value).some(inherits);
  };

  it("should judge any mix of prototype keys and wrong types as the SDK does, never throwing and never yielding inherited members", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(field, fc.oneof(hostile, fc.jsonValue({ maxDepth: 2 }))), {
          maxLength: 3,
        }),
        fc.constantFrom<unknown>(v2, { ...v2, accepted: { ...accepted, extra: {} } }),
        (changes, base) => {
          const text = JSON.stringify(base).slice(0, -1);
          const members = changes.map(
            ([name, value]) => `,${JSON.stringify(name)}:${JSON.stringify(value)}`,
          );
          const value = JSON.parse(`${text}${members.join("")}}`) as unknown;
          const ours = PaymentPayloadV2Schema.safeParse(value);
          const sdk = SdkV2.safeParse(value);
          expect(ours.success).toBe(sdk.success);
          if (ours.success && sdk.success) {
            expect(JSON.stringify(ours.data)).toBe(JSON.stringify(sdk.data));
            expect(inherits(ours.data)).toBe(false);
          }
          expect(({} as Record<string, unknown>)["authorization"]).toBeUndefined();
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe("a payload object with a `constructor` member", () => {
  // Known divergence: Zod 4's record takes only "plain" objects, and an object whose own
  // `constructor` member is not a function is not one, so such a payload (which the SDK, and a
  // facilitator reading with it, take) is refused here, with the reason "Expected object,
  // received object", which tells the client nothing.
  it.fails(
    "should be taken as the SDK takes it (known hole: refused, 'Expected object, received object')",
    () => {
      const value = {
        ...v2,
        payload: JSON.parse('{"signature":"0x12","constructor":[]}') as unknown,
      };
      expect(SdkV2.safeParse(value).success).toBe(true);
      expect(PaymentPayloadV2Schema.safeParse(value).success).toBe(true);
    },
  );
});
