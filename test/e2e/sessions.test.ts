import { setTimeout as sleep } from "node:timers/promises";
import { generatePrivateKey } from "viem/accounts";
import { describe, expect, it } from "vitest";
import { PAYER } from "../../dev/chain.ts";
import { payingFetchV2, receiptOf } from "../../dev/clients.ts";
import { DEV_SECRETS } from "../../dev/stack.ts";
import { balances, headersOf, useStack } from "./stack.ts";

/**
 * Sessions on the real stack: the official `@x402/fetch` client pays once (the chain moves
 * once), then comes back with the `PAYMENT-SESSION` token or signs in with the official SIWx hook
 * (`createSIWxClientHook`) and pays nothing until the session's uses or time run out.
 */

const PASS_PRICE = 2000n; // "$0.002"
const BASIC_PRICE = 5000n; // "$0.005"
const FULL_PRICE = 20000n; // "$0.02"

const stack = useStack({
  prices: {
    version: "e2e-sessions",
    defaults: { network: "eip155:84532" },
    rules: [
      { path: "/api/pass/*", price: "$0.002", session: { ttl: "1h", uses: 5 } },
      { path: "/api/burst/*", price: "$0.002", session: { uses: 11 } },
      { path: "/api/brief/*", price: "$0.002", session: { ttl: "3s" } },
      { path: "/api/revocable/*", price: "$0.002", session: { ttl: "1h" } },
      { path: "/api/pro/basic/*", price: "$0.005", session: { ttl: "1h", scope: "group:pro" } },
      { path: "/api/pro/*", price: "$0.02", session: { ttl: "1h", scope: "group:pro" } },
      { path: "/api/*", price: "$0.001" },
    ],
    default: { free: true },
  },
});

const url = (path: string) => `${stack.get().workerUrl}${path}`;
const withToken = (token: string) => ({ headers: { "PAYMENT-SESSION": token } });

/** A paying client that records every request it sends. */
function recordingClient(options: { siwx?: boolean; key?: `0x${string}` } = {}) {
  const sent: Headers[] = [];
  const base: typeof fetch = (input, init) => {
    sent.push(headersOf(input, init));
    return fetch(input, init);
  };
  return { pay: payingFetchV2(options.key ?? PAYER.privateKey, base, options), sent };
}

async function errorOf(response: Response): Promise<string> {
  const header = response.headers.get("PAYMENT-REQUIRED");
  expect(header).toBeTruthy();
  return (JSON.parse(atob(header!)) as { error?: string }).error ?? "";
}

