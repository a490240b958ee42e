import { describe, expect, it } from "vitest";
import { PRICE_TABLE_KEY, PriceTableStore } from "../../../src/kv/index.ts";
import type { TableSource, TableState } from "../../../src/kv/index.ts";
import type { Lookup } from "../../../src/pricing/index.ts";
import { BASE_SEPOLIA, PAY_TO } from "../fixtures.ts";

const TTL_MS = 10_000;
const ONE_CENT = JSON.stringify({ version: 1, rules: [{ path: "/paid", price: "$0.01" }] });
const TWO_CENTS = JSON.stringify({ version: 2, rules: [{ path: "/paid", price: "$0.02" }] });

/** A KV stand-in: `value` is what the next read returns (or throws); `gate` holds reads back. */
class FakeKv implements TableSource {
  value: string | null | Error;
  keys: string[] = [];
  gate: Promise<void> | undefined;

  constructor(value: string | null | Error) {
    this.value = value;
  }

  async get(key: string): Promise<string | null> {
    this.keys.push(key);
    await this.gate;
    if (this.value instanceof Error) throw this.value;
    return this.value;
  }
}

function setup(value: string | null | Error) {
  const kv = new FakeKv(value);
  const clock = { now: 1_000_000 };
  const logs: string[] = [];
  const store = new PriceTableStore(kv, {
    ttlMs: TTL_MS,
    env: { network: BASE_SEPOLIA, payTo: PAY_TO },
    now: () => clock.now,
    log: (message: string) => logs.push(message),
  });
  return { kv, clock, logs, store };
}

function paidMatch(state: TableState): Lookup {
  if (!state.ok) throw new Error(state.reason);
  return state.table.match({ method: "GET", host: "example.com", path: "/paid" });
}

function amountOf(state: TableState): string | undefined {
  const match = paidMatch(state);
  return match.kind === "priced" ? match.offer.amount : undefined;
}

describe("PriceTableStore", () => {
  it("should load the table from its KV key and serve it compiled", async () => {
    const { kv, store, logs } = setup(ONE_CENT);
    const state = await store.current();
    expect(amountOf(state)).toBe("10000");
    expect(state.ok && state.table.version).toBe(1);
    expect(kv.keys).toEqual([PRICE_TABLE_KEY]);
    expect(logs).toEqual([]);
  });

  it("should not read KV again within the TTL", async () => {
    const { kv, clock, store } = setup(ONE_CENT);
    await store.current();
    kv.value = TWO_CENTS;
    clock.now += TTL_MS - 1;
    expect(amountOf(await store.current())).toBe("10000");
    expect(kv.keys).toHaveLength(1);
  });

  it("should read KV again after the TTL and serve the new table", async () => {
    const { kv, clock, store } = setup(ONE_CENT);
    await store.current();
    kv.value = TWO_CENTS;
    clock.now += TTL_MS;
    expect(amountOf(await store.current())).toBe("20000");
    expect(kv.keys).toHaveLength(2);
  });

  it("should keep the compiled table when KV still holds the same JSON", async () => {
    const { clock, store } = setup(ONE_CENT);
    const first = await store.current();
    clock.now += TTL_MS;
    const second = await store.current();
    expect(first.ok && second.ok && first.table === second.table).toBe(true);
  });

  it("should read KV once per TTL while others serve the last good table without waiting", async () => {
    const { kv, clock, store } = setup(ONE_CENT);
    await store.current();
    clock.now += TTL_MS;
    let release = () => {};
    kv.gate = new Promise((resolve) => (release = resolve));
    const refreshing = store.current();
    // These do not wait on the read the first request started.
    const others = await Promise.all([store.current(), store.current()]);
    expect(others.map(amountOf)).toEqual(["10000", "10000"]);
    release();
    expect(amountOf(await refreshing)).toBe("10000");
    expect(kv.keys).toHaveLength(2);
  });

  it("regression: should never make a request await another request's KV read", async () => {
    const { kv, clock, store } = setup(ONE_CENT);
    await store.current();
    clock.now += TTL_MS;
    kv.gate = new Promise(() => {}); // the first request's read never finishes (cancelled)
    void store.current();
    const state = await store.current();
    expect(amountOf(state)).toBe("10000");
  });

  it.each([
    ["not JSON", "{ rules: [", "the price table is not valid JSON"],
    [
      "failing the schema",
      JSON.stringify({ rules: [{ path: "/paid", price: "1" }] }),
      "rules[0].price",
    ],
    [
      "not resolvable",
      JSON.stringify({ rules: [{ path: "/paid", price: "$1", network: "eip155:999999" }] }),
      "no default USDC is known on eip155:999999",
    ],
  ])(
    "should keep serving the last good table over one %s, and log why",
    async (_name, raw, why) => {
      const { kv, clock, logs, store } = setup(ONE_CENT);
      await store.current();
      kv.value = raw;
      clock.now += TTL_MS;
      expect(amountOf(await store.current())).toBe("10000");
      expect(logs).toHaveLength(1);
      expect(logs[0]).toContain("serving the last good table");
      expect(logs[0]).toContain(why);
    },
  );

  it.each([
    ["not JSON", "[", "the price table is not valid JSON"],
    ["failing the schema", JSON.stringify({ rules: "all" }), "the price table is invalid: rules"],
    [
      "not resolvable",
      JSON.stringify({ rules: [{ path: "/paid", price: "$1", network: "eip155:999999" }] }),
      "the price table is invalid: rules[0]: no default USDC is known on eip155:999999",
    ],
  ])("should fail closed on a first table %s", async (_name, raw, why) => {
    const { logs, store } = setup(raw);
    const state = await store.current();
    expect(state.ok).toBe(false);
    expect(!state.ok && state.reason).toContain(why);
    expect(logs[0]).toContain("failing closed");
  });

  it("should fail closed when no table is stored", async () => {
    const { store } = setup(null);
    expect(await store.current()).toEqual({
      ok: false,
      reason: `no price table is stored under the KV key "${PRICE_TABLE_KEY}"`,
    });
  });

  it("should keep the last good table when the key disappears", async () => {
    const { kv, clock, store } = setup(ONE_CENT);
    await store.current();
    kv.value = null;
    clock.now += TTL_MS;
    expect(amountOf(await store.current())).toBe("10000");
  });

  it("should fail closed when KV throws and there is no table yet", async () => {
    const { store } = setup(new Error("KV is down"));
    expect(await store.current()).toEqual({
      ok: false,
      reason: "reading the price table from KV failed: Error: KV is down",
    });
  });

  it("should keep the last good table when KV throws", async () => {
    const { kv, clock, logs, store } = setup(ONE_CENT);
    await store.current();
    kv.value = new Error("KV is down");
    clock.now += TTL_MS;
    expect(amountOf(await store.current())).toBe("10000");
    expect(logs[0]).toContain("KV is down");
  });

  it("should recover once a good table is stored", async () => {
    const { kv, clock, store } = setup("nonsense");
    expect((await store.current()).ok).toBe(false);
    kv.value = TWO_CENTS;
    clock.now += TTL_MS;
    expect(amountOf(await store.current())).toBe("20000");
  });

  it("should wait a TTL before retrying a failed read", async () => {
    const { kv, clock, store } = setup(null);
    await store.current();
    kv.value = ONE_CENT;
    clock.now += TTL_MS - 1;
    expect((await store.current()).ok).toBe(false);
    expect(kv.keys).toHaveLength(1);
  });
});
