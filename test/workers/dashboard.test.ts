import { env } from "cloudflare:test";
import { privateKeyToAccount, generatePrivateKey } from "viem/accounts";
import { beforeEach, describe, expect, it } from "vitest";
import { STATIC_ASSETS } from "../../src/assets";
import { ReceiptsLedger } from "../../src/ledger";
import type { Receipt } from "../../src/ledger";
import { ADMIN_TOKEN, admin, dashboardFigures } from "./admin-helpers";
import type { DashboardFigures } from "./admin-helpers";
import { PAY_TO, TABLE, USDC, call, putTable, unique } from "./helpers";

/**
 * The dashboard inside workerd: refused without the admin token, signed in by bearer header or by
 * the sign-in form's cookie, self-contained (its own stylesheet and script only, a CSP that
 * forbids everything else), and sending the ledger's figures for its script to draw. What the
 * script draws from them is tested in test/unit/operator/dashboard-script.test.ts, and in
 * Chromium end to end (test/e2e).
 */

const DASHBOARD = "https://admin.test/__x402/dashboard";

async function dashboardData(): Promise<DashboardFigures> {
  return dashboardFigures(await (await admin("/__x402/dashboard")).text());
}

function form(token: string): Request {
  return new Request(`${DASHBOARD}/login`, {
    method: "POST",
    body: new URLSearchParams({ token }),
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
  });
}

beforeEach(async () => {
  await putTable();
});

describe("dashboard access", () => {
  it("should answer the sign-in form without the token, and refuse a wrong one", async () => {
    const anonymous = await call(new Request(DASHBOARD));
    expect(anonymous.status).toBe(401);
    expect(await anonymous.text()).toContain('action="/__x402/dashboard/login"');
    expect((await admin("/__x402/dashboard", {}, "wrong")).status).toBe(401);
    const wrong = await call(form("wrong"));
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get("Set-Cookie")).toBeNull();
    expect(await wrong.text()).toContain("that is not the admin token");
    const off = await call(new Request(DASHBOARD), { ADMIN_TOKEN: "" });
    expect(off.status).toBe(403);
    // The sign-in page loads the dashboard's stylesheet and nothing else, no inline style either.
    const { path: stylePath } = STATIC_ASSETS["dashboard.css"];
    expect(anonymous.headers.get("Content-Security-Policy")).toBe(
      `default-src 'none'; style-src https://admin.test${stylePath}; form-action 'self'; frame-ancestors 'none'; base-uri 'none'`,
    );
    const byAddress = await call(new Request("http://127.0.0.1:8787/__x402/dashboard"));
    expect(byAddress.headers.get("Content-Security-Policy")).toContain("style-src 'self';");
  });

  it("should sign in with the form and open the page with its cookie, not the token", async () => {
    const signedIn = await call(form(ADMIN_TOKEN));
    expect(signedIn.status).toBe(303);
    const cookie = signedIn.headers.get("Set-Cookie") ?? "";
    expect(cookie).toMatch(/^x402_admin=\d+\.[0-9a-f]{64}; Max-Age=43200; Path=\/__x402\/;/);
    expect(cookie).toContain("HttpOnly");
    expect(cookie).toContain("SameSite=Strict");
    expect(cookie).toContain("Secure");
    expect(cookie).not.toContain(ADMIN_TOKEN);
    const value = cookie.split(";")[0]!;
    const page = await call(new Request(DASHBOARD, { headers: { Cookie: value } }));
    expect(page.status).toBe(200);
    const forged = value.replace(/.$/, (c) => (c === "0" ? "1" : "0"));
    expect((await call(new Request(DASHBOARD, { headers: { Cookie: forged } }))).status).toBe(401);
    const rotated = await call(new Request(DASHBOARD, { headers: { Cookie: value } }), {
      ADMIN_TOKEN: "another-admin-token",
    });
    expect(rotated.status).toBe(401);
  });
});

