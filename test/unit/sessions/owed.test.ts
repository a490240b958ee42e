import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

vi.mock("cloudflare:workers", () => ({
  DurableObject: class {
    constructor(
      readonly ctx: unknown,
      readonly env: unknown,
    ) {}
  },
}));

import { PASS_MEMORY_MS } from "../../../src/sessions/local.ts";
import { durableSessions } from "../../../src/sessions/service.ts";
import type { SessionResult, SessionService } from "../../../src/sessions/service.ts";
import { PayerSessions } from "../../../src/sessions/store.ts";
import type { Want } from "../../../src/sessions/scope.ts";
import { hashToken, newToken } from "../../../src/sessions/token.ts";
import { durableState, namespaceOver } from "../session-store-harness.ts";
import type { CallFate } from "../session-store-harness.ts";

/**
 * Money a payer must never lose to the session store's faults or to other isolates, against the
 * real store: uses leased to another isolate are a retry, never a 402; a refund or a grant the
 * store could not take is kept and retried, and applied exactly once; a call whose answer was
 * lost gives its uses back. Each isolate is a service over its own namespace object (its own
 * memory), as in workerd.
 */

const OBJECT_ID = "ab".repeat(32);
const PAYER = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
const WANT: Want = {
  scope: "route:shop.example * * /api/*",
  network: "eip155:84532",
  asset: "0x036cbd53842c5426634e7929541ec2318f3dcf7e",
  amount: "1000",
};

/** Collects what a service defers to after the answer, as `waitUntil` would. */
function deferred() {
  const work: Array<Promise<unknown>> = [];
  return { defer: (p: Promise<unknown>) => void work.push(p), all: () => Promise.all(work) };
}

/** One store, and isolates over it whose calls can be made to fail. */
function world() {
  const store = new PayerSessions(durableState(), {});
  const isolate = (fate?: (method: string) => CallFate) => {
    const namespace = namespaceOver(store, OBJECT_ID, fate ? { fate } : {});
    return durableSessions(namespace);
  };
  const usesLeft = () => store.list()[0]?.remaining;
  return { store, isolate, usesLeft };
}

/** A pass with `uses` uses bought (one spent by the paid request), and its token. */
async function bought(store: PayerSessions, uses: number): Promise<string> {
  const token = newToken(OBJECT_ID);
  const granted = store.grant({
    payer: PAYER,
    tokenHash: await hashToken(token),
    want: WANT,
    ttlSeconds: 3600,
    uses,
    payment: `eip155:84532:0x${"1".repeat(64)}`,
  });
  expect(granted).toMatchObject({ ok: true, remaining: uses - 1 });
  return token;
}

/** Uses `token` through `sessions` until `n` requests were admitted. */
async function spend(sessions: SessionService, token: string, n: number, defer = deferred()) {
  const results: SessionResult[] = [];
  for (let i = 0; i < n; i++) results.push(await sessions.useToken(token, WANT, defer.defer));
  return results;
}

beforeEach(() => {
  vi.useFakeTimers({ toFake: ["setTimeout", "Date"] });
  vi.setSystemTime(1_800_000_000_000);
});

afterEach(() => {
  vi.useRealTimers();
});

