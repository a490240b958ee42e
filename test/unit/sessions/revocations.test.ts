import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

vi.mock("cloudflare:workers", () => ({
  DurableObject: class {
    constructor(
      readonly ctx: unknown,
      readonly env: unknown,
    ) {}
  },
}));

import { durableSessions } from "../../../src/sessions/service.ts";
import { PayerSessions } from "../../../src/sessions/store.ts";
import type { Want } from "../../../src/sessions/scope.ts";
import { OWED_KEEP_MS } from "../../../src/sessions/owed.ts";
import { REVOCATION_KEEP_MS } from "../../../src/sessions/revocations.ts";
import { durableState, namespaceOver } from "../session-store-harness.ts";
import type { CallFate } from "../session-store-harness.ts";

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

describe("revocation markers", () => {
  const OTHER: Want = { ...WANT, scope: "route:shop.example * * /other/*" };

  it("should refuse an owed grant of the revoked scope only, not one of another scope", async () => {
    const { store, isolate } = world();
    let down = true;
    const paying = isolate(() => (down ? "refuse" : "pass"));
    await paying.grant(GRANT);
    const other = await paying.grant({ ...GRANT, want: OTHER, payment: `${GRANT.payment}ff` });
    await isolate().revokePayer(PAYER, WANT.scope);
    down = false;
    const used = await paying.useToken((other as { token: string }).token, OTHER);
    expect(used.type).toBe("admitted");
    expect(store.list().map((e) => e.scope)).toEqual([OTHER.scope]);
  });

  it("should record a pass paid after the revocation (the payer who pays again gets it)", async () => {
    const { store, isolate } = world();
    await isolate().revokePayer(PAYER);
    vi.setSystemTime(1_800_000_000_001);
    const granted = await isolate().grant(GRANT);
    expect(granted.type).toBe("admitted");
    expect(store.list()).toHaveLength(1);
    const used = await isolate().useToken((granted as { token: string }).token, WANT);
    expect(used.type).toBe("admitted");
  });

  it("should keep the markers as long as an owed write can arrive, then purge them with the alarm", async () => {
    const { store, isolate } = world();
    const rows = () =>
      (store as unknown as { sql: SqlStorage }).sql
        .exec<{ n: number }>("SELECT COUNT(*) AS n FROM revocations")
        .one().n;
    await isolate().revokePayer(PAYER);
    // A token the store never saw (its grant may be owed) is remembered all the same.
    expect(await isolate().revokeToken(`x402s1.${OBJECT_ID}.${"A".repeat(43)}`)).toBe(false);
    expect(rows()).toBe(2);
    expect(REVOCATION_KEEP_MS).toBeGreaterThan(OWED_KEEP_MS);
    vi.setSystemTime(1_800_000_000_000 + REVOCATION_KEEP_MS - 1);
    await store.alarm();
    expect(rows()).toBe(2);
    // An owed grant made before the revocation, arriving as late as any can: refused.
    const late = { ...GRANT, tokenHash: "ab".repeat(32), at: 1_800_000_000_000 - OWED_KEEP_MS };
    store.catchUp([{ type: "grant", id: `grant:${GRANT.payment}`, grant: late }]);
    expect(store.list()).toHaveLength(0);
    vi.setSystemTime(1_800_000_000_000 + REVOCATION_KEEP_MS);
    await store.alarm();
    expect(rows()).toBe(0);
  });
});
