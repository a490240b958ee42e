import { beforeEach, describe, expect, inject, it } from "vitest";
import {
  PAY_TO,
  PAYER,
  USDC,
  call,
  decodeHeader,
  facilitator,
  facilitatorCalls,
  originSaw,
  paymentFor,
  putTable,
  unique,
} from "./helpers";

const BASE = "https://paywall.test";

beforeEach(async () => {
  await putTable();
});

async function challengeFor(path: string): Promise<Response> {
  const response = await call(new Request(`${BASE}${path}`));
  expect(response.status).toBe(402);
  return response;
}

async function pay(
  path: string,
  header: string,
  mode = "ok",
  init: RequestInit = {},
): Promise<Response> {
  const headers = new Headers(init.headers);
  headers.set("PAYMENT-SIGNATURE", header);
  return call(new Request(`${BASE}${path}`, { ...init, headers }), {
    FACILITATOR_URLS: facilitator(mode),
  });
}

describe("free routes", () => {
  it("should proxy method, path, query, headers and body untouched", async () => {
    const path = `/api/free/${unique()}`;
    const response = await call(
      new Request(`${BASE}${path}?a=1&b=two`, {
        method: "POST",
        headers: { "x-custom": "yes", "content-type": "text/plain" },
        body: "hello origin",
      }),
    );
    expect(response.status).toBe(200);
    const echo = (await response.json()) as {
      method: string;
      url: string;
      headers: Record<string, string>;
      body: string;
    };
    expect(echo.method).toBe("POST");
    expect(echo.url).toBe(`${path}?a=1&b=two`);
    expect(echo.headers["x-custom"]).toBe("yes");
    expect(echo.headers["x-forwarded-host"]).toBe("paywall.test");
    expect(echo.body).toBe("hello origin");
  });

  it("should pass redirects back instead of following them", async () => {
    await putTable({ rules: [{ path: "/api/*", price: "$0.001" }] });
    const response = await call(new Request(`${BASE}/redirect/${unique()}`));
    expect(response.status).toBe(302);
    expect(response.headers.get("Location")).toBe("/elsewhere");
  });

  it("should strip payment and payer headers a client sends to a free route", async () => {
    const response = await call(
      new Request(`${BASE}/api/free/${unique()}`, {
        headers: { "x-payer": "0xspoofed", "payment-signature": "abc", "x-payment": "def" },
      }),
    );
    const echo = (await response.json()) as { headers: Record<string, string> };
    expect(echo.headers["x-payer"]).toBeUndefined();
    expect(echo.headers["payment-signature"]).toBeUndefined();
    expect(echo.headers["x-payment"]).toBeUndefined();
  });
});

describe("the 402 challenge", () => {
  it("should offer the table's price in the V2 header and a V1 body, uncached", async () => {
    const path = `/api/${unique()}`;
    const response = await challengeFor(path);
    expect(response.headers.get("Cache-Control")).toBe("no-store");
    const v2 = decodeHeader<{ x402Version: number; resource: { url: string }; accepts: unknown[] }>(
      response.headers.get("PAYMENT-REQUIRED"),
    );
    expect(v2.x402Version).toBe(2);
    expect(v2.resource.url).toBe(`${BASE}${path}`);
    expect(v2.accepts).toEqual([
      {
        scheme: "exact",
        network: "eip155:84532",
        amount: "1000",
        asset: USDC,
        payTo: PAY_TO,
        maxTimeoutSeconds: 60,
        extra: { name: "USDC", version: "2" },
      },
    ]);
    const v1 = (await response.json()) as {
      x402Version: number;
      accepts: Array<Record<string, unknown>>;
    };
    expect(v1.x402Version).toBe(1);
    expect(v1.accepts[0]).toMatchObject({
      network: "base-sepolia",
      maxAmountRequired: "1000",
      resource: `${BASE}${path}`,
      payTo: PAY_TO,
      asset: USDC,
    });
    expect(await originSaw(path)).toBe(0);
  });

  it("should show browsers a readable page with the price", async () => {
    const response = await call(
      new Request(`${BASE}/articles/${unique()}`, { headers: { Accept: "text/html,*/*" } }),
    );
    expect(response.status).toBe(402);
    expect(response.headers.get("Content-Type")).toContain("text/html");
    const page = await response.text();
    expect(page).toContain("$0.01");
    expect(page).toContain("An article");
    expect(response.headers.get("PAYMENT-REQUIRED")).toBeTruthy();
  });

  it.each([
    ["upper case", (id: string) => `/API/${id}`],
    ["a dot segment", (id: string) => `/api/./${id}`],
    ["a dot-dot segment", (id: string) => `/api/free/../${id}`],
    ["percent-encoded letters", (id: string) => `/%61%70%69/${id}`],
    ["an encoded dot-dot", (id: string) => `/api/free/%2e%2e/${id}`],
    ["doubled slashes", (id: string) => `//api//${id}`],
    ["a trailing slash", (id: string) => `/api/${id}/`],
    ["a matrix parameter", (id: string) => `/api;free/${id}`],
    ["an encoded slash", (id: string) => `/api%2F${id}`],
    ["a ..; segment (regression: Tomcat-style bypass)", (id: string) => `/api/free/..;/${id}`],
    ["full-width letters", (id: string) => `/%EF%BD%81%EF%BD%90%EF%BD%89/${id}`],
  ])("should not serve a priced path spelled with %s for free", async (_name, spell) => {
    const id = unique();
    const response = await call(new Request(`${BASE}${spell(id)}`));
    expect([400, 402]).toContain(response.status);
    expect(await originSaw(`/api/${id}`)).toBe(0);
  });

  it("should refuse doubly encoded paths with a reason", async () => {
    const response = await call(new Request(`${BASE}/api/free/%252e%252e/x`));
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: "bad_path" });
  });

  it("should never proxy the reserved prefix", async () => {
    const response = await call(new Request(`${BASE}/__X402/admin/x`));
    expect(response.status).toBe(404);
  });
});

