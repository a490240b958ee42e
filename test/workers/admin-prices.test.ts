import { env } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import { PRICE_TABLE_KEY } from "../../src/kv";
import { ADMIN_TOKEN, admin, adminJson, jsonOf } from "./admin-helpers";
import { TABLE, call, decodeHeader, putTable } from "./helpers";

/**
 * The admin API's price-table calls inside workerd with real local KV: auth, reading, validating,
 * replacing with revisions, refusing invalid tables (the old one stays in force), and rolling back
 * (the Worker serves the restored table within its cache time).
 */

const withPrice = (price: string, version: string) => ({
  ...TABLE,
  version,
  rules: TABLE.rules.map((rule) => (rule.path === "/api/*" ? { ...rule, price } : rule)),
});

/** The amount the Worker asks for /api/…, read from a real 402 (with an optional table TTL). */
async function apiPrice(ttlSeconds?: string): Promise<string> {
  const overrides = ttlSeconds === undefined ? {} : { PRICE_TABLE_TTL_SECONDS: ttlSeconds };
  const response = await call(new Request("https://shop.test/api/price-probe"), overrides);
  expect(response.status).toBe(402);
  const required = decodeHeader<{ accepts: Array<{ amount: string }> }>(
    response.headers.get("PAYMENT-REQUIRED"),
  );
  return required.accepts[0]!.amount;
}

beforeEach(async () => {
  await putTable();
  const listed = await env.PRICES.list({ prefix: "price-table:rev:" });
  await Promise.all(listed.keys.map((key) => env.PRICES.delete(key.name)));
});

describe("admin API authentication", () => {
  it("should refuse every price-table call without the token, with a wrong one, or when off", async () => {
    for (const [path, method] of [
      ["/prices", "GET"],
      ["/prices", "PUT"],
      ["/prices/versions", "GET"],
      ["/prices/validate", "POST"],
      ["/prices/rollback", "POST"],
      ["/receipts", "GET"],
      ["/revenue", "GET"],
      ["/config", "GET"],
      ["/health", "GET"],
    ] as const) {
      const init = { method, ...(method === "GET" ? {} : { body: JSON.stringify(TABLE) }) };
      expect((await admin(path, init, null)).status, `${method} ${path}`).toBe(401);
      expect((await admin(path, init, `${ADMIN_TOKEN}x`)).status, `${method} ${path}`).toBe(401);
      const off = await call(new Request(`https://admin.test/__x402/admin${path}`, init), {
        ADMIN_TOKEN: "",
      });
      expect(off.status).toBe(403);
    }
    expect(JSON.parse((await env.PRICES.get(PRICE_TABLE_KEY))!)).toEqual(TABLE);
  });

  it("should never send the admin prefix to the origin", async () => {
    const response = await call(new Request("https://shop.test/__x402/admin"));
    expect([401, 404]).toContain(response.status);
    const spelled = await call(new Request("https://shop.test/__X402/Admin/prices"));
    expect(spelled.status).toBe(404);
  });
});

