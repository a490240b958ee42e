import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

vi.mock("cloudflare:workers", () => ({
  DurableObject: class {
    constructor(
      readonly ctx: unknown,
      readonly env: unknown,
    ) {}
  },
}));

import { durableCredit } from "../../../src/credit/service.ts";
import { CrawlerCredit } from "../../../src/credit/store.ts";
import { OWED_REFUND_KEEP_MS, OwedRefunds } from "../../../src/credit/owed.ts";
import { durableState, namespaceOver } from "../session-store-harness.ts";
import type { CallFate } from "../session-store-harness.ts";
import type { PayerSessions } from "../../../src/sessions/store.ts";

/**
 * Crawl credit refunds the store cannot take: a debit given back (the origin failed the page) is
 * owed by the isolate, retried after the answer and carried with the key's next credit call,
 * and given back once however often it is sent.
 */

const KEY = "key-thumbprint";
const ACCOUNT = "eip155:84532|0x036cbd53842c5426634e7929541ec2318f3dcf7e|0x2222";
let nonce = 0;

function deferred() {
  const work: Array<Promise<unknown>> = [];
  return { defer: (p: Promise<unknown>) => void work.push(p), all: () => Promise.all(work) };
}

/** The real credit store behind a network whose calls can fail, and one isolate's service. */
async function world() {
  const store = new CrawlerCredit(durableState(), {});
  let fate: (method: string) => CallFate = () => "pass";
  const namespace = namespaceOver(store as unknown as PayerSessions, "credit", {
    fate: (method) => fate(method),
  }) as unknown as DurableObjectNamespace<CrawlerCredit>;
  const owed = new OwedRefunds();
  const credit = durableCredit(namespace, { owed });
  const bought = await credit.topUp(KEY, ACCOUNT, ["eip155:84532:0xtopup"], "10000");
  expect(bought.type).toBe("credited");
  const debit = async () => {
    nonce += 1;
    const spent = await credit.debit({
      keyid: KEY,
      account: ACCOUNT,
      amount: "5000",
      nonce: `n${nonce}`,
      nonceExpiresAt: Date.now() + 60_000,
      resource: "https://shop.example/page",
    });
    if (spent.type !== "debited") throw new Error(`not debited: ${spent.type}`);
    return spent;
  };
  return {
    store,
    owed,
    credit,
    debit,
    setFate: (next: (method: string) => CallFate) => void (fate = next),
  };
}

beforeEach(() => {
  vi.useFakeTimers({ toFake: ["setTimeout", "Date"] });
  vi.setSystemTime(1_800_000_000_000);
  vi.spyOn(console, "error").mockImplementation(() => {});
});

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

