import { afterEach, describe, expect, it, vi } from "vitest";
import { MAX_LEASE, PASS_MEMORY_MS } from "../../../src/sessions/local.ts";
import { durableSessions } from "../../../src/sessions/service.ts";
import type { Want } from "../../../src/sessions/scope.ts";
import type { Access, Caller, Owed, PayerSessions } from "../../../src/sessions/store.ts";
import { hashToken, newToken } from "../../../src/sessions/token.ts";

/**
 * The session service's per-isolate memory, against a fake store that counts its calls:
 * time-limited passes served from memory for a bounded time and forgotten on revocation;
 * use-counted passes decided by the store, with uses leased to an isolate that uses a token often.
 */

const OBJECT_ID = "cd".repeat(32);
const PAYER = "0x70997970c51812dc3a010c7d01b50e0d17dc79c8";
const WANT: Want = {
  scope: "route:shop.example * * /api/*",
  network: "eip155:84532",
  asset: "0x036CbD53842c5426634e7929541eC2318f3dCF7e",
  amount: "1000",
};

interface Held {
  usesLeft: number | null;
  expiresAt: number | null;
  revoked?: boolean;
}

/** A fake `SESSIONS` namespace: one entitlement per token hash, the store's rules, call counts. */
function fakeStore(now: () => number) {
  const held = new Map<string, Held>();
  const calls: number[] = [];
  const refunds: number[] = [];
  let fail = false;
  let gate: Promise<void> = Promise.resolve();
  /** Which token's entitlement each call spent on, for the uses a call gives back. */
  const spends = new Map<string, string>();
  const giveBack = (hash: string | undefined, count: number) => {
    refunds.push(count);
    const entry = hash === undefined ? undefined : held.get(hash);
    if (entry && entry.usesLeft !== null) entry.usesLeft += count;
  };
  const apply = (owed: Owed[]) => {
    for (const work of owed) {
      if (work.type === "refund") giveBack(work.entitlement, 1);
      if (work.type === "return" && work.unspent > 0) giveBack(spends.get(work.id), work.unspent);
    }
  };
  const stub = {
    async useToken(
      hash: string,
      want: Want,
      count = 1,
      caller?: Caller,
      owed: Owed[] = [],
    ): Promise<Access> {
      calls.push(count);
      await gate;
      if (fail) throw new Error("storage down");
      apply(owed);
      const entry = held.get(hash);
      if (!entry || entry.revoked) return { ok: false, reason: "the session token is not valid" };
      if (want.scope !== WANT.scope) return { ok: false, reason: "another scope" };
      if (entry.expiresAt !== null && entry.expiresAt <= now()) {
        return { ok: false, reason: "expired" };
      }
      let granted = count;
      if (entry.usesLeft !== null) {
        if (entry.usesLeft <= 0) return { ok: false, reason: "the session has no uses left" };
        granted = Math.min(count, entry.usesLeft);
        entry.usesLeft -= granted;
      }
      if (caller) spends.set(caller.call, hash);
      return {
        ok: true,
        entitlement: hash,
        payer: PAYER,
        expiresAt: entry.expiresAt,
        remaining: entry.usesLeft,
        granted,
        held: { scope: WANT.scope, network: WANT.network, asset: WANT.asset, amount: "1000" },
      };
    },
    async catchUp(owed: Owed[]): Promise<void> {
      if (fail) throw new Error("storage down");
      apply(owed);
    },
    async revokeToken(hash: string): Promise<boolean> {
      const entry = held.get(hash);
      if (entry) entry.revoked = true;
      return entry !== undefined;
    },
  };
  const id = { toString: () => OBJECT_ID };
  const namespace = {
    idFromString: () => id,
    idFromName: () => id,
    get: () => stub,
  } as unknown as DurableObjectNamespace<PayerSessions>;
  return {
    namespace,
    calls,
    refunds,
    usesLeft: async (token: string) => held.get(await hashToken(token))?.usesLeft,
    async add(token: string, entry: Held) {
      held.set(await hashToken(token), entry);
    },
    down: (value: boolean) => void (fail = value),
    hold(): () => void {
      let open = (): void => {};
      gate = new Promise((resolve) => (open = resolve));
      return open;
    },
  };
}

