import { ExactEvmScheme } from "@x402/evm/exact/client";
import { wrapFetchWithPayment, x402Client } from "@x402/fetch";
import { privateKeyToAccount } from "viem/accounts";
import { describe, expect, it } from "vitest";
import { PAYER } from "../../dev/chain.ts";
import { payingFetchV1, payingFetchV2, receiptOf } from "../../dev/clients.ts";
import { TENANTS } from "../../dev/origin.ts";
import { balanceOf } from "../../dev/usdc.ts";
import { useStack } from "./stack.ts";

/**
 * A payee named by the origin (`payee: {from: "origin"}`) on the real stack: the demo origin
 * answers `/api/tenants/<name>/*` with `x402-pay-to`, and the chain must show each tenant paid
 * at that address, the operator's own address nothing. The 402 carries the payee signed by the
 * paywall: a client that pays another address (its own) is refused before the origin runs.
 */

const stack = useStack();

describe("a payee named by the origin", () => {
  it("should pay each tenant at the address its origin names, on chain", async () => {
    const rpc = stack.get().rpcUrl;
    const alice = TENANTS["alice"]!;
    const bob = TENANTS["bob"]!;
    const before = {
      payer: await balanceOf(rpc, PAYER.address),
      alice: await balanceOf(rpc, alice),
      bob: await balanceOf(rpc, bob),
      operator: await balanceOf(rpc, stack.get().payTo),
    };
    const pay = payingFetchV2(PAYER.privateKey);
    const first = await pay(`${stack.get().workerUrl}/api/tenants/alice/report`);
    expect(first.status).toBe(200);
    expect(await first.json()).toEqual({ tenant: "alice", paid: true });
    expect(receiptOf(first)).toMatchObject({ success: true });
    const second = await pay(`${stack.get().workerUrl}/api/tenants/bob/report`);
    expect(second.status).toBe(200);
    expect((await balanceOf(rpc, alice)) - before.alice).toBe(3000n);
    expect((await balanceOf(rpc, bob)) - before.bob).toBe(3000n);
    expect(before.payer - (await balanceOf(rpc, PAYER.address))).toBe(6000n);
    expect(await balanceOf(rpc, stack.get().payTo)).toBe(before.operator);
  });

  it("should charge nothing when the origin names no payee", async () => {
    const rpc = stack.get().rpcUrl;
    const before = await balanceOf(rpc, PAYER.address);
    const response = await payingFetchV2(PAYER.privateKey)(
      `${stack.get().workerUrl}/api/tenants/nobody/report`,
    );
    expect(response.status).toBe(502);
    expect(await response.json()).toMatchObject({ error: "invalid_origin_quote" });
    expect(await balanceOf(rpc, PAYER.address)).toBe(before);
  });

  it("should refuse the official client paying its own address instead, before any verify", async () => {
    const rpc = stack.get().rpcUrl;
    const url = `${stack.get().workerUrl}/api/tenants/alice/report`;
    const challenge = await fetch(url);
    const [offer] = (
      JSON.parse(atob(challenge.headers.get("PAYMENT-REQUIRED")!)) as {
        accepts: Array<{ payTo: string; extra: Record<string, string> }>;
      }
    ).accepts;
    expect(offer!.payTo).toBe(TENANTS["alice"]);
    expect(offer!.extra["signedQuote"]).toMatch(/^\d+\.[A-Za-z0-9_-]{43}$/);
    const alice = await balanceOf(rpc, TENANTS["alice"]!);
    // A buyer's client that rewrites the payee to itself before signing.
    const client = new x402Client()
      .register("eip155:*", new ExactEvmScheme(privateKeyToAccount(PAYER.privateKey)))
      .registerPolicy((_, requirements) =>
        requirements.map((r) => ({ ...r, payTo: PAYER.address })),
      );
    const response = await wrapFetchWithPayment(fetch, client)(url, { method: "POST" });
    expect(response.status).toBe(402);
    const required = JSON.parse(atob(response.headers.get("PAYMENT-REQUIRED")!)) as {
      error: string;
    };
    expect(required.error).toContain("not the origin's terms now");
    expect(await balanceOf(rpc, TENANTS["alice"]!)).toBe(alice);
  });

  it("should pay a tenant from x402-fetch 1.x (V1), its terms checked against a fresh quote", async () => {
    const rpc = stack.get().rpcUrl;
    const bob = TENANTS["bob"]!;
    const before = { payer: await balanceOf(rpc, PAYER.address), bob: await balanceOf(rpc, bob) };
    const pay = payingFetchV1(PAYER.privateKey, rpc);
    const response = await pay(`${stack.get().workerUrl}/api/tenants/bob/v1`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ tenant: "bob", paid: true });
    expect(receiptOf(response)).toMatchObject({ success: true, network: "base-sepolia" });
    expect((await balanceOf(rpc, bob)) - before.bob).toBe(3000n);
    expect(before.payer - (await balanceOf(rpc, PAYER.address))).toBe(3000n);
  });
});
