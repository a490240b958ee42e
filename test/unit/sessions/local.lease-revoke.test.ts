import { describe, expect, it } from "vitest";
import { SessionMemory } from "../../../src/sessions/local.ts";
import type { RememberedPass } from "../../../src/sessions/local.ts";

/** Revoking through an isolate stops its lease at once, and loses none of the payer's uses. */

function lease(left: number): RememberedPass {
  return {
    objectId: "o",
    entitlement: "e",
    payer: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
    expiresAt: null,
    held: { scope: "route:x /*", network: "eip155:84532", asset: "0xa", amount: "1000" },
    until: Date.now() + 2_000,
    left,
    storeRemaining: 0,
  };
}

describe("revoking a leased pass", () => {
  it("should still give the lease's unspent uses back when it ends (regression: revoking one token threw them away)", () => {
    const memory = new SessionMemory();
    const byToken = lease(5);
    memory.remember("t1", byToken);
    memory.forgetToken("t1");
    expect(memory.check("t1", byToken.held, Date.now()).type).toBe("ask");
    expect(memory.endLease("t1", byToken)).toBe(5);

    const byPayer = lease(3);
    memory.remember("t2", byPayer);
    memory.forgetPayer(byPayer.payer);
    expect(memory.endLease("t2", byPayer)).toBe(3);
  });
});
