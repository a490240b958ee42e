import { privateKeyToAccount, generatePrivateKey } from "viem/accounts";
import { beforeEach, describe, expect, it } from "vitest";
import { base58Decode, base58Encode } from "../../src/encoding";
import { admin, jsonOf } from "./admin-helpers";
import { FAKE_FEE_PAYER, FAKE_UPTO_FACILITATOR } from "../support/fake-values";
import {
  PAY_TO,
  PAYER,
  USDC,
  call,
  decodeHeader,
  facilitatorCalls,
  originSaw,
  putTable,
  unique,
} from "./helpers";

/**
 * Schemes other than `exact` on EVM, inside workerd against the fake facilitator (which lists a
 * Solana fee payer and an upto settling address in `/supported`): a Solana offer next to an EVM
 * one, routed by its fee payer; metered (`upto`) rules settling the usage the origin reports, in
 * a header before the body or in the last SSE event after it.
 */

const BASE = "https://schemes.test";
const DEVNET = "solana:EtWTRABZaYq6iMfeYKouRu166VU2xqa1";
const DEVNET_USDC = "4zMMC9srt5Ri5X14GAgXhaHii3GnPAEERYPJgZJDncDU";
const SOL_PAYEE = "JBKYsH6n75jUPJsprTmMadqz53yNUBGHv1uYrNd334gf";
const SOL_PAYER = "AWxggjuZRmWULwxwPeM6ZZxRtdDdekVq22mFRx2QbW7U";
const TOKEN_PROGRAM = "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA";
const UPTO_PROXY = "0x4020A4f3b7b90ccA423B9fabCc0CE57C6C240002";

beforeEach(async () => {
  await putTable({
    version: "schemes",
    defaults: { network: "eip155:84532", payTo: PAY_TO },
    rules: [
      {
        path: "/sol/*",
        price: "$0.01",
        alsoAccept: [{ network: DEVNET, price: "$0.01", payTo: SOL_PAYEE }],
      },
      { path: "/payee/*", price: "$0.01", payee: { from: "origin" } },
      {
        path: "/usage/*",
        price: "$0.05",
        metered: { unitPrice: "$0.0001", usage: { header: "x-usage-units" } },
      },
      {
        path: "/sse-hold/*",
        price: "$0.05",
        metered: { unitPrice: "$0.0001", usage: { sse: "usage.total_tokens" } },
      },
      {
        path: "/sse-usage/*",
        price: "$0.05",
        metered: { unitPrice: "$0.0001", usage: { sse: "usage.total_tokens" } },
      },
    ],
  });
});

type Accept = Record<string, unknown> & {
  scheme: string;
  network: string;
  amount: string;
  payTo: string;
  extra: Record<string, string>;
};

async function challenge(path: string): Promise<{ resource: unknown; accepts: Accept[] }> {
  const response = await call(new Request(`${BASE}${path}`));
  expect(response.status).toBe(402);
  return decodeHeader(response.headers.get("PAYMENT-REQUIRED"));
}

function paid(path: string, payload: unknown): Promise<Response> {
  const headers = { "PAYMENT-SIGNATURE": btoa(JSON.stringify(payload)) };
  return call(new Request(`${BASE}${path}`, { headers }));
}

/**
 * A legacy Solana transaction as x402's SVM scheme makes one: fee payer first (its signature
 * left empty), the payer's `TransferChecked` of `amount` of `mint`.
 */
function solanaTransfer(feePayer: string, mint: string, amount: bigint): string {
  const key = (text: string) => base58Decode(text)!;
  const random = (n: number) => crypto.getRandomValues(new Uint8Array(n));
  const keys = [key(feePayer), key(SOL_PAYER), random(32), random(32), key(mint)];
  keys.push(key(TOKEN_PROGRAM));
  const data = new Uint8Array(10);
  data[0] = 12;
  new DataView(data.buffer).setBigUint64(1, amount, true);
  data[9] = 6;
  const bytes = [
    2,
    ...new Uint8Array(64),
    ...random(64),
    2,
    1,
    2,
    keys.length,
    ...keys.flatMap((k) => [...k]),
    ...random(32),
    1,
    5,
    4,
    2,
    4,
    3,
    1,
    data.length,
    ...data,
  ];
  return btoa(String.fromCharCode(...bytes));
}