describe("paying", () => {
  it("should verify, forward, settle and stream the origin's answer with a receipt", async () => {
    const path = `/api/${unique()}`;
    const { header, nonce } = paymentFor(await challengeFor(path));
    const response = await pay(path, header);
    expect(response.status).toBe(200);
    expect(response.headers.get("Cache-Control")).toBe("private");
    const receipt = decodeHeader(response.headers.get("PAYMENT-RESPONSE"));
    expect(receipt).toMatchObject({ success: true, payer: PAYER, network: "eip155:84532" });
    const echo = (await response.json()) as { headers: Record<string, string> };
    expect(echo.headers["x-payer"]).toBe(PAYER);
    expect(echo.headers["payment-signature"]).toBeUndefined();
    const calls = await facilitatorCalls(nonce);
    expect(calls.map((c) => c.op)).toEqual(["verify", "settle"]);
  });

  it("should send the first body bytes before the origin has finished", async () => {
    const id = unique();
    const path = `/stream/${id}`;
    const { header } = paymentFor(await challengeFor(path));
    const response = await pay(path, header);
    expect(response.status).toBe(200);
    const reader = response.body!.getReader();
    const first = await reader.read();
    expect(new TextDecoder().decode(first.value)).toBe("first|");
    await fetch(`${inject("originUrl")}/__release?id=${id}`);
    let rest = "";
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
      rest += new TextDecoder().decode(chunk.value);
    }
    expect(rest).toBe("last");
  });

  it("should not settle when the origin answers 500, and pass its answer back", async () => {
    const path = `/status/500/${unique()}`;
    const { header, nonce } = paymentFor(await challengeFor(path));
    const response = await pay(path, header);
    expect(response.status).toBe(500);
    expect(response.headers.get("PAYMENT-RESPONSE")).toBeNull();
    const calls = await facilitatorCalls(nonce);
    expect(calls.map((c) => c.op)).toEqual(["verify"]);
  });

  it("should deliver nothing of the origin's body when settlement fails", async () => {
    const path = `/api/${unique()}`;
    const { header } = paymentFor(await challengeFor(path));
    const response = await pay(path, header, "settle-fail");
    expect(response.status).toBe(402);
    const required = decodeHeader(response.headers.get("PAYMENT-REQUIRED"));
    expect(required["error"]).toBe("invalid_exact_evm_insufficient_balance");
    expect(decodeHeader(response.headers.get("PAYMENT-RESPONSE"))).toMatchObject({
      success: false,
    });
    expect(await response.text()).not.toContain('"method"');
  });

  it("should refuse an invalid payment without contacting the origin", async () => {
    const path = `/api/${unique()}`;
    const { header } = paymentFor(await challengeFor(path));
    const response = await pay(path, header, "invalid");
    expect(response.status).toBe(402);
    expect(decodeHeader(response.headers.get("PAYMENT-REQUIRED"))["error"]).toBe(
      "invalid_exact_evm_signature",
    );
    expect(await originSaw(path)).toBe(0);
  });

  it.each([
    [
      "amount",
      (p: Record<string, unknown>) => ((p["accepted"] as Record<string, unknown>)["amount"] = "1"),
    ],
    [
      "payTo",
      (p: Record<string, unknown>) => ((p["accepted"] as Record<string, unknown>)["payTo"] = PAYER),
    ],
    [
      "asset",
      (p: Record<string, unknown>) => ((p["accepted"] as Record<string, unknown>)["asset"] = PAYER),
    ],
    [
      "network",
      (p: Record<string, unknown>) =>
        ((p["accepted"] as Record<string, unknown>)["network"] = "eip155:8453"),
    ],
    [
      "extra",
      (p: Record<string, unknown>) =>
        ((p["accepted"] as Record<string, unknown>)["extra"] = { name: "X", version: "2" }),
    ],
  ])(
    "should refuse a payment whose accepted.%s was tampered with, before any facilitator call",
    async (field, tamper) => {
      const path = `/api/${unique()}`;
      const { header, nonce } = paymentFor(await challengeFor(path), tamper);
      const response = await pay(path, header);
      expect(response.status).toBe(402);
      expect(decodeHeader(response.headers.get("PAYMENT-REQUIRED"))["error"]).toContain(
        `accepted.${field}`,
      );
      expect(await facilitatorCalls(nonce)).toEqual([]);
      expect(await originSaw(path)).toBe(0);
    },
  );

  it("should refuse an authorization for another amount than the price", async () => {
    const path = `/api/${unique()}`;
    const { header, nonce } = paymentFor(await challengeFor(path), (p) => {
      (p["payload"] as Record<string, Record<string, unknown>>)["authorization"]!["value"] = "1";
    });
    const response = await pay(path, header);
    expect(response.status).toBe(402);
    expect(await facilitatorCalls(nonce)).toEqual([]);
  });

  it("should refuse a payment made for another route's price", async () => {
    const article = `/articles/${unique()}`;
    const { header, nonce } = paymentFor(await challengeFor(`/api/${unique()}`));
    const response = await pay(article, header);
    expect(response.status).toBe(402);
    expect(await facilitatorCalls(nonce)).toEqual([]);
    expect(await originSaw(article)).toBe(0);
  });

  it("should refuse a payment made for another resource at the same price", async () => {
    const other = `/api/${unique()}`;
    const path = `/api/${unique()}`;
    const { header, nonce } = paymentFor(await challengeFor(other));
    const response = await pay(path, header);
    expect(response.status).toBe(402);
    expect(decodeHeader(response.headers.get("PAYMENT-REQUIRED"))["error"]).toContain(
      "another resource",
    );
    expect(await facilitatorCalls(nonce)).toEqual([]);
    expect(await originSaw(path)).toBe(0);
  });

  it.each([
    ["not base64", "%%%"],
    ["not JSON", btoa("hello")],
    ["the wrong version", btoa(JSON.stringify({ x402Version: 1, accepted: {}, payload: {} }))],
    ["the wrong shape", btoa(JSON.stringify({ x402Version: 2, accepted: "x", payload: {} }))],
  ])("should answer 400 with a reason to a payment header that is %s", async (_name, header) => {
    const path = `/api/${unique()}`;
    const response = await pay(path, header);
    expect(response.status).toBe(400);
    const body = (await response.json()) as { error: string; message: string };
    expect(body.error).toBe("invalid_payment");
    expect(body.message).toMatch(/PAYMENT-SIGNATURE/);
    expect(await originSaw(path)).toBe(0);
  });

  it("should answer 400 when both V1 and V2 payment headers are sent", async () => {
    const path = `/api/${unique()}`;
    const { header } = paymentFor(await challengeFor(path));
    const response = await pay(path, header, "ok", { headers: { "X-PAYMENT": header } });
    expect(response.status).toBe(400);
    expect(await originSaw(path)).toBe(0);
  });

  it("should accept a V1 payment and answer with X-PAYMENT-RESPONSE", async () => {
    const path = `/api/${unique()}`;
    const { header, nonce } = paymentFor(await challengeFor(path));
    const v2 = decodeHeader<{ payload: unknown }>(header);
    const v1 = btoa(
      JSON.stringify({
        x402Version: 1,
        scheme: "exact",
        network: "base-sepolia",
        payload: v2.payload,
      }),
    );
    const response = await call(new Request(`${BASE}${path}`, { headers: { "X-PAYMENT": v1 } }), {
      FACILITATOR_URLS: facilitator("ok"),
    });
    expect(response.status).toBe(200);
    expect(decodeHeader(response.headers.get("X-PAYMENT-RESPONSE"))).toMatchObject({
      success: true,
    });
    const [verify] = await facilitatorCalls(nonce);
    expect(verify?.body).toMatchObject({
      x402Version: 1,
      paymentRequirements: { network: "base-sepolia", maxAmountRequired: "1000" },
    });
  });
});

