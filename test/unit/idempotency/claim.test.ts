import { describe, expect, it } from "vitest";
import { paymentIdentity, paymentIdOf, stableJson } from "../../../src/idempotency/claim.ts";

/** The pure part of the at-most-once lock: what identifies a payment. */

const FROM = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
const NONCE = `0x${"ab".repeat(32)}`;
const ASSET = "0x036CbD53842c5426634e7929541eC2318f3dCF7e";

function payload(authorization: Record<string, unknown> = {}, extensions?: unknown) {
  return {
    x402Version: 2,
    payload: {
      signature: "0x11",
      authorization: { from: FROM, nonce: NONCE, validBefore: "2000000000", ...authorization },
    },
    ...(extensions !== undefined && { extensions }),
  };
}

const facts = (paymentPayload: unknown, paymentIdRequired = false) => ({
  paymentPayload,
  scheme: "exact",
  network: "eip155:84532",
  asset: ASSET,
  resource: "https://shop.example/api/x",
  paymentIdRequired,
});

describe("paymentIdentity", () => {
  it("should key a payment by its payer, asset and authorization nonce", async () => {
    const identity = await paymentIdentity(facts(payload()), 1_000);
    expect(identity).toMatchObject({
      ok: true,
      payer: FROM.toLowerCase(),
      claim: {
        key: `${ASSET.toLowerCase()}|${NONCE}`,
        paymentId: undefined,
        validUntil: 1_000 + 7 * 24 * 3600_000,
      },
    });
  });

  it("should keep a short authorization's record only as long as it is valid", async () => {
    const identity = await paymentIdentity(facts(payload({ validBefore: "100" })), 0);
    expect(identity.ok && identity.claim.validUntil).toBe(100_000);
  });

  it("should hash the same payload the same however its keys are ordered", async () => {
    const a = await paymentIdentity(facts({ b: 1, ...payload() }));
    const b = await paymentIdentity(facts({ ...payload(), b: 1 }));
    const c = await paymentIdentity(facts({ ...payload(), b: 2 }));
    if (!a.ok || !b.ok || !c.ok) throw new Error("refused");
    expect(a.claim.payloadHash).toBe(b.claim.payloadHash);
    expect(a.claim.payloadHash).not.toBe(c.claim.payloadHash);
  });

  it.each([
    [payload({ from: "nobody" }), "from address"],
    [payload({ nonce: "0x12" }), "32-byte hex nonce"],
    [{ payload: "not an object" }, "from address"],
    [payload({}, { "payment-identifier": { info: { id: "short" } } }), "16 to 128"],
  ])("should refuse a payment it cannot identify (%#)", async (body, reason) => {
    const identity = await paymentIdentity(facts(body));
    expect(identity.ok).toBe(false);
    if (!identity.ok) expect(identity.reason).toContain(reason);
  });

  it("should require a payment id where the rule says so", async () => {
    const identity = await paymentIdentity(facts(payload(), true));
    expect(identity).toMatchObject({ ok: false });
    const id = "pay_0123456789abcdef";
    const withId = payload({}, { "payment-identifier": { info: { required: true, id } } });
    expect(await paymentIdentity(facts(withId, true))).toMatchObject({
      ok: true,
      claim: { paymentId: id },
    });
  });
});

describe("paymentIdOf and stableJson", () => {
  it("should read the id only from the payment-identifier extension", () => {
    expect(paymentIdOf({})).toEqual({ type: "none" });
    expect(
      paymentIdOf({ extensions: { "payment-identifier": { info: { required: false } } } }),
    ).toEqual({ type: "none" });
    expect(paymentIdOf({ extensions: { "payment-identifier": { info: { id: 42 } } } }).type).toBe(
      "invalid",
    );
  });

  it("should sort keys at every depth and drop undefined values", () => {
    expect(stableJson({ b: [{ d: 1, c: 2 }], a: undefined, e: null })).toBe(
      '{"b":[{"c":2,"d":1}],"e":null}',
    );
  });
});