describe("price table: read and validate", () => {
  it("should return the live table, marking one written outside the API as revision 0", async () => {
    const response = await admin("/prices");
    expect(response.status).toBe(200);
    expect(response.headers.get("Cache-Control")).toBe("no-store");
    const body = await jsonOf<{ revision: number; table: unknown; sha256: string }>(response);
    expect(body.revision).toBe(0);
    expect(body.table).toEqual(TABLE);
    expect(body.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it("should validate a good table and list every problem of a bad one by JSON path", async () => {
    const good = await adminJson("/prices/validate", "POST", TABLE);
    expect(await jsonOf(good)).toEqual({ ok: true, version: "test-1", rules: TABLE.rules.length });
    const bad = await adminJson("/prices/validate", "POST", {
      rules: [
        { path: "/a", price: "1 dollar" },
        { path: "b", free: true },
      ],
    });
    expect(bad.status).toBe(422);
    const body = await jsonOf<{ error: string; errors: string[] }>(bad);
    expect(body.error).toBe("invalid_price_table");
    expect(body.errors).toEqual([
      'rules[0].price: must look like "$0.01" (a dollar sign and a decimal amount)',
      "rules[1].path: must start with /",
    ]);
    const unresolved = await adminJson("/prices/validate", "POST", {
      rules: [{ path: "/a", price: "$0.01", network: "eip155:999999" }],
    });
    expect((await jsonOf<{ errors: string[] }>(unresolved)).errors[0]).toContain("rules[0]");
  });

  it("should answer bad input with a 4xx and its reason", async () => {
    const notJson = await adminJson("/prices/validate", "POST", "{ rules: [");
    expect(notJson.status).toBe(422);
    expect((await jsonOf<{ errors: string[] }>(notJson)).errors[0]).toMatch(/^not valid JSON/);
    expect((await admin("/prices/validate", { method: "POST", body: "" })).status).toBe(400);
    expect((await admin("/prices/versions/abc")).status).toBe(400);
    expect((await admin("/prices/versions/999")).status).toBe(404);
    expect((await admin("/prices?expect=x", { method: "PUT", body: "{}" })).status).toBe(400);
    expect((await adminJson("/prices/rollback", "POST", { to: "one" })).status).toBe(400);
    const huge = await admin("/prices", {
      method: "PUT",
      body: JSON.stringify({ ...TABLE, pad: "x".repeat(5 * 1024 * 1024) }),
    });
    expect(huge.status).toBe(413);
    expect((await admin("/nothing")).status).toBe(404);
  });
});

describe("price table: a table written outside the API", () => {
  it("should list it as live revision 0 (not leave it out), readable as /prices/versions/0", async () => {
    const listed = await jsonOf<{ live: number; versions: Array<Record<string, unknown>> }>(
      await admin("/prices/versions"),
    );
    expect(listed.live).toBe(0);
    expect(listed.versions).toMatchObject([
      { revision: 0, savedAt: null, version: TABLE.version, note: "written outside the admin API" },
    ]);
    const zero = await jsonOf<{ revision: number; table: unknown }>(
      await admin("/prices/versions/0"),
    );
    expect(zero).toMatchObject({ revision: 0, table: TABLE });
  });

  it("should keep it as revision 1, noting it was revision 0, when a push replaces it", async () => {
    await adminJson("/prices", "PUT", withPrice("$0.002", "v2"));
    const listed = await jsonOf<{ live: number; versions: Array<Record<string, unknown>> }>(
      await admin("/prices/versions"),
    );
    expect(listed.live).toBe(2);
    expect(listed.versions.map((v) => [v["revision"], v["note"]])).toEqual([
      [2, ""],
      [1, "written outside the admin API (live as revision 0)"],
    ]);
    expect((await admin("/prices/versions/0")).status).toBe(404);
  });

  it("should state when each revision was saved as an ISO date, not epoch milliseconds", async () => {
    const saved = await jsonOf<{ savedAt: unknown }>(
      await adminJson("/prices", "PUT", withPrice("$0.002", "v2")),
    );
    const live = await jsonOf<{ savedAt: unknown }>(await admin("/prices"));
    const listed = await jsonOf<{ versions: Array<{ savedAt: unknown }> }>(
      await admin("/prices/versions"),
    );
    for (const savedAt of [saved.savedAt, live.savedAt, listed.versions[0]?.savedAt]) {
      expect(typeof savedAt).toBe("string");
      expect(savedAt).toBe(new Date(Date.parse(String(savedAt))).toISOString());
    }
  });
});

describe("price table: push and roll back", () => {
  it("should refuse an invalid push with a useful message and keep the old table in force", async () => {
    const before = await apiPrice();
    const response = await adminJson("/prices", "PUT", {
      ...TABLE,
      rules: [...TABLE.rules, { path: "/new/*", price: "$0.0000001" }],
    });
    expect(response.status).toBe(422);
    const body = await jsonOf<{ message: string; errors: string[] }>(response);
    expect(body.message).toContain("the table in force is unchanged");
    expect(body.errors.join()).toContain(`rules[${TABLE.rules.length}]`);
    expect(JSON.parse((await env.PRICES.get(PRICE_TABLE_KEY))!)).toEqual(TABLE);
    const listed = await jsonOf<{ versions: Array<{ revision: number }> }>(
      await admin("/prices/versions"),
    );
    expect(listed.versions.map((v) => v.revision)).toEqual([0]);
    expect(await apiPrice()).toBe(before);
  });

  it("should keep revisions, refuse a stale push, and report an unchanged one", async () => {
    const first = await adminJson("/prices?note=raise", "PUT", withPrice("$0.002", "v2"));
    expect(first.status).toBe(200);
    // The table written outside the API was kept as revision 1; the push is revision 2.
    expect(await jsonOf(first)).toMatchObject({ result: "saved", revision: 2, version: "v2" });
    expect(await apiPrice()).toBe("2000");
    const again = await adminJson("/prices", "PUT", withPrice("$0.002", "v2"));
    expect(await jsonOf(again)).toMatchObject({ result: "unchanged", revision: 2 });
    const stale = await adminJson("/prices?expect=1", "PUT", withPrice("$0.003", "v3"));
    expect(stale.status).toBe(409);
    expect((await jsonOf<{ message: string }>(stale)).message).toContain("revision 2");
    const versions = await jsonOf<{ live: number; versions: Array<Record<string, unknown>> }>(
      await admin("/prices/versions"),
    );
    expect(versions.live).toBe(2);
    expect(versions.versions.map((v) => [v["revision"], v["note"]])).toEqual([
      [2, "raise"],
      [1, "written outside the admin API (live as revision 0)"],
    ]);
    const old = await jsonOf<{ table: unknown }>(await admin("/prices/versions/1"));
    expect(old.table).toEqual(TABLE);
  });

  it("should roll back to the previous revision, served within the cache time", async () => {
    await adminJson("/prices", "PUT", withPrice("$0.002", "v2"));
    await adminJson("/prices", "PUT", withPrice("$0.005", "v3"));
    expect(await apiPrice("1")).toBe("5000");

    const rolled = await adminJson("/prices/rollback", "POST", {});
    expect(rolled.status).toBe(200);
    expect(await jsonOf(rolled)).toMatchObject({
      result: "saved",
      revision: 4,
      version: "v2",
      note: "rollback to revision 2",
    });
    const live = await jsonOf<{ table: unknown }>(await admin("/prices"));
    expect(live.table).toEqual(withPrice("$0.002", "v2"));

    // An isolate keeps its table for PRICE_TABLE_TTL_SECONDS (1 s here), then serves revision 2.
    const start = Date.now();
    let price = await apiPrice("1");
    while (price !== "2000" && Date.now() - start < 3000) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      price = await apiPrice("1");
    }
    expect(price).toBe("2000");
    expect(Date.now() - start).toBeLessThan(2500);

    const toFirst = await adminJson("/prices/rollback", "POST", { to: 1 });
    expect(await jsonOf(toFirst)).toMatchObject({ revision: 5, version: "test-1" });
    expect(await apiPrice()).toBe("1000");
    const missing = await adminJson("/prices/rollback", "POST", { to: 77 });
    expect(missing.status).toBe(404);
  });

  it("should refuse to roll back when nothing earlier is kept", async () => {
    const response = await adminJson("/prices/rollback", "POST", {});
    expect(response.status).toBe(404);
    expect((await jsonOf<{ message: string }>(response)).message).toContain("no earlier revision");
  });

  it("should keep only the last 10 revisions", async () => {
    for (let i = 1; i <= 12; i += 1) {
      const response = await adminJson("/prices", "PUT", withPrice(`$0.00${(i % 9) + 1}`, `r${i}`));
      expect(response.status).toBe(200);
    }
    const { versions } = await jsonOf<{ versions: Array<{ revision: number }> }>(
      await admin("/prices/versions"),
    );
    expect(versions.map((v) => v.revision)).toEqual([13, 12, 11, 10, 9, 8, 7, 6, 5, 4]);
  });
});
