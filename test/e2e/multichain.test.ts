import { afterAll, afterEach, describe, expect, it } from "vitest";
import { PAYER } from "../../dev/chain.ts";
import { payingFetchV2, receiptOf } from "../../dev/clients.ts";
import { BASE_USDC, balanceOf } from "../../dev/usdc.ts";
import { startFaultProxy } from "./fault-proxy.ts";
import { useStack } from "./stack.ts";

/**
 * One rule paid on two chains (`alsoAccept`) on the real stack: two anvils (84532 with Base
 * Sepolia's USDC, 8453 with Base's), one official facilitator settling on both, and official
 * clients paying on each. Each chain moves exactly its own price, once. The operator's
 * facilitator preferences (`FACILITATORS`) route each network's payments, and fall back.
 */

// The operator's preferences: Base payments to one facilitator, Base Sepolia to another, and a
// third for anything, tried when the preferred one fails. All three reach the same official
// facilitator through pass-throughs that record what they are sent.
const forBase = await startFaultProxy();
const forSepolia = await startFaultProxy();
const fallback = await startFaultProxy();
afterAll(() => Promise.all([forBase.stop(), forSepolia.stop(), fallback.stop()]));

const stack = useStack({
  secondChain: true,
  facilitatorFor: async (facilitator) => {
    for (const proxy of [forBase, forSepolia, fallback]) proxy.retarget(facilitator);
    return fallback.url;
  },
  vars: {
    FACILITATORS: JSON.stringify([
      { name: "base", url: forBase.url, networks: ["eip155:8453"] },
      { name: "sepolia", url: forSepolia.url, networks: ["eip155:84532"] },
      { name: "fallback", url: fallback.url },
    ]),
  },
  prices: {
    version: "e2e-multichain",
    defaults: { network: "eip155:84532" },
    rules: [
      {
        path: "/api/*",
        price: "$0.001",
        alsoAccept: [{ network: "eip155:8453", price: "$0.002" }],
      },
    ],
  },
});

const url = (path: string) => `${stack.get().workerUrl}${path}`;

async function balancesOnBoth() {
  const { rpcUrl, secondRpcUrl, payTo } = stack.get();
  if (!secondRpcUrl) throw new Error("no second chain");
  return {
    sepolia: await balanceOf(rpcUrl, payTo),
    base: await balanceOf(secondRpcUrl, payTo, BASE_USDC.address),
  };
}

describe("a rule with two networks", () => {
  it("should offer both chains in the 402", async () => {
    const challenge = await fetch(url("/api/two"));
    const accepts = JSON.parse(atob(challenge.headers.get("PAYMENT-REQUIRED")!)).accepts as Array<{
      network: string;
      amount: string;
      asset: string;
    }>;
    expect(accepts.map((a) => [a.network, a.amount, a.asset])).toEqual([
      ["eip155:84532", "1000", "0x036CbD53842c5426634e7929541eC2318f3dCF7e"],
      ["eip155:8453", "2000", BASE_USDC.address],
    ]);
  });

  it("should be paid on each chain at that chain's price, on chain", async () => {
    const before = await balancesOnBoth();
    const onSepolia = await payingFetchV2(PAYER.privateKey, fetch, { network: "eip155:84532" })(
      url("/api/sepolia"),
    );
    expect(onSepolia.status).toBe(200);
    expect(receiptOf(onSepolia)).toMatchObject({ success: true, network: "eip155:84532" });
    const onBase = await payingFetchV2(PAYER.privateKey, fetch, { network: "eip155:8453" })(
      url("/api/base"),
    );
    expect(onBase.status).toBe(200);
    expect(receiptOf(onBase)).toMatchObject({ success: true, network: "eip155:8453" });
    const after = await balancesOnBoth();
    expect(after.sepolia - before.sepolia).toBe(1000n);
    expect(after.base - before.base).toBe(2000n);
  });
});

/** The verify and settle calls a pass-through received since `from`. */
function callsSince(proxy: { received: string[] }, from: number): string[] {
  return proxy.received.slice(from).filter((path) => /verify|settle/.test(path));
}

describe("facilitator preferences", () => {
  afterEach(() => {
    for (const proxy of [forBase, forSepolia, fallback]) proxy.faultFor = () => "pass";
  });

  it("should send each network's payments to the facilitator preferred for it", async () => {
    const seen = [forBase, forSepolia, fallback].map((p) => p.received.length);
    const onSepolia = await payingFetchV2(PAYER.privateKey, fetch, { network: "eip155:84532" })(
      url("/api/prefer-sepolia"),
    );
    expect(onSepolia.status).toBe(200);
    const onBase = await payingFetchV2(PAYER.privateKey, fetch, { network: "eip155:8453" })(
      url("/api/prefer-base"),
    );
    expect(onBase.status).toBe(200);
    expect(callsSince(forSepolia, seen[1]!)).toEqual(["/verify", "/settle"]);
    expect(callsSince(forBase, seen[0]!)).toEqual(["/verify", "/settle"]);
    expect(callsSince(fallback, seen[2]!)).toEqual([]);
  });

  it("should fall back to the next facilitator when the preferred one is down, paying once", async () => {
    const before = await balancesOnBoth();
    const seen = fallback.received.length;
    forSepolia.faultFor = () => "refuse";
    const response = await payingFetchV2(PAYER.privateKey, fetch, { network: "eip155:84532" })(
      url("/api/fallback"),
    );
    expect(response.status).toBe(200);
    expect(callsSince(fallback, seen)).toEqual(["/verify", "/settle"]);
    const after = await balancesOnBoth();
    expect(after.sepolia - before.sepolia).toBe(1000n);
  });
});
