import { beforeEach, describe, expect, it } from "vitest";
import { call, decodeHeader, facilitatorCalls, PAY_TO, putTable, unique } from "./helpers";

/** One rule payable on several networks (`alsoAccept`), in workerd with the fake facilitator. */

const BASE = "https://paywall.test";
const PAYER = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
const BASE_USDC = "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913";

beforeEach(async () => {
  await putTable({
    version: "multi",
    defaults: { network: "eip155:84532", payTo: PAY_TO },
    rules: [
      {
        path: "/multi/*",
        price: "$0.01",
        alsoAccept: [{ network: "eip155:8453", price: "$0.02" }],
      },
      {
        path: "/pass/*",
        price: "$0.01",
        session: { ttl: "1h" },
        alsoAccept: [{ network: "eip155:8453", price: "$0.01" }],
      },
    ],
  });
});

type Accept = Record<string, unknown> & { network: string; amount: string; payTo: string };

async function accepts(
  path: string,
): Promise<{ required: Record<string, unknown>; accepts: Accept[] }> {
  const challenge = await call(new Request(`${BASE}${path}`));
  expect(challenge.status).toBe(402);
  const required = decodeHeader<{ accepts: Accept[] }>(challenge.headers.get("PAYMENT-REQUIRED"));
  return { required, accepts: required.accepts };
}

function pay(path: string, required: Record<string, unknown>, accepted: Accept) {
  const nonce = `0x${[...crypto.getRandomValues(new Uint8Array(32))].map((b) => b.toString(16).padStart(2, "0")).join("")}`;
  const payload = {
    x402Version: 2,
    resource: required["resource"],
    accepted,
    payload: {
      signature: "0x" + "11".repeat(65),
      authorization: {
        from: PAYER,
        to: accepted.payTo,
        value: accepted.amount,
        validAfter: "0",
        validBefore: String(Math.floor(Date.now() / 1000) + 600),
        nonce,
      },
    },
  };
  const request = new Request(`${BASE}${path}`, {
    headers: { "PAYMENT-SIGNATURE": btoa(JSON.stringify(payload)) },
  });
  return { nonce, response: call(request) };
}

describe("alsoAccept", () => {
  it("should offer every network, in table order, to V2 and V1 clients", async () => {
    const path = `/multi/${unique()}`;
    const { accepts: offered } = await accepts(path);
    expect(offered.map((a) => [a.network, a.amount, a["asset"]])).toEqual([
      ["eip155:84532", "10000", "0x036CbD53842c5426634e7929541eC2318f3dCF7e"],
      ["eip155:8453", "20000", BASE_USDC],
    ]);
    const v1 = (await (await call(new Request(`${BASE}${path}`))).json()) as {
      accepts: Array<{ network: string }>;
    };
    expect(v1.accepts.map((a) => a.network)).toEqual(["base-sepolia", "base"]);
  });

  it("should take a payment on the second network at that network's price", async () => {
    const path = `/multi/${unique()}`;
    const { required, accepts: offered } = await accepts(path);
    const { nonce, response } = pay(path, required, offered[1]!);
    const paid = await response;
    expect(paid.status).toBe(200);
    expect(decodeHeader(paid.headers.get("PAYMENT-RESPONSE"))["network"]).toBe("eip155:8453");
    const calls = await facilitatorCalls(nonce);
    expect(
      calls.map((c) => (c.body as { paymentRequirements: Accept }).paymentRequirements.network),
    ).toEqual(["eip155:8453", "eip155:8453"]);
  });

  it("should refuse the first network's price on the second network", async () => {
    const path = `/multi/${unique()}`;
    const { required, accepts: offered } = await accepts(path);
    const { nonce, response } = pay(path, required, { ...offered[1]!, amount: "10000" });
    const refused = await response;
    expect(refused.status).toBe(402);
    expect(decodeHeader(refused.headers.get("PAYMENT-REQUIRED"))["error"]).toBe(
      "accepted.amount does not match what this resource offers",
    );
    expect(await facilitatorCalls(nonce)).toHaveLength(0);
  });

  it("should let a pass bought on the second network open the rule", async () => {
    const path = `/pass/${unique()}`;
    const { required, accepts: offered } = await accepts(path);
    const paid = await pay(path, required, offered[1]!).response;
    expect(paid.status).toBe(200);
    const token = paid.headers.get("PAYMENT-SESSION")!;
    const again = await call(
      new Request(`${BASE}${path}/more`, { headers: { "PAYMENT-SESSION": token } }),
    );
    expect(again.status).toBe(200);
  });
});
