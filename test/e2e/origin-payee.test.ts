import { describe, expect, it } from "vitest";
import { PAYER } from "../../dev/chain.ts";
import { payingFetchV2, receiptOf } from "../../dev/clients.ts";
import { TENANTS } from "../../dev/origin.ts";
import { balanceOf } from "../../dev/usdc.ts";
import { useStack } from "./stack.ts";

/**
 * A payee named by the origin (`payee: {from: "origin"}`) on the real stack: the demo origin
 * answers `/api/tenants/<name>/*` with `x402-pay-to`, and the chain must show each tenant paid
 * at that address, the operator's own address nothing.
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
});