function clock(start = 1_800_000_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => void (t += ms) };
}

/** A clock, a fake store, the sessions over it, and one token the store holds with `usesLeft`. */
async function setup(held: { usesLeft: number | null; expiresInMs?: number }) {
  const time = clock();
  const store = fakeStore(time.now);
  const sessions = durableSessions(store.namespace, { now: time.now });
  const token = newToken(OBJECT_ID);
  const expiresAt = held.expiresInMs === undefined ? null : time.now() + held.expiresInMs;
  await store.add(token, { usesLeft: held.usesLeft, expiresAt });
  return { time, store, sessions, token };
}

describe("time-limited passes in the isolate's memory", () => {
  it("should admit a remembered pass without a store call, then ask again after the memory time", async () => {
    const { time, store, sessions, token } = await setup({
      usesLeft: null,
      expiresInMs: 3_600_000,
    });

    expect(await sessions.useToken(token, WANT)).toMatchObject({
      type: "admitted",
      remaining: null,
    });
    expect(await sessions.useToken(token, WANT)).toMatchObject({
      type: "admitted",
      payer: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
    });
    expect(store.calls).toHaveLength(1);
    time.advance(PASS_MEMORY_MS);
    expect(await sessions.useToken(token, WANT)).toMatchObject({ type: "admitted" });
    expect(store.calls).toHaveLength(2);
  });

  it("should check scope, price and expiry of a remembered pass on every request", async () => {
    const { time, store, sessions, token } = await setup({ usesLeft: null, expiresInMs: 1_000 });
    await sessions.useToken(token, WANT);

    const other = await sessions.useToken(token, { ...WANT, scope: "group:pro" });
    expect(other).toMatchObject({ type: "refused" });
    expect((other as { reason: string }).reason).toContain("for another scope");
    const dearer = await sessions.useToken(token, { ...WANT, amount: "250000" });
    expect((dearer as { reason: string }).reason).toContain("this route costs 250000");
    time.advance(1_000);
    const expired = await sessions.useToken(token, WANT);
    expect((expired as { reason: string }).reason).toContain("the session expired at");
    expect(store.calls).toHaveLength(1);
  });

  it("should forget a pass revoked through this isolate at once", async () => {
    const { sessions, token } = await setup({ usesLeft: null });
    await sessions.useToken(token, WANT);
    expect(await sessions.revokeToken(token)).toBe(true);
    expect(await sessions.useToken(token, WANT)).toMatchObject({ type: "refused" });
  });

  it("should never remember a use-counted pass: every use is decided by the store", async () => {
    const { store, sessions, token } = await setup({ usesLeft: 2 });
    expect(await sessions.useToken(token, WANT)).toMatchObject({ remaining: 1 });
    expect(await sessions.useToken(token, WANT)).toMatchObject({ remaining: 0 });
    expect(await sessions.useToken(token, WANT)).toMatchObject({ type: "refused" });
    expect(store.calls).toEqual([1, 1, 1]);
  });

  it("should answer unavailable, never admit, when the store fails before anything is remembered", async () => {
    const { store, sessions, token } = await setup({ usesLeft: null });
    store.down(true);
    expect(await sessions.useToken(token, WANT)).toMatchObject({ type: "unavailable" });
  });
});