function uptoPayload(accepted: Accept, resource: unknown, from: string, nonce: string) {
  return {
    x402Version: 2,
    resource,
    accepted,
    payload: {
      signature: "0x" + "22".repeat(65),
      permit2Authorization: {
        from,
        permitted: { token: accepted["asset"], amount: accepted.amount },
        spender: UPTO_PROXY,
        nonce,
        deadline: String(Math.floor(Date.now() / 1000) + 600),
        witness: {
          to: accepted.payTo,
          facilitator: accepted.extra["facilitatorAddress"],
          validAfter: "0",
        },
      },
    },
  };
}

/** The fake facilitator keys upto calls by the permit nonce in hex. */
function callsOfPermit(nonce: string) {
  return facilitatorCalls(`0x${BigInt(nonce).toString(16)}`);
}

async function receiptsOf(payer: string) {
  const response = await admin(`/receipts?payer=${payer}`);
  return (await jsonOf<{ receipts: Array<Record<string, unknown>> }>(response)).receipts;
}

describe("a Solana offer", () => {
  it("should be offered with the facilitator's fee payer, to V2 clients only", async () => {
    const path = `/sol/${unique()}`;
    const { accepts } = await challenge(path);
    expect(accepts.map((a) => [a.scheme, a.network, a.amount, a["asset"], a.payTo])).toEqual([
      ["exact", "eip155:84532", "10000", USDC, PAY_TO],
      ["exact", DEVNET, "10000", DEVNET_USDC, SOL_PAYEE],
    ]);
    expect(accepts[1]!.extra).toEqual({ feePayer: FAKE_FEE_PAYER });
    const v1 = (await (await call(new Request(`${BASE}${path}`))).json()) as {
      accepts: Array<{ network: string }>;
    };
    expect(v1.accepts.map((a) => a.network)).toEqual(["base-sepolia"]);
  });

  it("should send a Solana payment to the facilitator with that fee payer, and record it", async () => {
    const path = `/sol/${unique()}`;
    const { resource, accepts } = await challenge(path);
    const transaction = solanaTransfer(FAKE_FEE_PAYER, DEVNET_USDC, 10000n);
    const response = await paid(path, {
      x402Version: 2,
      resource,
      accepted: accepts[1],
      payload: { transaction },
    });
    expect(response.status).toBe(200);
    const tail = Uint8Array.from(atob(transaction), (c) => c.charCodeAt(0)).slice(-32);
    const nonce = `0x${[...tail].map((b) => b.toString(16).padStart(2, "0")).join("")}`;
    const calls = await facilitatorCalls(nonce);
    expect(calls.map((c) => c.op)).toEqual(["verify", "settle"]);
    const receipts = await receiptsOf(SOL_PAYER);
    expect(receipts).toHaveLength(1);
    expect(receipts[0]).toMatchObject({
      network: DEVNET,
      payer: SOL_PAYER,
      payTo: SOL_PAYEE,
      asset: DEVNET_USDC,
      amount: "10000",
    });
    expect(String(receipts[0]!["nonce"])).toMatch(/^sig:/);
  });

  it("should refuse a transfer of another amount, or for another fee payer, before any facilitator call", async () => {
    const path = `/sol/${unique()}`;
    const { resource, accepts } = await challenge(path);
    const cases: Array<[string, string]> = [
      [solanaTransfer(FAKE_FEE_PAYER, DEVNET_USDC, 9999n), "is not this resource's price"],
      [solanaTransfer(SOL_PAYEE, DEVNET_USDC, 10000n), "fee payer is not the offered"],
      [solanaTransfer(FAKE_FEE_PAYER, SOL_PAYEE, 10000n), "transfers another token"],
      ["AAAA", "truncated or malformed"],
    ];
    for (const [transaction, reason] of cases) {
      const response = await paid(path, {
        x402Version: 2,
        resource,
        accepted: accepts[1],
        payload: { transaction },
      });
      expect(response.status).toBe(402);
      expect(decodeHeader(response.headers.get("PAYMENT-REQUIRED"))["error"]).toContain(reason);
    }
  });

  it("should round-trip Base58 addresses", () => {
    expect(base58Encode(base58Decode(SOL_PAYEE)!)).toBe(SOL_PAYEE);
    expect(base58Decode("11111111111111111111111111111111")).toEqual(new Uint8Array(32));
  });
});

