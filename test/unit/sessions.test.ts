import {
  createSIWxMessage,
  createSIWxPayload,
  encodeSIWxHeader,
  parseSIWxHeader,
} from "@x402/extensions/sign-in-with-x";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { describe, expect, it } from "vitest";
import { parsePriceTable } from "../../src/pricing/index.ts";
import { durationSeconds } from "../../src/pricing/session-terms.ts";
import {
  cookieName,
  readToken,
  sessionCookie,
  stripSessionCredentials,
} from "../../src/sessions/carrier.ts";
import { checkNonce, issueNonce } from "../../src/sessions/nonce.ts";
import { priceMismatch, scopeKey } from "../../src/sessions/scope.ts";
import { siweMessage } from "../../src/sessions/siwe.ts";
import { checkSiwx, siwxChallenge } from "../../src/sessions/siwx.ts";
import type { SiwxContext } from "../../src/sessions/siwx.ts";
import { hashToken, newToken, parseToken } from "../../src/sessions/token.ts";
import { PAY_TO } from "./fixtures.ts";

/** The pure parts of sessions: terms, scopes, tokens, cookies, nonces and SIWx proofs. */

const SECRET = "unit-test-session-secret-0123456789abcdef";
const OBJECT_ID = "ab".repeat(32);
const account = privateKeyToAccount(generatePrivateKey());

describe("session terms in the price table", () => {
  const table = (session: unknown) => ({
    defaults: { network: "eip155:84532", payTo: PAY_TO },
    rules: [{ path: "/api/*", price: "$0.01", session }],
  });

  it("should read durations in seconds, minutes, hours and days", () => {
    expect(durationSeconds("90s")).toBe(90);
    expect(durationSeconds("30m")).toBe(1800);
    expect(durationSeconds("1h")).toBe(3600);
    expect(durationSeconds("7d")).toBe(604_800);
    expect(durationSeconds(45)).toBe(45);
    expect(durationSeconds("1w")).toBeUndefined();
    expect(durationSeconds("0s")).toBeUndefined();
  });

  it.each([
    [{}, 'needs "ttl", "uses" or both'],
    [{ ttl: "forever" }, "must be a duration"],
    [{ ttl: "400d" }, "at most 365d"],
    [{ uses: 0 }, "rules[0].session.uses"],
    [{ uses: 1.5 }, "rules[0].session.uses"],
    [{ ttl: "1h", scope: "group:" }, 'must be "route", "resource" or "group:<name>"'],
    [{ ttl: "1h", extra: true }, "rules[0].session"],
  ])("should refuse session %j with a reason", (session, reason) => {
    const result = parsePriceTable(table(session));
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.errors.join("\n")).toContain(reason);
  });

  it("should refuse session terms on a free rule", () => {
    const result = parsePriceTable({ rules: [{ path: "/x", free: true, session: { uses: 2 } }] });
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.errors.join("\n")).toContain("has no meaning on a free rule");
  });
});

describe("scopes and prices", () => {
  const terms = { routeKey: "* GET /articles/:slug", caseSensitive: false };

  it("should key a route scope by host and rule, a resource scope by path, a group by name", () => {
    expect(scopeKey({ ...terms, scope: "route" }, "Example.com", "/articles/a")).toBe(
      "route:example.com * GET /articles/:slug",
    );
    expect(scopeKey({ ...terms, scope: "resource" }, "example.com", "/Articles/A")).toBe(
      "resource:example.com/articles/a",
    );
    expect(
      scopeKey({ ...terms, scope: "resource", caseSensitive: true }, "example.com", "/A"),
    ).toBe("resource:example.com/A");
    expect(scopeKey({ ...terms, scope: "group:pro" }, "example.com", "/x")).toBe("group:pro");
  });

  it("should key a host with a trailing dot as the same host without it", () => {
    for (const scope of ["route", "resource"] as const) {
      expect(scopeKey({ ...terms, scope }, "Example.COM.", "/articles/a")).toBe(
        scopeKey({ ...terms, scope }, "example.com", "/articles/a"),
      );
    }
  });

  it("should let a session open only routes priced at or below what was paid, in its asset", () => {
    const held = { network: "eip155:84532", asset: "0xAbC", amount: "10000" };
    expect(priceMismatch(held, { ...held, amount: "10000" })).toBeUndefined();
    expect(priceMismatch(held, { ...held, asset: "0xabc", amount: "9999" })).toBeUndefined();
    expect(priceMismatch(held, { ...held, amount: "250000" })).toContain("this route costs 250000");
    expect(priceMismatch(held, { ...held, network: "eip155:8453" })).toContain("eip155:8453");
    expect(priceMismatch(held, { ...held, asset: "0xdef" })).toContain("0xdef");
  });
});

