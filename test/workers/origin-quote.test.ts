import { inject } from "vitest";
import { beforeEach, describe, expect, it } from "vitest";
import { SIGNED_QUOTE, quoteSignature } from "../../src/paywall/signed-terms";
import {
  PAYER,
  call,
  decodeHeader,
  facilitatorCalls,
  paymentFor,
  putTable,
  unique,
} from "./helpers";
import type { Env } from "../../src/config";

/**
 * Terms the origin states in band (`originPrice`, `payee: {from: "origin"}`) are bound before
 * the origin sees a paid request: the 402 carries them with the paywall's signature and an
 * expiry, and a payment whose terms are neither so signed for this request nor equal to a
 * fresh quote is refused with a 402, the origin never asked to run it, nothing verified or
 * settled. The fake origin names the payee in `/payee/<address>/…` and quotes the price in
 * `/quoted/<dollars>/…`; `?then=` makes it say otherwise on the request itself.
 */

const BASE = "https://quotes.test";
const SELLER = "0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65";
const OTHER_SELLER = "0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc";
const SECRET = "workers-test-session-secret-0123456789";
const NO_SECRET: Partial<Env> = { SESSION_SECRET: "" };

beforeEach(async () => {
  await putTable({
    version: "quotes",
    defaults: { network: "eip155:84532" },
    rules: [
      { path: "/payee/*", price: "$0.01", payee: { from: "origin" } },
      { path: "/quoted/*", originPrice: { min: "$0.001", max: "$0.01" } },
    ],
  });
});

type Accepted = Record<string, unknown> & {
  amount: string;
  payTo: string;
  extra: Record<string, string>;
};

async function challengeFor(
  path: string,
  overrides: Partial<Env> = {},
  method = "GET",
): Promise<Response> {
  const response = await call(new Request(`${BASE}${path}`, { method }), overrides);
  expect(response.status).toBe(402);
  return response;
}

function acceptsOf(response: Response): Accepted[] {
  return decodeHeader<{ accepts: Accepted[] }>(response.headers.get("PAYMENT-REQUIRED")).accepts;
}

function errorOf(response: Response): string {
  return decodeHeader<{ error: string }>(response.headers.get("PAYMENT-REQUIRED")).error;
}

/** Pays with `change` applied to the payment built from the challenge's first offer. */
function payment(challenge: Response, change: (accepted: Accepted) => void = () => {}) {
  return paymentFor(challenge, (payload) => {
    const accepted = payload["accepted"] as Accepted;
    change(accepted);
    const authorization = (payload["payload"] as { authorization: Record<string, string> })
      .authorization;
    authorization["to"] = accepted.payTo;
    authorization["value"] = accepted.amount;
  });
}

function pay(path: string, header: string, overrides: Partial<Env> = {}, method = "GET") {
  const headers = { "PAYMENT-SIGNATURE": header };
  return call(new Request(`${BASE}${path}`, { method, headers }), overrides);
}

/** The requests for `path` the fake origin ran (quote requests aside), and the quotes it gave. */
async function originRan(path: string): Promise<{ ran: number; quotes: number }> {
  const count = async (forwarded: boolean) => {
    const query = `path=${encodeURIComponent(path)}${forwarded ? "&forwarded=1" : ""}`;
    const response = await fetch(`${inject("originUrl")}/__seen?${query}`);
    return ((await response.json()) as { count: number }).count;
  };
  const ran = await count(true);
  return { ran, quotes: (await count(false)) - ran };
}

async function ops(nonce: string): Promise<string[]> {
  return (await facilitatorCalls(nonce)).map((c) => c.op);
}

