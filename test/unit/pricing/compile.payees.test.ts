import { describe, expect, it } from "vitest";
import { readPayee } from "../../../src/paywall/quote-headers.ts";
import { compileTable, parsePriceTable } from "../../../src/pricing/index.ts";
import type { CompiledTable, Lookup } from "../../../src/pricing/index.ts";
import { BASE_SEPOLIA, PAY_TO } from "../fixtures.ts";

/** Dynamic payees: the request picks the payee from a map in the table; no entry, no payment. */

const ALICE = "0xA11CE00000000000000000000000000000000001";
const BOB = "0xB0B0000000000000000000000000000000000002";

function compile(extra: Record<string, unknown> = {}, rules?: unknown[]) {
  const parsed = parsePriceTable({
    payees: {
      sellers: { alice: ALICE, Bob: BOB },
      tenants: { "shop.alice.example": ALICE, "bob.example.": BOB },
    },
    rules: rules ?? [
      {
        path: "/sellers/:id/*",
        price: "$0.01",
        payee: { map: "sellers", from: "param:id" },
        session: { ttl: "1h", scope: "group:catalogue" },
      },
      { host: "*.example", path: "/*", price: "$0.02", payee: { map: "tenants", from: "host" } },
    ],
    ...extra,
  });
  if (!parsed.ok) return { ok: false as const, errors: parsed.errors };
  return compileTable(parsed.table, { network: BASE_SEPOLIA, payTo: PAY_TO });
}

function table(): CompiledTable {
  const compiled = compile();
  if (!compiled.ok) throw new Error(compiled.errors.join("; "));
  return compiled.table;
}

function payTo(lookup: Lookup): string {
  if (lookup.kind !== "priced") throw new Error(`${lookup.kind}: ${JSON.stringify(lookup)}`);
  return lookup.offer.payTo;
}

describe("dynamic payees", () => {
  it("should pay the seller named in the path, whatever its letter case", () => {
    const t = table();
    expect(payTo(t.match({ method: "GET", host: "m.test", path: "/sellers/alice/item" }))).toBe(
      ALICE,
    );
    expect(payTo(t.match({ method: "GET", host: "m.test", path: "/sellers/BOB/x" }))).toBe(BOB);
  });

  it("should pay the tenant that owns the host, a trailing dot aside", () => {
    const t = table();
    expect(payTo(t.match({ method: "GET", host: "shop.alice.example", path: "/a" }))).toBe(ALICE);
    expect(payTo(t.match({ method: "GET", host: "BOB.example", path: "/a" }))).toBe(BOB);
  });

  it("should refuse a request whose payee is not in the map, never paying a default", () => {
    const t = table();
    expect(t.match({ method: "GET", host: "m.test", path: "/sellers/carol/x" })).toEqual({
      kind: "unknown-payee",
      rule: "/sellers/:id/*",
      reason: 'no payee is configured for id "carol"',
    });
    expect(t.match({ method: "GET", host: "eve.example", path: "/x" })).toMatchObject({
      kind: "unknown-payee",
      reason: "no payee is configured for host eve.example",
    });
  });

  it("should scope passes to the payee: a pass from one seller never opens another's", () => {
    const t = table();
    const alice = t.match({ method: "GET", host: "m.test", path: "/sellers/alice/x" });
    const bob = t.match({ method: "GET", host: "m.test", path: "/sellers/bob/x" });
    if (alice.kind !== "priced" || bob.kind !== "priced") throw new Error("free");
    expect(alice.offer.session?.scope).toBe(`group:catalogue@${ALICE.toLowerCase()}`);
    expect(bob.offer.session?.scope).toBe(`group:catalogue@${BOB.toLowerCase()}`);
    expect(alice.offer.session?.routeKey).not.toBe(bob.offer.session?.routeKey);
  });

  it("should list one resource per payee for discovery", () => {
    const listed = table().listing.filter((r) => r.result.kind === "priced");
    expect(listed.map((r) => [r.host, r.path])).toEqual([
      [undefined, "/sellers/alice/*"],
      [undefined, "/sellers/bob/*"],
      ["shop.alice.example", "/*"],
      ["bob.example", "/*"],
    ]);
  });

  it.each([
    [
      { payee: { map: "nobody", from: "host" } },
      'rules[0].payee.map: the table has no payees map "nobody"',
    ],
    [
      { payee: { map: "sellers", from: "param:seller" } },
      'rules[0].payee.from: the path "/s/:id" has no :seller segment',
    ],
    [{ payee: { map: "sellers", from: "query:id" } }, "rules[0].payee.from"],
  ])("should refuse the rule %j when the table loads", (rule, problem) => {
    const compiled = compile({}, [{ path: "/s/:id", price: "$0.01", ...rule }]);
    expect(compiled.ok).toBe(false);
    if (!compiled.ok) expect(compiled.errors.join("\n")).toContain(problem);
  });

  it("should refuse a map holding something that is not an address", () => {
    const compiled = compile({ payees: { sellers: { alice: "0x1234" } } }, []);
    expect(compiled.ok).toBe(false);
    if (!compiled.ok) expect(compiled.errors.join("\n")).toContain("payees.sellers.alice");
  });
});