describe("a metered rule", () => {
  it("should offer upto with the facilitator's settling address", async () => {
    const { accepts } = await challenge(`/usage/3/${unique()}`);
    expect(accepts).toHaveLength(1);
    expect(accepts[0]).toMatchObject({
      scheme: "upto",
      amount: "50000",
      extra: {
        name: "USDC",
        version: "2",
        assetTransferMethod: "permit2",
        facilitatorAddress: FAKE_UPTO_FACILITATOR,
      },
    });
  });

  it("should settle the reported usage before the body, and record that amount", async () => {
    const from = privateKeyToAccount(generatePrivateKey()).address;
    const path = `/usage/123/${unique()}`;
    const { resource, accepts } = await challenge(path);
    const nonce = String(BigInt(`0x${unique()}`) * 7919n);
    const response = await paid(path, uptoPayload(accepts[0]!, resource, from, nonce));
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ used: "123" });
    const receipt = decodeHeader(response.headers.get("PAYMENT-RESPONSE"));
    expect(receipt["amount"]).toBe("12300");
    const calls = await callsOfPermit(nonce);
    expect(calls.map((c) => c.op)).toEqual(["verify", "settle"]);
    const [verify, settle] = calls.map(
      (c) => (c.body as { paymentRequirements: { amount: string } }).paymentRequirements.amount,
    );
    expect([verify, settle]).toEqual(["50000", "12300"]);
    expect(await receiptsOf(from)).toMatchObject([{ amount: "12300", nonce: `permit2:${nonce}` }]);
  });

  it("should settle no more than the maximum when the usage costs more", async () => {
    const from = privateKeyToAccount(generatePrivateKey()).address;
    const path = `/usage/999999/${unique()}`;
    const { resource, accepts } = await challenge(path);
    const nonce = String(BigInt(`0x${unique()}`) * 7907n);
    const response = await paid(path, uptoPayload(accepts[0]!, resource, from, nonce));
    expect(response.status).toBe(200);
    expect(decodeHeader(response.headers.get("PAYMENT-RESPONSE"))["amount"]).toBe("50000");
  });

  it("should withhold the answer and charge nothing when the origin reports no usage", async () => {
    const from = privateKeyToAccount(generatePrivateKey()).address;
    const path = `/usage/none/${unique()}`;
    const { resource, accepts } = await challenge(path);
    const nonce = String(BigInt(`0x${unique()}`) * 7901n);
    const response = await paid(path, uptoPayload(accepts[0]!, resource, from, nonce));
    expect(response.status).toBe(502);
    expect(await response.json()).toMatchObject({ error: "invalid_usage_report" });
    expect((await callsOfPermit(nonce)).map((c) => c.op)).toEqual(["verify"]);
    expect(await receiptsOf(from)).toEqual([]);
  });

  it("should refuse a permit for another maximum or facilitator before any facilitator call", async () => {
    const from = privateKeyToAccount(generatePrivateKey()).address;
    const path = `/usage/1/${unique()}`;
    const { resource, accepts } = await challenge(path);
    const nonce = String(BigInt(`0x${unique()}`) * 7883n);
    const payload = uptoPayload(accepts[0]!, resource, from, nonce);
    payload.payload.permit2Authorization.witness.facilitator = PAY_TO;
    const response = await paid(path, payload);
    expect(response.status).toBe(402);
    expect(decodeHeader(response.headers.get("PAYMENT-REQUIRED"))["error"]).toContain(
      "witness.facilitator",
    );
    expect(await callsOfPermit(nonce)).toEqual([]);
  });

  it("should stream an SSE answer, then settle its last reported usage and say so in a last event", async () => {
    const from = privateKeyToAccount(generatePrivateKey()).address;
    const path = `/sse-usage/42/${unique()}`;
    const { resource, accepts } = await challenge(path);
    const nonce = String(BigInt(`0x${unique()}`) * 7877n);
    const response = await paid(path, uptoPayload(accepts[0]!, resource, from, nonce));
    expect(response.status).toBe(200);
    expect(response.headers.get("PAYMENT-RESPONSE")).toBeNull();
    expect(response.headers.get("x402-settled-after")).toBe("body");
    const text = await response.text();
    expect(text).toContain('data: {"text":"hello"}');
    const event = /event: x402-payment-response\ndata: (.*)\n/.exec(text);
    expect(event).not.toBeNull();
    expect(JSON.parse(event![1]!)).toMatchObject({ success: true, amount: "4200" });
    const settle = (await callsOfPermit(nonce)).find((c) => c.op === "settle");
    expect(
      (settle?.body as { paymentRequirements: { amount: string } }).paymentRequirements.amount,
    ).toBe("4200");
    expect(await receiptsOf(from)).toMatchObject([{ amount: "4200" }]);
  });

  it("should charge the maximum for a stream that ends without a usage report (regression: such a stream was free)", async () => {
    const from = privateKeyToAccount(generatePrivateKey()).address;
    const path = `/sse-usage/none/${unique()}`;
    const { resource, accepts } = await challenge(path);
    const nonce = String(BigInt(`0x${unique()}`) * 7873n);
    const response = await paid(path, uptoPayload(accepts[0]!, resource, from, nonce));
    const text = await response.text();
    expect(text).toContain("event: x402-payment-response");
    expect((await callsOfPermit(nonce)).map((c) => c.op)).toEqual(["verify", "settle"]);
    expect(await receiptsOf(from)).toMatchObject([{ amount: "50000" }]);
  });
});