describe("concurrent token uses", () => {
  it("should spend exactly the uses left across concurrent requests, leasing nothing meanwhile", async () => {
    const { store, sessions, token } = await setup({ usesLeft: 5 });
    const after = { defer: (p: Promise<unknown>) => void p };
    const open = store.hold();
    const answers = Array.from({ length: 8 }, () => sessions.useToken(token, WANT, after.defer));
    await new Promise((resolve) => setTimeout(resolve, 10));
    open();
    const results = await Promise.all(answers);
    const admitted = results.filter((r) => r.type === "admitted");
    expect(admitted).toHaveLength(5);
    expect(admitted.map((r) => (r as { remaining: number }).remaining).sort()).toEqual([
      0, 1, 2, 3, 4,
    ]);
    expect(results.filter((r) => r.type === "refused")).toHaveLength(3);
    expect(store.calls).toEqual(Array(8).fill(1));
  });

  it("should answer every concurrent request unavailable when the store fails", async () => {
    const { store, sessions, token } = await setup({ usesLeft: 5 });
    store.down(true);
    const results = await Promise.all(
      Array.from({ length: 4 }, () => sessions.useToken(token, WANT)),
    );
    expect(results.map((r) => r.type)).toEqual(Array(4).fill("unavailable"));
  });
});

describe("uses leased to the isolate", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  /** Collects what the service defers to after the answer, as `waitUntil` would. */
  function deferred() {
    const work: Array<Promise<unknown>> = [];
    return { defer: (p: Promise<unknown>) => void work.push(p), all: () => Promise.all(work) };
  }

  it("should serve a token used often from a lease, never more uses than were paid", async () => {
    const { store, sessions, token } = await setup({ usesLeft: 40 });
    const after = deferred();

    const remaining: Array<number | null> = [];
    for (let i = 0; i < 45; i++) {
      const result = await sessions.useToken(token, WANT, after.defer);
      if (result.type === "admitted") remaining.push(result.remaining);
    }
    expect(remaining).toEqual(Array.from({ length: 40 }, (_, i) => 39 - i));
    expect(store.calls.length).toBeLessThan(20);
    expect(Math.max(...store.calls)).toBeLessThanOrEqual(1 + MAX_LEASE);
    expect(await store.usesLeft(token)).toBe(0);
  });

  it("should give unspent leased uses back to the store when the lease ends", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout"] });
    const { time, store, sessions, token } = await setup({ usesLeft: 100 });
    const after = deferred();
    for (let i = 0; i < 4; i++) await sessions.useToken(token, WANT, after.defer);
    // Four requests; the store counted more, the rest leased to this isolate.
    const counted = 100 - ((await store.usesLeft(token)) ?? 0);
    expect(counted).toBeGreaterThan(4);
    await vi.advanceTimersByTimeAsync(PASS_MEMORY_MS);
    await after.all();
    expect(await store.usesLeft(token)).toBe(96);
    time.advance(PASS_MEMORY_MS);
    expect(await sessions.useToken(token, WANT)).toMatchObject({ remaining: 95 });
  });

  it("should give a leased use spent on a failed request back to the lease", async () => {
    const { store, sessions, token } = await setup({ usesLeft: 20 });
    const after = deferred();
    // 1: one use; 2: one and a lease of 1; 3: the lease's last (it ends); 4: one and a lease of 3.
    for (let i = 0; i < 4; i++) await sessions.useToken(token, WANT, after.defer);
    const fifth = await sessions.useToken(token, WANT, after.defer);
    expect(fifth).toMatchObject({ type: "admitted", remaining: 15 });
    if (fifth.type !== "admitted") throw new Error("not admitted");
    expect(fifth.ticket.lease).toBeDefined();
    const calls = store.calls.length;
    const refunds = store.refunds.length;
    await sessions.refund(fifth.ticket);
    expect(await sessions.useToken(token, WANT, after.defer)).toMatchObject({ remaining: 15 });
    expect(store.calls.length).toBe(calls);
    expect(store.refunds.length).toBe(refunds);
  });

  it("should stop serving a lease revoked through this isolate", async () => {
    const { sessions, token } = await setup({ usesLeft: 10 });
    const after = deferred();
    await sessions.useToken(token, WANT, after.defer);
    await sessions.useToken(token, WANT, after.defer);
    await sessions.revokeToken(token);
    expect(await sessions.useToken(token, WANT, after.defer)).toMatchObject({ type: "refused" });
  });
});