describe("uses leased to another isolate", () => {
  it("should tell another isolate's request to retry, never to pay again, while the pass's last uses are leased (regression: 402, the client paid twice)", async () => {
    const { store, isolate, usesLeft } = world();
    const token = await bought(store, 11);
    const a = isolate();
    const b = isolate();
    // Isolate a sees the token used often: it leases what is left.
    const served = await spend(a, token, 8);
    expect(served.every((r) => r.type === "admitted")).toBe(true);
    expect(usesLeft()).toBe(0);

    const other = await b.useToken(token, WANT, deferred().defer);
    expect(other).toMatchObject({ type: "retry", retryAfter: 2 });
    expect((other as { reason: string }).reason).toContain("retry");
  });

  it("should serve the other isolate once the lease's unspent uses came back", async () => {
    const { store, isolate, usesLeft } = world();
    const token = await bought(store, 11);
    const a = isolate();
    const b = isolate();
    const after = deferred();
    await spend(a, token, 8, after);
    expect(await b.useToken(token, WANT)).toMatchObject({ type: "retry" });
    await vi.advanceTimersByTimeAsync(PASS_MEMORY_MS);
    await after.all();
    // 10 after the purchase, 8 used: 2 came back from the lease.
    expect(usesLeft()).toBe(2);
    expect(await b.useToken(token, WANT)).toMatchObject({ type: "admitted", remaining: 1 });
  });

  it("should say the pass is spent (402) when the caller's own lease is the one spent", async () => {
    const { store, isolate } = world();
    const token = await bought(store, 11);
    const a = isolate();
    const results = await spend(a, token, 12);
    expect(results.filter((r) => r.type === "admitted")).toHaveLength(10);
    expect(results.slice(10).map((r) => r.type)).toEqual(["refused", "refused"]);
    expect((results[11] as { reason: string }).reason).toContain("no uses left");
  });

  it("should tell others the pass is spent as soon as a lease's last use went, not seconds later", async () => {
    const { store, isolate } = world();
    const token = await bought(store, 11);
    const a = isolate();
    const after = deferred();
    await spend(a, token, 10, after);
    await vi.advanceTimersByTimeAsync(0); // not the lease's 2 s
    const other = await isolate().useToken(token, WANT);
    expect(other).toMatchObject({ type: "refused" });
  });

  it("should count a lease whose isolate died as returned after its end: a retry meanwhile, a 402 after", async () => {
    const { store, isolate } = world();
    const token = await bought(store, 11);
    let dead = false;
    const a = isolate(() => (dead ? "refuse" : "pass"));
    await spend(a, token, 8);
    dead = true; // its lease never comes back
    const b = isolate();
    expect(await b.useToken(token, WANT)).toMatchObject({ type: "retry" });
    await vi.advanceTimersByTimeAsync(7_000);
    expect(await b.useToken(token, WANT)).toMatchObject({ type: "refused" });
  });
});

describe("refunds the store could not take", () => {
  it("should give the use back exactly once when the store could not be reached for the refund (regression: only logged, the payer lost the use)", async () => {
    const { store, isolate, usesLeft } = world();
    const token = await bought(store, 3);
    let down = false;
    const sessions = isolate((method) => (down && method !== "useToken" ? "refuse" : "pass"));
    const used = await sessions.useToken(token, WANT);
    if (used.type !== "admitted") throw new Error("not admitted");
    expect(usesLeft()).toBe(1);
    down = true;
    const after = deferred();
    await sessions.refund(used.ticket, after.defer);
    expect(usesLeft()).toBe(1);
    await vi.advanceTimersByTimeAsync(1_000);
    down = false;
    await vi.advanceTimersByTimeAsync(15_000);
    await after.all();
    expect(usesLeft()).toBe(2);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(usesLeft()).toBe(2);
  });

  it("should never refund twice when the refund's answer was lost after the store applied it", async () => {
    const { store, isolate, usesLeft } = world();
    const token = await bought(store, 3);
    let lose = 0;
    const sessions = isolate((method) => (method !== "useToken" && lose-- > 0 ? "lose" : "pass"));
    const used = await sessions.useToken(token, WANT);
    if (used.type !== "admitted") throw new Error("not admitted");
    lose = 2;
    const after = deferred();
    await sessions.refund(used.ticket, after.defer);
    await vi.advanceTimersByTimeAsync(15_000);
    await after.all();
    expect(usesLeft()).toBe(2);
  });

  it("should carry a refund still owed with the next store call for the pass", async () => {
    const { store, isolate, usesLeft } = world();
    const token = await bought(store, 3);
    let down = false;
    const sessions = isolate((method) => (down && method !== "useToken" ? "refuse" : "pass"));
    const used = await sessions.useToken(token, WANT);
    if (used.type !== "admitted") throw new Error("not admitted");
    down = true;
    await sessions.refund(used.ticket); // no waitUntil: nothing retries after the answer
    expect(usesLeft()).toBe(1);
    // The next use of the token brings the refund with it: the use given back, then this one.
    expect(await sessions.useToken(token, WANT)).toMatchObject({ remaining: 1 });
    expect(usesLeft()).toBe(1);
  });
});

