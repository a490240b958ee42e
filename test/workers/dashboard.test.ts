import { env } from "cloudflare:test";
import { privateKeyToAccount, generatePrivateKey } from "viem/accounts";
import { beforeEach, describe, expect, it } from "vitest";
import { STATIC_ASSETS } from "../../src/assets";
import { ReceiptsLedger } from "../../src/ledger";
import type { Receipt } from "../../src/ledger";
import { ADMIN_TOKEN, admin } from "./admin-helpers";
import { PAY_TO, TABLE, USDC, call, putTable, unique } from "./helpers";

/**
 * The dashboard inside workerd: refused without the admin token, signed in by bearer header or by
 * the sign-in form's cookie, self-contained (no external resource, a CSP that forbids fetches),
 * and showing the ledger's figures. The Chromium rendering is tested end to end (test/e2e).
 */

const DASHBOARD = "https://admin.test/__x402/dashboard";

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
  it("should show revenue, receipts and the price table with no external resource", async () => {
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
    expect(html).toMatch(/data-route="\/api\/dash-[0-9a-f]+" data-usd="\$0\.003" data-count="2"/);
    expect(html).toContain('data-crawler="&lt;b&gt;Bot&lt;/b&gt;"');
    expect(html).not.toContain("<b>Bot</b>");
    expect(html).toContain(`href="https://sepolia.basescan.org/tx/${tx}"`);
    expect(html).toContain('data-testid="price-revision">revision 0 · version test-1');
    expect(html).toContain("<code>/articles/:slug</code>");
    // Nothing the page loads comes from elsewhere: no src=, no script, and one stylesheet, the
    // Worker's own file at its exact URL, the only one its policy allows.
    const { path: stylePath } = STATIC_ASSETS["dashboard.css"];
    const link = `<link rel="stylesheet" href="${stylePath}">`;
    expect(html.split(link)).toHaveLength(2);
    expect(html.replace(link, "")).not.toMatch(/\ssrc=|<link|<script|@import|url\(/i);
    expect(csp).toContain(`style-src https://admin.test${stylePath} 'unsafe-inline';`);
    const style = await call(new Request(`https://admin.test${stylePath}`));
    expect(style.headers.get("Content-Type")).toBe("text/css; charset=utf-8");
    expect(await style.text()).not.toMatch(/@import|url\(/i);
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
    const html = await (await admin("/__x402/dashboard")).text();
    expect(html).not.toContain('data-route="/__x402/crawl-credit"');
    expect(html).toMatch(/data-testid="credit-sold" data-usd="\$5(\.\d+)?" data-count="[1-9]/);
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
    const html = await (await admin("/__x402/dashboard")).text();
    expect(html).toContain(`data-crawler="bot.example" data-key="${key}"`);
    expect(html).toContain(`key ${key.slice(0, 8)}…`);
    expect(html).not.toContain(`data-crawler="${key}"`);
    expect(html).not.toContain(`key:${key}`);
  });

  it("should show the price table as written: the default rule, crawler policies, metered and payee terms", async () => {
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
    const html = await (await admin("/__x402/dashboard")).text();
    expect(html).toContain('data-rule="default"');
    // Rules are named by their stable ids (explicit, else derived), not their positions.
    expect(html).toContain('data-rule="/metered/*"');
    expect(html).toContain('data-rule="/tenants/*"');
    expect(html).not.toMatch(/data-rule="\d+"/);
    expect(html).toMatch(/<b>crawlerPrice<\/b> \$0\.001/);
    expect(html).toContain("$0.0001 per unit, usage from header x-usage-units");
    expect(html).toContain("named by the origin per request");
    expect(html).toMatch(
      /data-testid="crawler-policy"><td>gptbot<\/td><td>charge<\/td>\s*<td>\$0\.002/,
    );
    expect(html).toContain("a pass for 1h, 3 uses");
    expect(html).not.toContain('{"ttl":"1h","uses":3}');
  });
});