describe("session tokens", () => {
  it("should name its object and carry 256 random bits", () => {
    const a = newToken(OBJECT_ID);
    const b = newToken(OBJECT_ID);
    expect(a).not.toBe(b);
    expect(parseToken(a)).toEqual({ token: a, objectId: OBJECT_ID });
    expect(parseToken(` ${a} `)?.objectId).toBe(OBJECT_ID);
  });

  it.each([
    "",
    "x402s1",
    `x402s1.${OBJECT_ID}`,
    `x402s2.${OBJECT_ID}.${"a".repeat(43)}`,
    `x402s1.${"g".repeat(64)}.${"a".repeat(43)}`,
    `x402s1.${OBJECT_ID}.${"a".repeat(42)}`,
  ])("should not parse %j", (text) => {
    expect(parseToken(text)).toBeUndefined();
  });

  it("should store a token as its SHA-256", async () => {
    expect(await hashToken("abc")).toBe(
      "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
    );
  });
});

describe("session cookies", () => {
  it("should give each scope its own HttpOnly Secure cookie", () => {
    expect(cookieName("group:a")).not.toBe(cookieName("group:b"));
    expect(sessionCookie("group:a", "T", 59.9)).toBe(
      `${cookieName("group:a")}=T; Path=/; HttpOnly; Secure; SameSite=Lax; Max-Age=59`,
    );
  });

  it("should read the header first, then the scope's cookie", () => {
    const name = cookieName("group:a");
    expect(readToken(new Headers({ Cookie: `a=1; ${name}=C` }), "group:a")).toBe("C");
    expect(readToken(new Headers({ Cookie: `${name}=C` }), "group:b")).toBeUndefined();
    const both = new Headers({ Cookie: `${name}=C`, "PAYMENT-SESSION": "H" });
    expect(readToken(both, "group:a")).toBe("H");
  });

  it("should strip every session credential and keep the other cookies", () => {
    const headers = new Headers({
      Cookie: `theme=dark; ${cookieName("x")}=T; lang=pt; ${cookieName("y")}=U`,
      "PAYMENT-SESSION": "H",
    });
    stripSessionCredentials(headers);
    expect(headers.get("Cookie")).toBe("theme=dark; lang=pt");
    expect(headers.has("PAYMENT-SESSION")).toBe(false);
    const only = new Headers({ Cookie: `${cookieName("x")}=T` });
    stripSessionCredentials(only);
    expect(only.has("Cookie")).toBe(false);
  });
});

describe("SIWx nonces", () => {
  it("should accept its own nonce for its binding until it expires", async () => {
    const now = Date.now();
    const nonce = await issueNonce(SECRET, "host\nscope", 60_000, now);
    expect(nonce).toMatch(/^[0-9a-f]{96}$/);
    expect(await checkNonce(SECRET, nonce, "host\nscope", now)).toMatchObject({ ok: true });
    expect(await checkNonce(SECRET, nonce, "host\nother", now)).toMatchObject({ ok: false });
    expect(
      await checkNonce("another-secret-0123456789abcdefghij", nonce, "host\nscope", now),
    ).toMatchObject({ ok: false });
    expect(await checkNonce(SECRET, nonce, "host\nscope", now + 61_000)).toEqual({
      ok: false,
      reason: "the nonce has expired; sign a fresh one",
    });
  });

  it("should refuse a nonce whose expiry was moved", async () => {
    const nonce = await issueNonce(SECRET, "b", 1000, 0);
    const extended = "ffffffff" + nonce.slice(8);
    expect(await checkNonce(SECRET, extended, "b", 0)).toMatchObject({ ok: false });
  });
});

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
