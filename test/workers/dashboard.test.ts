import { env } from "cloudflare:test";
import { privateKeyToAccount, generatePrivateKey } from "viem/accounts";
import { beforeEach, describe, expect, it } from "vitest";
import { ReceiptsLedger } from "../../src/ledger";
import { ADMIN_TOKEN, admin } from "./admin-helpers";
import { PAY_TO, USDC, call, putTable, unique } from "./helpers";

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
    expect(response.headers.get("Content-Security-Policy")).toContain("default-src 'none'");
    const html = await response.text();
    expect(html).toMatch(/data-route="\/api\/dash-[0-9a-f]+" data-usd="\$0\.003" data-count="2"/);
    expect(html).toContain('data-crawler="&lt;b&gt;Bot&lt;/b&gt;"');
    expect(html).not.toContain("<b>Bot</b>");
    expect(html).toContain(`href="https://sepolia.basescan.org/tx/${tx}"`);
    expect(html).toContain('data-testid="price-revision">revision 0 · version test-1');
    expect(html).toContain("<code>/articles/:slug</code>");
    // Nothing the page loads comes from elsewhere: no src=, no stylesheet link, no script.
    expect(html).not.toMatch(/\ssrc=|<link|<script|@import|url\(/i);
  });

  it("should refuse a bad days parameter with a 400", async () => {
    expect((await admin("/__x402/dashboard?days=0")).status).toBe(400);
  });
});