describe("store calls whose answer was lost", () => {
  it("should give back the uses a call spent when its answer was lost (regression: a lease's uses lost with it)", async () => {
    const { store, isolate, usesLeft } = world();
    const token = await bought(store, 21);
    let lose = false;
    const sessions = isolate((method) => (lose && method === "useToken" ? "lose" : "pass"));
    const after = deferred();
    await spend(sessions, token, 2, after); // the second call leased one more
    await vi.advanceTimersByTimeAsync(PASS_MEMORY_MS);
    await after.all();
    const before = usesLeft()!;
    lose = true;
    const lost = await spend(sessions, token, 3, after); // each spent by the store, answer lost
    expect(lost.map((r) => r.type)).toEqual(["unavailable", "unavailable", "unavailable"]);
    lose = false;
    await vi.advanceTimersByTimeAsync(15_000);
    await after.all();
    expect(usesLeft()).toBe(before);
  });
});

describe("grants the store could not take", () => {
  const GRANT = {
    payer: PAYER,
    want: WANT,
    ttlSeconds: 3600,
    uses: 5,
    payment: `eip155:84532:0x${"2".repeat(64)}`,
  };

  it("should still give the payer its token and record the pass later when the grant fails (regression: the payer lost the pass)", async () => {
    const { isolate, usesLeft } = world();
    let down = true;
    const sessions = isolate(() => (down ? "refuse" : "pass"));
    const after = deferred();
    const granted = await sessions.grant(GRANT, after.defer);
    expect(granted).toMatchObject({ type: "admitted", remaining: 4 });
    const token = (granted as { token?: string }).token;
    expect(token).toMatch(/^x402s1\./);
    down = false;
    await vi.advanceTimersByTimeAsync(15_000);
    await after.all();
    expect(usesLeft()).toBe(4);
    expect(await isolate().useToken(token!, WANT)).toMatchObject({
      type: "admitted",
      remaining: 3,
    });
  });

  it("should never grant twice when the grant's answer was lost after the store recorded it", async () => {
    const { store, isolate, usesLeft } = world();
    let lose = 1;
    const sessions = isolate((method) => (method === "grant" && lose-- > 0 ? "lose" : "pass"));
    const after = deferred();
    const granted = await sessions.grant(GRANT, after.defer);
    expect(granted).toMatchObject({ type: "admitted" });
    await vi.advanceTimersByTimeAsync(15_000);
    await after.all();
    expect(store.list()).toHaveLength(1);
    expect(usesLeft()).toBe(4);
    const token = (granted as { token: string }).token;
    expect(await isolate().useToken(token, WANT)).toMatchObject({ remaining: 3 });
  });

  it("should record a grant still owed when its token is first used in the same isolate", async () => {
    const { isolate, usesLeft } = world();
    let down = true;
    const sessions = isolate(() => (down ? "refuse" : "pass"));
    const granted = await sessions.grant(GRANT); // no waitUntil
    const token = (granted as { token: string }).token;
    down = false;
    expect(usesLeft()).toBeUndefined();
    expect(await sessions.useToken(token, WANT)).toMatchObject({
      type: "admitted",
      remaining: 3,
    });
  });

  it("should refuse a second pass for the same payment with another token", async () => {
    const { store } = world();
    const first = store.grant({ ...GRANT, tokenHash: "a".repeat(64) });
    expect(first).toMatchObject({ ok: true });
    const again = store.grant({ ...GRANT, tokenHash: "a".repeat(64) });
    expect(again).toMatchObject({ ok: true, remaining: 4 });
    const copy = store.grant({ ...GRANT, tokenHash: "b".repeat(64) });
    expect(copy).toMatchObject({ ok: false });
    expect(store.list()).toHaveLength(1);
  });
});