describe("facilitator failures", () => {
  it.each([
    ["answers 500", "error500", 502],
    ["answers garbage", "garbage", 502],
    ["is too slow", "slow", 503],
  ])("should answer %s with a clear error and no access", async (_name, mode, status) => {
    const path = `/api/${unique()}`;
    const { header } = paymentFor(await challengeFor(path));
    const response = await pay(path, header, mode);
    expect(response.status).toBe(status);
    expect(await response.json()).toMatchObject({ error: "facilitator_unavailable" });
    expect(await originSaw(path)).toBe(0);
  });

  it("should answer 503 when no facilitator can be reached", async () => {
    const path = `/api/${unique()}`;
    const { header } = paymentFor(await challengeFor(path));
    const response = await call(
      new Request(`${BASE}${path}`, { headers: { "PAYMENT-SIGNATURE": header } }),
      {
        FACILITATOR_URLS: inject("deadUrl"),
      },
    );
    expect(response.status).toBe(503);
    expect(await originSaw(path)).toBe(0);
  });

  it("should fail a verify over to the next facilitator and settle where it was verified (regression: the settle went to the first, which was down, and the payment was left pending)", async () => {
    const path = `/api/${unique()}`;
    const { header, nonce } = paymentFor(await challengeFor(path));
    const response = await call(
      new Request(`${BASE}${path}`, { headers: { "PAYMENT-SIGNATURE": header } }),
      {
        FACILITATOR_URLS: `${inject("deadUrl")},${facilitator("error500")},${facilitator("ok")}`,
      },
    );
    // Verify moved on to the third, which settled it: once, and nowhere else.
    expect(response.status).toBe(200);
    expect(decodeHeader(response.headers.get("PAYMENT-RESPONSE"))).toMatchObject({
      success: true,
    });
    const ops = (await facilitatorCalls(nonce)).map(
      (c) => `${(c as { mode?: string }).mode}:${c.op}`,
    );
    expect(ops).toEqual(["error500:verify", "ok:verify", "ok:settle"]);
  });

  it("should never fail a settle over to the next facilitator (regression: a settle failed over found its nonce spent and answered 402)", async () => {
    const path = `/api/${unique()}`;
    const { header, nonce } = paymentFor(await challengeFor(path));
    const response = await call(
      new Request(`${BASE}${path}`, { headers: { "PAYMENT-SIGNATURE": header } }),
      { FACILITATOR_URLS: `${facilitator("settle-500")},${facilitator("ok")}` },
    );
    // The first verified it; its settle answered 500, which may have moved the money: pending.
    expect(response.status).toBe(502);
    expect(await response.json()).toMatchObject({ error: "payment_pending" });
    const ops = (await facilitatorCalls(nonce)).map(
      (c) => `${(c as { mode?: string }).mode}:${c.op}`,
    );
    expect(ops).toEqual(["settle-500:verify", "settle-500:settle"]);
  });

  it("should deliver nothing when settlement cannot be reached", async () => {
    const path = `/api/${unique()}`;
    const { header } = paymentFor(await challengeFor(path));
    const response = await pay(path, header, "settle-500");
    expect(response.status).toBe(502);
    expect(await response.text()).not.toContain('"method"');
  });
});