describe("session tokens", () => {
  it("should charge once, serve the rest of the uses free, then ask to pay again", async () => {
    const start = await balances(stack.get());
    const first = await payingFetchV2(PAYER.privateKey)(url("/api/pass/one"));
    expect(first.status).toBe(200);
    expect(receiptOf(first)).toMatchObject({ success: true });
    const token = first.headers.get("PAYMENT-SESSION");
    expect(token).toMatch(/^x402s1\./);
    expect(first.headers.get("PAYMENT-SESSION-REMAINING")).toBe("4");
    expect(first.headers.get("Set-Cookie")).toMatch(/HttpOnly; Secure; SameSite=Lax/);
    const paid = await balances(stack.get());
    expect(start.payer - paid.payer).toBe(PASS_PRICE);
    expect(paid.payTo - start.payTo).toBe(PASS_PRICE);

    // Four more uses, on other paths of the same rule: no 402, no payment, the origin serves.
    for (const [i, path] of ["/api/pass/two", "/api/pass/three", "/api/pass/four"].entries()) {
      const response = await fetch(url(path), withToken(token!));
      expect(response.status).toBe(200);
      expect(receiptOf(response)).toBeUndefined();
      expect(response.headers.get("PAYMENT-SESSION-REMAINING")).toBe(String(3 - i));
      expect(((await response.json()) as { payer: string }).payer).toBe(PAYER.address);
    }
    const last = await payingFetchV2(PAYER.privateKey)(url("/api/pass/one"), withToken(token!));
    expect(last.status).toBe(200);
    expect(receiptOf(last)).toBeUndefined();
    expect(stack.get().originHits("/api/pass/one")).toBe(2);
    expect(await balances(stack.get())).toEqual(paid);

    const spent = await fetch(url("/api/pass/one"), withToken(token!));
    expect(spent.status).toBe(402);
    expect(await errorOf(spent)).toContain("no uses left");
    expect(stack.get().originHits("/api/pass/one")).toBe(2);

    const again = await payingFetchV2(PAYER.privateKey)(url("/api/pass/one"), withToken(token!));
    expect(again.status).toBe(200);
    expect(receiptOf(again)).toMatchObject({ success: true });
    const end = await balances(stack.get());
    expect(paid.payer - end.payer).toBe(PASS_PRICE);
    expect(end.payTo - paid.payTo).toBe(PASS_PRICE);
  });

  it("should let exactly 10 of 50 concurrent requests through on a token with 10 uses left", async () => {
    const before = await balances(stack.get());
    const first = await payingFetchV2(PAYER.privateKey)(url("/api/burst/x"));
    expect(first.status).toBe(200);
    expect(first.headers.get("PAYMENT-SESSION-REMAINING")).toBe("10");
    const token = first.headers.get("PAYMENT-SESSION")!;
    // A client honours a 503's Retry-After (the pass's last uses were being leased just then).
    const honouringRetry = async (path: string): Promise<Response> => {
      for (;;) {
        const answer = await fetch(url(path), withToken(token));
        const after = answer.headers.get("Retry-After");
        if (answer.status !== 503 || after === null) return answer;
        await sleep(Number(after) * 1000);
      }
    };
    const answers = await Promise.all(
      Array.from({ length: 50 }, (_, i) => honouringRetry(`/api/burst/c${i}`)),
    );
    const statuses = answers.map((a) => a.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(10);
    expect(statuses.filter((s) => s === 402)).toHaveLength(40);
    const served = Array.from({ length: 50 }, (_, i) => stack.get().originHits(`/api/burst/c${i}`));
    expect(served.reduce((a, b) => a + b, 0)).toBe(10);
    const after = await balances(stack.get());
    expect(before.payer - after.payer).toBe(PASS_PRICE);
  });

  it("should refuse the token after it expires and charge again", async () => {
    const first = await payingFetchV2(PAYER.privateKey)(url("/api/brief/a"));
    expect(first.status).toBe(200);
    const token = first.headers.get("PAYMENT-SESSION")!;
    expect((await fetch(url("/api/brief/a"), withToken(token))).status).toBe(200);
    await sleep(3200);
    const before = await balances(stack.get());
    const expired = await fetch(url("/api/brief/a"), withToken(token));
    expect(expired.status).toBe(402);
    expect(await errorOf(expired)).toMatch(/expired|not valid/);
    const paid = await payingFetchV2(PAYER.privateKey)(url("/api/brief/a"), withToken(token));
    expect(paid.status).toBe(200);
    expect(receiptOf(paid)).toMatchObject({ success: true });
    expect(before.payer - (await balances(stack.get())).payer).toBe(PASS_PRICE);
  });

  it("should refuse a token once the admin API revoked it", async () => {
    const first = await payingFetchV2(PAYER.privateKey)(url("/api/revocable/a"));
    const token = first.headers.get("PAYMENT-SESSION")!;
    expect((await fetch(url("/api/revocable/a"), withToken(token))).status).toBe(200);
    const revoke = await fetch(url("/__x402/admin/sessions/revoke"), {
      method: "POST",
      headers: {
        Authorization: `Bearer ${DEV_SECRETS.ADMIN_TOKEN}`,
        "Content-Type": "application/json",
      },
      body: JSON.stringify({ token }),
    });
    expect(revoke.status).toBe(200);
    expect(await revoke.json()).toEqual({ revoked: 1 });
    const refused = await fetch(url("/api/revocable/a"), withToken(token));
    expect(refused.status).toBe(402);
    expect(stack.get().originHits("/api/revocable/a")).toBe(2);
  });
});

describe("sign-in-with-x with the official client hook", () => {
  it("should pay once, then sign in without paying, per group and price", async () => {
    const start = await balances(stack.get());
    const buyer = recordingClient({ siwx: true });
    const first = await buyer.pay(url("/api/pro/basic/report"));
    expect(first.status).toBe(200);
    expect(receiptOf(first)).toMatchObject({ success: true });
    const afterBasic = await balances(stack.get());
    expect(start.payer - afterBasic.payer).toBe(BASIC_PRICE);

    // A returning client: the 402 offers sign-in, the hook signs, the paywall lets it in.
    const returning = recordingClient({ siwx: true });
    const back = await returning.pay(url("/api/pro/basic/other"));
    expect(back.status).toBe(200);
    expect(receiptOf(back)).toBeUndefined();
    expect(back.headers.get("PAYMENT-SESSION")).toMatch(/^x402s1\./);
    expect(returning.sent.some((h) => h.has("SIGN-IN-WITH-X"))).toBe(true);
    expect(returning.sent.some((h) => h.has("PAYMENT-SIGNATURE"))).toBe(false);
    expect(await balances(stack.get())).toEqual(afterBasic);

    // The $0.005 pass does not open the $0.02 route of the same group: the client pays.
    const full = await recordingClient({ siwx: true }).pay(url("/api/pro/full"));
    expect(full.status).toBe(200);
    expect(receiptOf(full)).toMatchObject({ success: true });
    const afterFull = await balances(stack.get());
    expect(afterBasic.payer - afterFull.payer).toBe(FULL_PRICE);
    expect(stack.get().originHits("/api/pro/full")).toBe(1);
  });

  it("should refuse a replayed sign-in and a wallet that never paid", async () => {
    await payingFetchV2(PAYER.privateKey)(url("/api/pro/basic/seed"));
    const signer = recordingClient({ siwx: true });
    expect((await signer.pay(url("/api/pro/basic/replayed"))).status).toBe(200);
    const proof = signer.sent.map((h) => h.get("SIGN-IN-WITH-X")).find(Boolean);
    expect(proof).toBeTruthy();
    const before = await balances(stack.get());

    const replay = await fetch(url("/api/pro/basic/replayed"), {
      headers: { "SIGN-IN-WITH-X": proof! },
    });
    expect(replay.status).toBe(402);
    expect(await errorOf(replay)).toContain("already used");

    const stranger = recordingClient({ siwx: true, key: generatePrivateKey() });
    const attempt = await fetch(url("/api/pro/basic/replayed"));
    const challenge = attempt.headers.get("PAYMENT-REQUIRED");
    expect(challenge).toBeTruthy();
    // The stranger's hook signs; the paywall refuses; the client then cannot pay (no USDC).
    await expect(stranger.pay(url("/api/pro/basic/replayed"))).resolves.toHaveProperty(
      "status",
      402,
    );
    expect(stranger.sent.some((h) => h.has("SIGN-IN-WITH-X"))).toBe(true);
    expect(stack.get().originHits("/api/pro/basic/replayed")).toBe(1);
    expect(await balances(stack.get())).toEqual(before);
  });
});