describe("a 402 on terms the origin states", () => {
  it("should carry the quoted terms with the paywall's signature and an expiry", async () => {
    const path = `/payee/${SELLER}/${unique()}`;
    const [offer] = acceptsOf(await challengeFor(path));
    expect(offer!.payTo).toBe(SELLER);
    const signed = offer!.extra[SIGNED_QUOTE];
    expect(signed).toMatch(/^\d+\.[A-Za-z0-9_-]{43}$/);
    const expiry = Number(signed!.split(".")[0]);
    expect(expiry).toBeGreaterThan(Date.now() / 1000 + 60);
    expect(expiry).toBeLessThanOrEqual(Date.now() / 1000 + 301);
    // The token's EIP-712 domain is still there for the client to sign with.
    expect(offer!.extra).toMatchObject({ name: "USDC", version: "2" });
  });

  it("should carry no signature when no secret is configured", async () => {
    const path = `/payee/${SELLER}/${unique()}`;
    const [offer] = acceptsOf(await challengeFor(path, NO_SECRET));
    expect(offer!.payTo).toBe(SELLER);
    expect(offer!.extra[SIGNED_QUOTE]).toBeUndefined();
  });
});

describe("a payment on terms the origin states", () => {
  it("should pay the quoted payee and price end to end, asking the origin for no second quote", async () => {
    const path = `/quoted/0.005/${unique()}`;
    const challenge = await challengeFor(path);
    const { header, nonce } = payment(challenge);
    const response = await pay(path, header);
    expect(response.status).toBe(200);
    expect(await originRan(path)).toEqual({ ran: 1, quotes: 1 });
    const calls = await facilitatorCalls(nonce);
    expect(calls.map((c) => c.op)).toEqual(["verify", "settle"]);
    expect(calls[1]!.body).toMatchObject({ paymentRequirements: { amount: "5000" } });
  });

  it("should settle a payment to the payee the origin names, end to end", async () => {
    const path = `/payee/${SELLER}/${unique()}`;
    const { header, nonce } = payment(await challengeFor(path));
    const response = await pay(path, header);
    expect(response.status).toBe(200);
    expect(await originRan(path)).toEqual({ ran: 1, quotes: 1 });
    const calls = await facilitatorCalls(nonce);
    expect(calls.map((c) => c.op)).toEqual(["verify", "settle"]);
    expect(calls[1]!.body).toMatchObject({ paymentRequirements: { payTo: SELLER } });
  });

  it("should refuse a payment to the payer's own address before the origin runs, and settle nothing (regression: the origin ran a request nobody paid for)", async () => {
    const path = `/payee/${SELLER}/${unique()}`;
    const challenge = await challengeFor(path, {}, "POST");
    const { header, nonce } = payment(challenge, (accepted) => {
      accepted.payTo = PAYER;
    });
    const response = await call(
      new Request(`${BASE}${path}`, {
        method: "POST",
        headers: { "PAYMENT-SIGNATURE": header },
        body: "delete everything",
      }),
    );
    expect(response.status).toBe(402);
    expect((await originRan(path)).ran).toBe(0);
    expect(await ops(nonce)).toEqual([]);
    // The refusal offers the origin's terms again, signed, to pay instead.
    const [offer] = acceptsOf(response);
    expect(offer!.payTo).toBe(SELLER);
    expect(offer!.extra[SIGNED_QUOTE]).toBeDefined();
  });

  it("should refuse a payment to the payer's own address that drops the signature, before the origin runs", async () => {
    const path = `/payee/${SELLER}/${unique()}`;
    const { header, nonce } = payment(await challengeFor(path), (accepted) => {
      accepted.payTo = PAYER;
      delete accepted.extra[SIGNED_QUOTE];
    });
    const response = await pay(path, header);
    expect(response.status).toBe(402);
    expect((await originRan(path)).ran).toBe(0);
    expect(errorOf(response)).toContain("not the origin's terms");
    expect(await ops(nonce)).toEqual([]);
  });

  it("should refuse an amount within the bounds but below the quote before the origin runs (regression: any amount in bounds was taken)", async () => {
    const path = `/quoted/0.005/${unique()}`;
    const { header, nonce } = payment(await challengeFor(path), (accepted) => {
      accepted.amount = "1000";
    });
    const response = await pay(path, header);
    expect(response.status).toBe(402);
    expect((await originRan(path)).ran).toBe(0);
    expect(await ops(nonce)).toEqual([]);
    expect(acceptsOf(response)[0]!.amount).toBe("5000");
  });

  it("should refuse a made-up signature on the payer's own terms before the origin runs", async () => {
    const path = `/quoted/0.005/${unique()}`;
    const challenge = await challengeFor(path);
    const { header, nonce } = payment(challenge, (accepted) => {
      const [expiry = "", mac = ""] = (accepted.extra[SIGNED_QUOTE] ?? "0.x").split(".");
      accepted.amount = "1000";
      accepted.extra[SIGNED_QUOTE] = `${expiry}.${mac.startsWith("A") ? "B" : "A"}${mac.slice(1)}`;
    });
    const response = await pay(path, header);
    expect(response.status).toBe(402);
    expect(errorOf(response)).toContain("signature");
    expect((await originRan(path)).ran).toBe(0);
    expect(await ops(nonce)).toEqual([]);
  });

  it("should refuse a signed quote of another resource before the origin runs", async () => {
    const quoted = `/payee/${OTHER_SELLER}/${unique()}`;
    const path = `/payee/${SELLER}/${unique()}`;
    const { header, nonce } = payment(await challengeFor(quoted), () => {});
    const moved = decodeHeader<Record<string, unknown>>(header);
    moved["resource"] = { url: `${BASE}${path}` };
    const response = await pay(path, btoa(JSON.stringify(moved)));
    expect(response.status).toBe(402);
    expect((await originRan(path)).ran).toBe(0);
    expect(errorOf(response)).toContain("signature");
    expect(await ops(nonce)).toEqual([]);
    expect(acceptsOf(response)[0]!.payTo).toBe(SELLER);
  });

  it("should refuse an expired signed quote whose terms the origin no longer quotes, before the origin runs", async () => {
    const path = `/quoted/0.005/${unique()}`;
    const { header, nonce } = payment(await challengeFor(path), (accepted) => {
      accepted.amount = "1000";
      accepted.extra[SIGNED_QUOTE] = "pending";
    });
    const expired = await signedExpired(header, path);
    const response = await pay(path, expired);
    expect(response.status).toBe(402);
    expect(errorOf(response)).toContain("expired");
    expect((await originRan(path)).ran).toBe(0);
    expect(await ops(nonce)).toEqual([]);
  });

  it("should take an expired signed quote the origin still quotes after asking it again (a late retry)", async () => {
    const path = `/quoted/0.005/${unique()}`;
    const { header } = payment(await challengeFor(path));
    const expired = await signedExpired(header, path);
    const response = await pay(path, expired);
    expect(response.status).toBe(200);
    expect(await originRan(path)).toEqual({ ran: 1, quotes: 2 });
    expect(await ops(nonceOf(expired))).toEqual(["verify", "settle"]);
  });

  it("should check a V1 payment against a fresh quote before the origin runs", async () => {
    const path = `/payee/${SELLER}/${unique()}`;
    const challenge = await challengeFor(path);
    const honest = v1Of(payment(challenge).header);
    const own = v1Of(payment(challenge, (a) => void (a.payTo = PAYER)).header);
    const refused = await call(new Request(`${BASE}${path}`, { headers: { "X-PAYMENT": own.v1 } }));
    expect(refused.status).toBe(402);
    expect(await originRan(path)).toEqual({ ran: 0, quotes: 2 });
    expect((await refused.json()) as { error: string }).toMatchObject({
      error: expect.stringContaining("not the origin's terms") as unknown,
    });
    expect(await ops(own.nonce)).toEqual([]);
    const paid = await call(new Request(`${BASE}${path}`, { headers: { "X-PAYMENT": honest.v1 } }));
    expect(paid.status).toBe(200);
    expect(await originRan(path)).toEqual({ ran: 1, quotes: 3 });
    const calls = await facilitatorCalls(honest.nonce);
    expect(calls.map((c) => c.op)).toEqual(["verify", "settle"]);
    expect(calls[1]!.body).toMatchObject({
      x402Version: 1,
      paymentRequirements: { payTo: SELLER },
    });
  });

  it("should check every payment against a fresh quote when no secret is configured", async () => {
    const path = `/quoted/0.005/${unique()}`;
    const challenge = await challengeFor(path, NO_SECRET);
    const cheap = payment(challenge, (accepted) => void (accepted.amount = "1000"));
    const refused = await pay(path, cheap.header, NO_SECRET);
    expect(refused.status).toBe(402);
    expect(await originRan(path)).toEqual({ ran: 0, quotes: 2 });
    expect(await ops(cheap.nonce)).toEqual([]);
    const honest = payment(challenge);
    const paid = await pay(path, honest.header, NO_SECRET);
    expect(paid.status).toBe(200);
    expect(await originRan(path)).toEqual({ ran: 1, quotes: 3 });
    expect(await ops(honest.nonce)).toEqual(["verify", "settle"]);
  });
});