describe("a metered stream cut short", () => {
  it("should charge the maximum to a client that leaves after content went out, and never stream that permit again (regression: leaving early read streams free)", async () => {
    const from = privateKeyToAccount(generatePrivateKey()).address;
    const path = `/sse-hold/${unique()}`;
    const { resource, accepts } = await challenge(path);
    const nonce = String(BigInt(`0x${unique()}`) * 7867n);
    const payload = uptoPayload(accepts[0]!, resource, from, nonce);
    const response = await paid(path, payload);
    expect(response.status).toBe(200);
    const reader = response.body!.getReader();
    const first = await reader.read();
    expect(new TextDecoder().decode(first.value)).toContain("first part");
    await reader.cancel();
    let settle: { body: unknown } | undefined;
    for (let i = 0; i < 50 && !settle; i++) {
      await new Promise((r) => setTimeout(r, 100));
      settle = (await callsOfPermit(nonce)).find((c) => c.op === "settle");
    }
    expect(
      (settle?.body as { paymentRequirements: { amount: string } }).paymentRequirements.amount,
    ).toBe("50000");
    const again = await paid(path, payload);
    expect(again.status).toBe(409);
  });

  it("should not serve a metered answer again on a settled payment's id", async () => {
    const from = privateKeyToAccount(generatePrivateKey()).address;
    const path = `/usage/5/${unique()}`;
    const { resource, accepts } = await challenge(path);
    const nonce = String(BigInt(`0x${unique()}`) * 7853n);
    const payload = {
      ...uptoPayload(accepts[0]!, resource, from, nonce),
      extensions: {
        "payment-identifier": { info: { required: false, id: `pay_${unique()}metered01` } },
      },
    };
    expect((await paid(path, payload)).status).toBe(200);
    const again = await paid(path, payload);
    expect(again.status).toBe(409);
    expect(await again.json()).toMatchObject({ error: "payment_already_settled" });
  });
});