describe("crawl credit refunds the store cannot take", () => {
  it("should confirm a refund the store took at once", async () => {
    const { store, owed, credit, debit } = await world();
    const spent = await debit();
    expect(await credit.refund(KEY, spent.debit)).toBe(true);
    expect(owed.size).toBe(0);
    expect(store.balance(ACCOUNT)).toBe("10000");
  });

  it("should give a debit back after the answer once the store is back, not lose it", async () => {
    const { store, owed, credit, debit, setFate } = await world();
    const spent = await debit();
    let down = true;
    setFate((method) => (method === "refund" && down ? "refuse" : "pass"));
    const after = deferred();
    expect(await credit.refund(KEY, spent.debit, after.defer)).toBe(false);
    expect(store.balance(ACCOUNT)).toBe("5000");
    down = false;
    await vi.advanceTimersByTimeAsync(5_000);
    await after.all();
    expect(store.balance(ACCOUNT)).toBe("10000");
    expect(owed.size).toBe(0);
  });

  it("should carry a refund still owed with the key's next debit, which spends after it", async () => {
    const { store, owed, credit, debit, setFate } = await world();
    const first = await debit();
    await debit(); // the balance is 0 now
    setFate((method) => (method === "refund" ? "refuse" : "pass"));
    const after = deferred();
    expect(await credit.refund(KEY, first.debit, after.defer)).toBe(false);
    await vi.advanceTimersByTimeAsync(5_000);
    await after.all();
    expect(owed.size).toBe(1);
    // The next page: the refund goes with the debit, so the credit is there to spend.
    const next = await debit();
    expect(next.balance).toBe("0");
    expect(owed.size).toBe(0);
    expect(store.balance(ACCOUNT)).toBe("0");
  });

  it("should give a debit back once when the refund's answer was lost and it is sent again", async () => {
    const { store, owed, credit, debit, setFate } = await world();
    const spent = await debit();
    setFate((method) => (method === "refund" ? "lose" : "pass"));
    expect(await credit.refund(KEY, spent.debit)).toBe(false);
    expect(store.balance(ACCOUNT)).toBe("10000"); // the store took it; its answer was lost
    expect(owed.size).toBe(1);
    setFate(() => "pass");
    expect(await credit.balance(KEY, ACCOUNT)).toBe("10000"); // carried again: nothing more
    expect(owed.size).toBe(0);
    expect(await credit.refund(KEY, spent.debit)).toBe(true);
    expect(store.balance(ACCOUNT)).toBe("10000");
  });

  it("should not give back, with a carried refund, what the key's own store never debited", async () => {
    const { store, owed, credit } = await world();
    owed.add(KEY, "not-a-debit-of-this-key", Date.now());
    expect(await credit.balance(KEY, ACCOUNT)).toBe("10000");
    expect(store.balance(ACCOUNT)).toBe("10000");
  });

  it("should give back a debit the store made when its answer was lost, after the answer", async () => {
    const { store, owed, credit, setFate } = await world();
    setFate((method) => (method === "debit" ? "lose" : "pass"));
    const after = deferred();
    const lost = await credit.debit(
      {
        keyid: KEY,
        account: ACCOUNT,
        amount: "5000",
        nonce: "n-lost",
        nonceExpiresAt: Date.now() + 60_000,
        resource: "https://shop.example/page",
      },
      after.defer,
    );
    expect(lost.type).toBe("unavailable");
    expect(store.balance(ACCOUNT)).toBe("5000"); // the store made it; its answer was lost
    setFate(() => "pass");
    await vi.advanceTimersByTimeAsync(5_000);
    await after.all();
    expect(store.balance(ACCOUNT)).toBe("10000");
    expect(owed.size).toBe(0);
  });

  it("should carry the give-back of a lost debit with the key's next call when no retry runs", async () => {
    const { store, owed, credit, debit, setFate } = await world();
    setFate((method) => (method === "debit" ? "lose" : "pass"));
    const lost = await credit.debit({
      keyid: KEY,
      account: ACCOUNT,
      amount: "5000",
      nonce: "n-lost-2",
      nonceExpiresAt: Date.now() + 60_000,
      resource: "https://shop.example/page",
    });
    expect(lost.type).toBe("unavailable");
    expect(owed.size).toBe(1);
    setFate(() => "pass");
    // The next page: the lost debit is given back first, so both pages bought are there.
    expect((await debit()).balance).toBe("5000");
    expect((await debit()).balance).toBe("0");
    expect(store.balance(ACCOUNT)).toBe("0");
    expect(owed.size).toBe(0);
  });

  it("should never make a debit that was given back before the store saw it", async () => {
    const { store, owed, credit, setFate } = await world();
    // The debit never reached the store (refused on the way); its give-back arrives first.
    setFate((method) => (method === "debit" ? "refuse" : "pass"));
    const input = {
      keyid: KEY,
      account: ACCOUNT,
      amount: "5000",
      nonce: "n-late",
      nonceExpiresAt: Date.now() + 60_000,
      resource: "https://shop.example/page",
    };
    expect((await credit.debit(input)).type).toBe("unavailable");
    const [owedId] = owed.for(KEY, Date.now());
    expect(owedId).toBeDefined();
    expect(await credit.balance(KEY, ACCOUNT)).toBe("10000"); // carries the give-back
    expect(owed.size).toBe(0);
    // The same debit arriving late (a delayed call) is refused and spends nothing.
    const late = store.debit({ ...input, id: owedId! });
    expect(late.ok).toBe(false);
    expect(store.balance(ACCOUNT)).toBe("10000");
    // Its nonce stays unspent by it: a fresh signature with another nonce still spends.
    expect(store.debit({ ...input, nonce: "n-after" }).ok).toBe(true);
    expect(store.balance(ACCOUNT)).toBe("5000");
  });

  it("should keep an owed refund for an hour, then drop it (logged)", async () => {
    const owed = new OwedRefunds();
    owed.add(KEY, "d1", 0);
    expect(owed.for(KEY, OWED_REFUND_KEEP_MS - 1)).toEqual(["d1"]);
    expect(owed.for("other key", 0)).toEqual([]);
    expect(owed.for(KEY, OWED_REFUND_KEEP_MS)).toEqual([]);
    expect(owed.size).toBe(0);
  });
});