describe("an origin that cannot be asked for a fresh quote", () => {
  it("should answer 502 and charge nothing, the request never forwarded", async () => {
    const path = `/payee/${SELLER}/${unique()}`;
    const { v1, nonce } = v1Of(payment(await challengeFor(path)).header);
    const response = await call(new Request(`${BASE}${path}`, { headers: { "X-PAYMENT": v1 } }), {
      ORIGIN_URL: inject("deadUrl"),
    });
    expect(response.status).toBe(502);
    expect(await response.json()).toMatchObject({ error: "origin_unreachable" });
    expect(await ops(nonce)).toEqual([]);
  });
});

describe("an origin that changes its mind after quoting", () => {
  it("should withhold the answer and charge nothing when its answer names another payee", async () => {
    const path = `/payee/${SELLER}/${unique()}`;
    const query = `?then=${OTHER_SELLER}`;
    const { header, nonce } = payment(await challengeFor(path + query));
    const response = await pay(path + query, header);
    expect(response.status).toBe(402);
    expect(errorOf(response)).toContain("another payee");
    expect(await ops(nonce)).toEqual(["verify"]);
    const [offer] = acceptsOf(response);
    expect(offer!.payTo).toBe(OTHER_SELLER);
    expect(offer!.extra[SIGNED_QUOTE]).toBeDefined();
  });

  it("should withhold the answer and charge nothing when its answer quotes another price", async () => {
    const path = `/quoted/0.005/${unique()}`;
    const query = "?then=0.007";
    const { header, nonce } = payment(await challengeFor(path + query));
    const response = await pay(path + query, header);
    expect(response.status).toBe(402);
    expect(errorOf(response)).toContain("$0.007");
    expect(await ops(nonce)).toEqual(["verify"]);
    expect(acceptsOf(response)[0]!.amount).toBe("7000");
  });
});

