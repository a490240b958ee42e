import {
  createSIWxMessage,
  createSIWxPayload,
  encodeSIWxHeader,
  parseSIWxHeader,
} from "@x402/extensions/sign-in-with-x";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { describe, expect, it } from "vitest";
import { siweMessage } from "../../../src/sessions/siwe.ts";
import { checkSiwx, siwxChallenge } from "../../../src/sessions/siwx.ts";
import type { SiwxContext } from "../../../src/sessions/siwx.ts";

/** Sign-in-with-x proofs made by the official client code, checked against our challenge. */

const SECRET = "unit-test-session-secret-0123456789abcdef";
const account = privateKeyToAccount(generatePrivateKey());

describe("sign-in-with-x proofs", () => {
  const context = (now = Date.now()): SiwxContext => ({
    url: new URL("https://shop.example/api/pass/a"),
    resourceUrl: "https://shop.example/api/pass/a",
    network: "eip155:84532",
    scope: "route:shop.example * * /api/pass/*",
    secret: SECRET,
    statement: "Sign in to use the access you already paid for",
    now,
  });

  /** A proof made by the official client code from our challenge. */
  async function officialProof(ctx: SiwxContext, signer = account): Promise<string> {
    const extension = await siwxChallenge(ctx);
    if (!extension) throw new Error("no challenge");
    const chain = extension.supportedChains[0]!;
    const info = { ...extension.info, chainId: chain.chainId, type: chain.type };
    const payload = await createSIWxPayload(info, signer, ctx.url);
    return encodeSIWxHeader(payload);
  }

  it("should format the same EIP-4361 message as the official client", async () => {
    const extension = await siwxChallenge(context());
    const info = { ...extension!.info, chainId: "eip155:84532", type: "eip191" as const };
    const ours = siweMessage({ ...info, address: account.address, chainId: 84532 });
    expect(ours).toBe(createSIWxMessage(info, account.address));
    const bare = { ...info, statement: undefined, expirationTime: undefined, resources: undefined };
    expect(siweMessage({ ...bare, address: account.address, chainId: 84532 })).toBe(
      createSIWxMessage(bare, account.address),
    );
  });

  it("should accept a proof the official client made from our challenge", async () => {
    const ctx = context();
    const result = await checkSiwx(await officialProof(ctx), ctx);
    expect(result).toMatchObject({ ok: true, address: account.address });
  });

  it.each([
    ["another secret", (c: SiwxContext) => ({ ...c, secret: "x".repeat(40) }), "not issued"],
    ["another scope", (c: SiwxContext) => ({ ...c, scope: "group:x" }), "for this resource"],
    [
      "another host",
      (c: SiwxContext) => ({ ...c, url: new URL("https://evil.example/a") }),
      "domain",
    ],
    ["another chain", (c: SiwxContext) => ({ ...c, network: "eip155:8453" }), "chain"],
    ["a later time", (c: SiwxContext) => ({ ...c, now: (c.now ?? 0) + 6 * 60_000 }), "fresh"],
  ])("should refuse a proof checked against %s", async (_, change, reason) => {
    const ctx = context();
    const result = await checkSiwx(await officialProof(ctx), change(ctx));
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toContain(reason);
  });

  it("should refuse a proof whose signed fields were changed", async () => {
    const ctx = context();
    const payload = parseSIWxHeader(await officialProof(ctx));
    const changed = encodeSIWxHeader({ ...payload, statement: "Something else" });
    expect(await checkSiwx(changed, ctx)).toEqual({
      ok: false,
      reason: "the proof's signature was not made by its address",
    });
  });

  it.each([
    ["garbage", "not base64 JSON"],
    [btoa("{}"), "domain"],
    [btoa(JSON.stringify({ signature: "0x12" })), "header"],
    ["A".repeat(9000), "larger than"],
  ])("should refuse the malformed header %#", async (header, reason) => {
    const result = await checkSiwx(header, context());
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toContain(reason);
  });
});
