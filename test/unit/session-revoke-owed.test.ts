import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

vi.mock("cloudflare:workers", () => ({
  DurableObject: class {
    constructor(
      readonly ctx: unknown,
      readonly env: unknown,
    ) {}
  },
}));

import { durableSessions } from "../../src/sessions/service.ts";
import { PayerSessions } from "../../src/sessions/store.ts";
import type { Want } from "../../src/sessions/scope.ts";
import { durableState, namespaceOver } from "./session-store-harness.ts";
import type { CallFate } from "./session-store-harness.ts";

/**
 * A revocation made while a paid pass's grant is still owed to the store (the store could not
 * be reached when the payment settled): the owed grant, applied later, must not bring back a
 * pass the operator revoked in the meantime.
 */

const OBJECT_ID = "cd".repeat(32);
const PAYER = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
const WANT: Want = {
  scope: "route:shop.example * * /api/*",
  network: "eip155:84532",
  asset: "0x036cbd53842c5426634e7929541ec2318f3dcf7e",
  amount: "1000",
};
const GRANT = {
  payer: PAYER,
  want: WANT,
  ttlSeconds: 3600,
  uses: 5,
  payment: `eip155:84532:0x${"3".repeat(64)}`,
};

function deferred() {
  const work: Array<Promise<unknown>> = [];
  return { defer: (p: Promise<unknown>) => void work.push(p), all: () => Promise.all(work) };
}

function world() {
  const store = new PayerSessions(durableState(), {});
  const isolate = (fate?: (method: string) => CallFate) =>
    durableSessions(namespaceOver(store, OBJECT_ID, fate ? { fate } : {}));
  return { store, isolate };
}

beforeEach(() => {
  vi.useFakeTimers({ toFake: ["setTimeout", "Date"] });
  vi.setSystemTime(1_800_000_000_000);
});

afterEach(() => {
  vi.useRealTimers();
});

describe("a revocation while a pass's grant is owed", () => {
  it("should not bring back a payer's passes the operator revoked while their grant was still owed", async () => {
    const { store, isolate } = world();
    let down = true;
    const paying = isolate(() => (down ? "refuse" : "pass"));
    const granted = await paying.grant(GRANT); // the store is down: the grant is owed
    const token = (granted as { token: string }).token;
    expect(token).toBeTruthy();
    // The operator revokes every pass of this payer (the admin API, another isolate).
    await isolate().revokePayer(PAYER);
    // The store is back; the owed grant goes with the payer's next call.
    down = false;
    const after = deferred();
    const used = await paying.useToken(token, WANT, after.defer);
    await vi.advanceTimersByTimeAsync(15_000);
    await after.all();
    expect(used.type).toBe("refused");
    expect(store.list()).toHaveLength(0);
  });

  it("should not let a token the operator revoked while its grant was owed open the pass later", async () => {
    const { isolate } = world();
    let down = true;
    const paying = isolate(() => (down ? "refuse" : "pass"));
    const granted = await paying.grant(GRANT);
    const token = (granted as { token: string }).token;
    await isolate().revokeToken(token);
    down = false;
    const used = await paying.useToken(token, WANT);
    expect(used.type).toBe("refused");
  });
});