/** The payment in `header` with its terms signed by this paywall, a minute past their expiry. */
async function signedExpired(header: string, path: string): Promise<string> {
  const payload = decodeHeader<{ accepted: Accepted }>(header);
  const accepted = payload.accepted;
  const binding = { resourceUrl: `${BASE}${path}`, method: "GET", rule: ruleOf(path) };
  accepted.extra[SIGNED_QUOTE] = await quoteSignature(
    {
      scheme: accepted["scheme"] as string,
      network: accepted["network"] as string,
      asset: accepted["asset"] as string,
      amount: accepted.amount,
      payTo: accepted.payTo,
    },
    binding,
    SECRET,
    Math.floor(Date.now() / 1000) - 60,
  );
  return btoa(JSON.stringify(payload));
}

function ruleOf(path: string): string {
  return path.startsWith("/payee/") ? "/payee/*" : "/quoted/*";
}

function nonceOf(header: string): string {
  return decodeHeader<{ payload: { authorization: { nonce: string } } }>(header).payload
    .authorization.nonce;
}

/** The same authorization as an x402 V1 `X-PAYMENT`. */
function v1Of(header: string): { v1: string; nonce: string } {
  const v2 = decodeHeader<{ payload: unknown }>(header);
  const v1 = { x402Version: 1, scheme: "exact", network: "base-sepolia", payload: v2.payload };
  return { v1: btoa(JSON.stringify(v1)), nonce: nonceOf(header) };
}