describe("receipts of payments on an alternative offer", () => {
  it("should record the network, payee, asset and amount actually paid (regression: the rule's first offer was recorded)", async () => {
    await putTable({
      defaults: { network: "eip155:84532", payTo: PAY_TO },
      rules: [
        {
          path: "/alt/*",
          price: "$0.01",
          alsoAccept: [{ network: "eip155:8453", price: "$0.02", payTo: UPTO_PROXY }],
        },
      ],
    });
    const from = privateKeyToAccount(generatePrivateKey()).address;
    const path = `/alt/${unique()}`;
    const { resource, accepts } = await challenge(path);
    const second = accepts[1]!;
    const response = await paid(path, {
      x402Version: 2,
      resource,
      accepted: second,
      payload: {
        signature: "0x" + "11".repeat(65),
        authorization: {
          from,
          to: second.payTo,
          value: second.amount,
          validAfter: "0",
          validBefore: String(Math.floor(Date.now() / 1000) + 600),
          nonce: `0x${unique()}${"ab".repeat(28)}`,
        },
      },
    });
    expect(response.status).toBe(200);
    expect(await receiptsOf(from)).toMatchObject([
      {
        network: "eip155:8453",
        amount: "20000",
        payTo: UPTO_PROXY.toLowerCase(),
        asset: "0x833589fcd6edb6e08f4c7c32d4f71b54bda02913",
      },
    ]);
  });
});

describe("a payee named by the origin", () => {
  const SELLER = "0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65";

  function exactPayment(accepted: Accept, resource: unknown, payTo = accepted.payTo) {
    const nonce = `0x${unique()}${"cd".repeat(28)}`;
    const payload = {
      x402Version: 2,
      resource,
      accepted: { ...accepted, payTo },
      payload: {
        signature: "0x" + "11".repeat(65),
        authorization: {
          from: PAYER,
          to: payTo,
          value: accepted.amount,
          validAfter: "0",
          validBefore: String(Math.floor(Date.now() / 1000) + 600),
          nonce,
        },
      },
    };
    return { payload, nonce };
  }

  it("should challenge with the payee the origin names, asking it once", async () => {
    const path = `/payee/${SELLER}/${unique()}`;
    const { accepts } = await challenge(path);
    expect(accepts[0]!.payTo).toBe(SELLER);
    expect(await originSaw(path)).toBe(1);
  });

  it("should settle a payment to that payee once the origin's answer names it too", async () => {
    const path = `/payee/${SELLER}/${unique()}`;
    const { resource, accepts } = await challenge(path);
    const { payload, nonce } = exactPayment(accepts[0]!, resource);
    const response = await paid(path, payload);
    expect(response.status).toBe(200);
    const calls = await facilitatorCalls(nonce);
    expect(calls.map((c) => c.op)).toEqual(["verify", "settle"]);
    expect(
      (calls[1]!.body as { paymentRequirements: { payTo: string } }).paymentRequirements.payTo,
    ).toBe(SELLER);
  });

  it("should refuse a payment that names another payee before the origin runs, and charge nothing", async () => {
    const path = `/payee/${SELLER}/${unique()}`;
    const { resource, accepts } = await challenge(path);
    const { payload, nonce } = exactPayment(accepts[0]!, resource, PAY_TO);
    const response = await paid(path, payload);
    expect(response.status).toBe(402);
    const required = decodeHeader<{ error: string; accepts: Accept[] }>(
      response.headers.get("PAYMENT-REQUIRED"),
    );
    expect(required.error).toContain("not the origin's terms");
    expect(required.accepts[0]!.payTo).toBe(SELLER);
    expect(await facilitatorCalls(nonce)).toEqual([]);
  });

  it("should answer 502 when the origin names no valid address", async () => {
    const response = await call(new Request(`${BASE}/payee/0x1234/${unique()}`));
    expect(response.status).toBe(502);
    expect(await response.json()).toMatchObject({ error: "invalid_origin_quote" });
  });
});