describe("a payee named by the origin", () => {
  it("should compile to an offer nobody can pay until the origin names the payee", () => {
    const compiled = compile({}, [{ path: "/t/*", price: "$0.01", payee: { from: "origin" } }]);
    expect(compiled.ok).toBe(true);
    if (!compiled.ok) return;
    const found = compiled.table.match({ method: "GET", host: "a.example", path: "/t/x" });
    expect(found.kind).toBe("priced");
    if (found.kind !== "priced") return;
    expect(found.offer).toMatchObject({ payTo: "", payeeFromOrigin: true });
  });

  it("should refuse it with alsoAccept, session or metered", () => {
    for (const extra of [
      { alsoAccept: [{ network: "eip155:8453", price: "$0.01" }] },
      { session: { ttl: "1h" } },
      { metered: { unitPrice: "$0.001", usage: { header: "x-units" } } },
    ]) {
      const compiled = compile({}, [
        { path: "/t/*", price: "$0.01", payee: { from: "origin" }, ...extra },
      ]);
      expect(compiled.ok).toBe(false);
      if (compiled.ok) continue;
      expect(compiled.errors.join()).toContain("a payee from the origin cannot be combined");
    }
  });

  it("should take only an address of the rule's network from the origin", () => {
    expect(readPayee(ALICE, BASE_SEPOLIA)).toEqual({ ok: true, payTo: ALICE });
    expect(readPayee(null, BASE_SEPOLIA)).toMatchObject({ ok: false });
    expect(readPayee("JBKYsH6n75jUPJsprTmMadqz53yNUBGHv1uYrNd334gf", BASE_SEPOLIA)).toMatchObject({
      ok: false,
    });
    expect(
      readPayee(
        "JBKYsH6n75jUPJsprTmMadqz53yNUBGHv1uYrNd334gf",
        "solana:EtWTRABZaYq6iMfeYKouRu166VU2xqa1",
      ),
    ).toMatchObject({ ok: true });
  });
});

describe("a payee named by the origin, for crawlers", () => {
  it("should give charged crawlers the origin's payee too, not the default payTo (regression)", () => {
    const parsed = parsePriceTable({
      rules: [{ path: "/t/*", price: "$0.01", payee: { from: "origin" } }],
      crawlers: { unverified: { action: "charge" } },
    });
    if (!parsed.ok) throw new Error(parsed.errors.join());
    const compiled = compileTable(parsed.table, { network: BASE_SEPOLIA });
    expect(compiled.ok).toBe(true);
    if (!compiled.ok) return;
    const found = compiled.table.match({ method: "GET", host: "a.example", path: "/t/x" });
    expect(found.kind).toBe("priced");
    expect(found.kind === "priced" && found.crawl).toMatchObject({ payeeFromOrigin: true });
  });
});