describe("the price table", () => {
  it("should fail closed while KV holds no usable table", async () => {
    await putTable("{ not json");
    const path = `/api/free/${unique()}`;
    const response = await call(new Request(`${BASE}${path}`));
    // A table served before may still apply; a priced request must never pass unpaid.
    expect([200, 503]).toContain(response.status);
    const priced = `/api/${unique()}`;
    const pricedResponse = await call(new Request(`${BASE}${priced}`));
    expect([402, 503]).toContain(pricedResponse.status);
    expect(await originSaw(priced)).toBe(0);
  });

  it("should apply a new table without a redeploy", async () => {
    const path = `/api/${unique()}`;
    await putTable({ rules: [{ path: "/api/*", price: "$0.05" }] });
    const response = await call(new Request(`${BASE}${path}`));
    const v2 = decodeHeader<{ accepts: Array<{ amount: string }> }>(
      response.headers.get("PAYMENT-REQUIRED"),
    );
    expect(v2.accepts[0]?.amount).toBe("50000");
  });
});

describe("configuration and health", () => {
  it("should fail closed, telling the client nothing of the configuration, when it is invalid", async () => {
    const path = `/api/free/${unique()}`;
    const response = await call(new Request(`${BASE}${path}`), { ORIGIN_URL: "not a url" });
    expect(response.status).toBe(503);
    const body = (await response.json()) as { error: string; message: string };
    expect(body.error).toBe("misconfigured");
    // The variable's name and value are for the operator (the log, the admin health check).
    expect(body.message).not.toContain("ORIGIN_URL");
    expect(body.message).not.toContain("not a url");
    expect(await originSaw(path)).toBe(0);
  });

  it("should report the served price table's version on /__x402/health", async () => {
    const response = await call(new Request(`${BASE}/__x402/health`));
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ ok: true, priceTableVersion: "test-1" });
  });
});