describe("dashboard page", () => {
  it("should send revenue, receipts and the price table, with its own stylesheet and script only", async () => {
    const ledger = new ReceiptsLedger(env.LEDGER!, env.PRICES);
    const payer = privateKeyToAccount(generatePrivateKey()).address.toLowerCase();
    const path = `/api/dash-${unique()}`;
    const tx = `0x${"ab".repeat(32)}`;
    for (const [i, amount] of ["1000", "2000"].entries()) {
      await ledger.record({
        time: Date.now() - i,
        host: "shop.test",
        path,
        rule: "rules[9]",
        payer,
        payTo: PAY_TO.toLowerCase(),
        amount,
        asset: USDC.toLowerCase(),
        network: "eip155:84532",
        transaction: i === 0 ? tx : `0x${unique()}${"0".repeat(56)}`,
        nonce: `0x${unique()}`,
        crawler: i === 1 ? "<b>Bot</b>" : null,
        session: null,
        x402Version: 2,
      });
    }
    const response = await admin("/__x402/dashboard");
    expect(response.status).toBe(200);
    const csp = response.headers.get("Content-Security-Policy") ?? "";
    expect(csp).toContain("default-src 'none'");
    const html = await response.text();
    const data = dashboardFigures(html);
    const route = data.revenue.byRoute.find((b) => b.key === path);
    expect(route).toMatchObject({ amount: "3000", count: 2, usd: "$0.003" });
    expect(data.revenue.byCrawler.map((b) => b.key)).toContain("<b>Bot</b>");
    expect(data.recent.map((r) => r.transaction)).toContain(tx);
    expect(data.table.meta).toMatchObject({ revision: 0, version: "test-1" });
    expect(JSON.parse(data.table.raw)).toMatchObject({ version: "test-1" });
    // No value can end the data block or become markup: "<" is sent as \u003c.
    expect(html).not.toContain("<b>Bot</b>");
    expect(html).toContain("\\u003cb\\u003eBot\\u003c/b\\u003e");
    // Nothing the page loads comes from elsewhere: one stylesheet, the Worker's own file at its
    // exact URL, and one script, the Worker's own, with this response's nonce and its SRI hash;
    // the policy allows those two and nothing inline but the data block (never run).
    const { path: stylePath } = STATIC_ASSETS["dashboard.css"];
    const script = STATIC_ASSETS["dashboard.js"];
    const link = `<link rel="stylesheet" href="${stylePath}">`;
    expect(html.split(link)).toHaveLength(2);
    const nonce = /script-src 'nonce-([A-Za-z0-9+/=]{24})'/.exec(csp)?.[1];
    expect(nonce).toBeTruthy();
    const tag = `<script src="${script.path}" integrity="${script.integrity}" nonce="${nonce}"></script>`;
    expect(html.split(tag)).toHaveLength(2);
    const rest = html.replace(link, "").replace(tag, "");
    expect(rest.replace(/<script type="application\/json" id="dashboard-data">/, "")).not.toMatch(
      /\ssrc=|<link|<script|@import|url\(|\sstyle=/i,
    );
    expect(csp).toContain(`style-src https://admin.test${stylePath};`);
    expect(csp).not.toContain("unsafe-inline");
    // Without the script, the page says so and where the same figures are.
    expect(html).toMatch(/data-testid="no-script">[^<]*\/__x402\/admin\/revenue/);
    const again = await admin("/__x402/dashboard");
    expect(again.headers.get("Content-Security-Policy")).not.toContain(`'nonce-${nonce}'`);
    const style = await call(new Request(`https://admin.test${stylePath}`));
    expect(style.headers.get("Content-Type")).toBe("text/css; charset=utf-8");
    expect(await style.text()).not.toMatch(/@import|url\(/i);
    const served = await call(new Request(`https://admin.test${script.path}`));
    expect(served.headers.get("Content-Type")).toBe("text/javascript; charset=utf-8");
    expect(await served.text()).toContain('getElementById("dashboard-data")');
  });

  it("should refuse a bad days parameter with a 400", async () => {
    expect((await admin("/__x402/dashboard?days=0")).status).toBe(400);
  });
});

describe("dashboard defects", () => {
  const record = (ledger: ReceiptsLedger, fields: Partial<Receipt>) =>
    ledger.record({
      time: Date.now(),
      host: "shop.test",
      path: "/api/x",
      rule: "rules[9]",
      payer: privateKeyToAccount(generatePrivateKey()).address.toLowerCase(),
      payTo: PAY_TO.toLowerCase(),
      amount: "1000",
      asset: USDC.toLowerCase(),
      network: "eip155:84532",
      transaction: `0x${unique()}${"0".repeat(56)}`,
      nonce: `0x${unique()}`,
      crawler: null,
      session: null,
      x402Version: 2,
      ...fields,
    });

  it("should show crawl credit top-ups as their own line, not as the biggest route", async () => {
    const ledger = new ReceiptsLedger(env.LEDGER!, env.PRICES);
    await record(ledger, {
      rule: "crawlers.credit",
      path: "/__x402/crawl-credit",
      amount: "5000000",
      crawler: "crawler.example",
      crawlerKey: "Dc06KhOHkq3kvQ5pj0nL2uZC2m2Zb0RX5JkOZRzQk0M",
    });
    const { revenue } = await dashboardData();
    expect(revenue.byRoute.map((b) => b.key)).not.toContain("/__x402/crawl-credit");
    const credit = revenue.credit.filter((b) => b.usd !== null);
    expect(credit.reduce((sum, b) => sum + BigInt(b.amount), 0n)).toBeGreaterThanOrEqual(
      5_000_000n,
    );
    expect(credit.reduce((n, b) => n + b.count, 0)).toBeGreaterThan(0);
  });

  it("should show a crawler by name with its key as the detail, the same for top-ups and pages", async () => {
    const ledger = new ReceiptsLedger(env.LEDGER!, env.PRICES);
    const key = "Zm9vYmFyYmF6cXV4cXV1eGNvcmdlZ3JhdWx0Z2FycGx5";
    await record(ledger, { crawler: "bot.example", crawlerKey: key });
    await record(ledger, {
      rule: "crawlers.credit",
      path: "/__x402/crawl-credit",
      crawler: "bot.example",
      crawlerKey: key,
    });
    const { revenue } = await dashboardData();
    const bot = revenue.byCrawler.filter((b) => b.key === "bot.example");
    expect(bot).toEqual([expect.objectContaining({ detail: key })]);
    expect(revenue.byCrawler.map((b) => b.key)).not.toContain(key);
    expect(revenue.byCrawler.map((b) => b.key)).not.toContain(`key:${key}`);
  });

  it("should send the price table as written with its rules' stable names", async () => {
    await putTable({
      ...TABLE,
      version: "as-written",
      rules: [
        ...TABLE.rules,
        {
          path: "/metered/*",
          price: "$0.05",
          metered: { unitPrice: "$0.0001", usage: { header: "x-usage-units" } },
        },
        { path: "/tenants/*", price: "$0.003", payee: { from: "origin" } },
      ],
      default: { free: true, crawlerPrice: "$0.001" },
      crawlers: { policies: { gptbot: { action: "charge", price: "$0.002" } } },
    });
    const { table } = await dashboardData();
    expect(JSON.parse(table.raw)).toMatchObject({ version: "as-written" });
    // Rules are named by their stable ids (explicit, else derived), not their positions; how
    // their terms read is the script's (test/unit/operator/dashboard-script.test.ts).
    expect(table.ruleIds).toHaveLength(TABLE.rules.length + 2);
    expect(table.ruleIds.slice(-2)).toEqual(["/metered/*", "/tenants/*"]);
    expect(table.ruleIds.filter((id) => /^\d+$/.test(id))).toEqual([]);
  });
});
