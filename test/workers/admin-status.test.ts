import { env } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import { admin, jsonOf } from "./admin-helpers";
import { call, putTable } from "./helpers";

/**
 * The admin API's health and configuration calls inside workerd: what each part's state is, and
 * an effective configuration that never shows a secret.
 */

const SECRETS = ["workers-test-admin-token", "workers-test-session-secret-0123456789"];

beforeEach(async () => {
  await putTable();
});

describe("health", () => {
  it("should report every part ok on a working deployment", async () => {
    const response = await admin("/health");
    expect(response.status).toBe(200);
    expect(await jsonOf(response)).toEqual({
      ok: true,
      checks: { configuration: "ok", priceTable: "ok", sessions: "ok", ledger: "ok" },
      priceTableVersion: "test-1",
    });
  });

  it("should say a stored table is rejected while the last good one is served", async () => {
    await admin("/health");
    await env.PRICES.put("price-table", "{ not json");
    const response = await admin("/health");
    expect(response.status).toBe(200);
    const body = await jsonOf<{ ok: boolean; checks: Record<string, string> }>(response);
    expect(body.checks["priceTable"]).toMatch(
      /^serving the last good table; the stored one is rejected: not valid JSON/,
    );
  });

  it("should answer 503 with the reason when no table can be served", async () => {
    await env.PRICES.put("price-table", JSON.stringify({ rules: [{ path: "/a" }] }));
    // Another TTL builds another table cache, one that never saw a good table.
    const response = await call(
      new Request("https://admin.test/__x402/admin/health", {
        headers: { Authorization: `Bearer ${SECRETS[0]}` },
      }),
      { PRICE_TABLE_TTL_SECONDS: "7" },
    );
    expect(response.status).toBe(503);
    const body = await jsonOf<{ ok: boolean; checks: Record<string, string> }>(response);
    expect(body.ok).toBe(false);
    expect(body.checks["priceTable"]).toContain('rules[0]: needs a "price" or "free": true');
  });

  it("should count receipts parked in KV that D1 would not take", async () => {
    await env.PRICES.put("receipt-pending:eip155:84532:0xbroken", "not a receipt");
    const body = await jsonOf<{ checks: Record<string, string> }>(await admin("/health"));
    expect(body.checks["ledger"]).toBe("1 receipt(s) parked in KV, D1 is not taking writes");
    await env.PRICES.delete("receipt-pending:eip155:84532:0xbroken");
  });
});

describe("configuration", () => {
  it("should show the effective configuration with secrets and URL credentials redacted", async () => {
    const response = await call(
      new Request("https://admin.test/__x402/admin/config", {
        headers: { Authorization: `Bearer ${SECRETS[0]}` },
      }),
      { FACILITATOR_URLS: "https://user:pass@facilitator.example/x402?apiKey=abc123" },
    );
    expect(response.status).toBe(200);
    const text = await response.text();
    for (const secret of [...SECRETS, "pass@", "abc123"]) expect(text).not.toContain(secret);
    const body = JSON.parse(text) as Record<string, Record<string, unknown>>;
    expect(body["secrets"]).toMatchObject({ ADMIN_TOKEN: "set", SESSION_SECRET: "set" });
    expect(body["variables"]?.["FACILITATOR_URLS"]).toBe(
      "https://(redacted)@facilitator.example/x402?(redacted)",
    );
    expect(body["effective"]).toMatchObject({
      priceTableTtlSeconds: 0,
      sessions: true,
      ledger: true,
    });
    expect(body["bindings"]).toHaveProperty("PRICES");
    expect(body["bindings"]).toHaveProperty("LEDGER");
  });

  it("should name the problem of an invalid configuration", async () => {
    const response = await call(
      new Request("https://admin.test/__x402/admin/config", {
        headers: { Authorization: `Bearer ${SECRETS[0]}` },
      }),
      { ORIGIN_URL: "ftp://nope" },
    );
    const body = await jsonOf<{ ok: boolean; reason: string; effective: unknown }>(response);
    expect(body).toMatchObject({ ok: false, effective: null });
    expect(body.reason).toContain("ORIGIN_URL");
  });
});
