import { readFileSync } from "node:fs";
import { runInNewContext } from "node:vm";
import { describe, expect, it } from "vitest";
import type { FunnelLine } from "../../../src/funnel/index.ts";
import type { Bucket } from "../../../src/ledger/index.ts";
import type { DashboardData } from "../../../src/operator/dashboard/data.ts";
import { dashboardPage } from "../../../src/operator/dashboard/page.ts";
import { USDC_BASE_SEPOLIA } from "../fixtures.ts";

/**
 * The dashboard as the Worker sends it (src/operator/dashboard/page.ts: the data block and the
 * script tag) drawn by its script (static/dashboard.js) in a small stand-in for the DOM that
 * knows elements, attributes and text nodes only, and serialises them escaped: the script must
 * build every part with them (no markup parsing), so no value can become markup. The same page
 * renders in Chromium in test/e2e/operator.test.ts.
 */

type Child = FakeElement | string;

class FakeElement {
  readonly attributes = new Map<string, string>();
  readonly style: Record<string, string> = {};
  children: Child[] = [];
  constructor(readonly tag: string) {}
  setAttribute(name: string, value: string): void {
    this.attributes.set(name, String(value));
  }
  getAttribute(name: string): string | null {
    return this.attributes.get(name) ?? null;
  }
  append(...nodes: Child[]): void {
    this.children.push(...nodes);
  }
  replaceChildren(...nodes: Child[]): void {
    this.children = [];
    this.append(...nodes);
  }
  get textContent(): string {
    return this.children.map((c) => (typeof c === "string" ? c : c.textContent)).join("");
  }
  set textContent(text: string) {
    this.children = [text];
  }
  set innerHTML(_markup: string) {
    throw new Error("the dashboard script must not parse markup");
  }
  get html(): string {
    const text = (s: string) =>
      s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
    const attrs = [...this.attributes].map(
      ([k, v]) => ` ${k}="${text(v).replace(/"/g, "&quot;")}"`,
    );
    const style = Object.entries(this.style).map(([k, v]) => `${k}:${v}`);
    if (style.length) attrs.push(` style="${style.join(";")}"`);
    const inner = this.children.map((c) => (typeof c === "string" ? text(c) : c.html)).join("");
    return `<${this.tag}${attrs.join("")}>${inner}</${this.tag}>`;
  }
}

/** Runs static/dashboard.js on the page the Worker sends for `data`; returns what it drew. */
function render(data: DashboardData): { main: string; now: string } {
  const page = dashboardPage(data, "test-nonce");
  const block = /<script type="application\/json" id="dashboard-data">([^<]*)<\/script>/.exec(page);
  if (!block) throw new Error("no data block");
  const byId: Record<string, FakeElement> = {
    "dashboard-data": new FakeElement("script"),
    dashboard: new FakeElement("main"),
    "dashboard-now": new FakeElement("span"),
  };
  byId["dashboard-data"]!.textContent = block[1]!;
  const document = {
    getElementById: (id: string) => byId[id] ?? null,
    createElement: (tag: string) => new FakeElement(tag),
    createElementNS: (_ns: string, tag: string) => new FakeElement(tag),
  };
  const script = readFileSync(new URL("../../../static/dashboard.js", import.meta.url), "utf8");
  runInNewContext(script, { document });
  return { main: byId["dashboard"]!.html, now: byId["dashboard-now"]!.textContent };
}

const NOW = Date.parse("2026-11-21T10:04:05.123Z");
const DAY = 86_400_000;
const FROM = Date.parse("2026-10-23T00:00:00Z");
const TX = `0x${"ab".repeat(32)}`;
const KEY = "Zm9vYmFyYmF6cXV4cXV1eGNvcmdlZ3JhdWx0Z2FycGx5";
const PAYER = "0x70997970c51812dc3a010c7d01b50e0d17dc79c8";
const OTHER_TOKEN = "0x1111111111111111111111111111111111111111";
const bucket = (key: string, amount: string, count: number, detail?: string): Bucket => ({
  key,
  network: "eip155:84532",
  asset: USDC_BASE_SEPOLIA.toLowerCase(),
  amount,
  count,
  ...(detail !== undefined && { detail }),
});

const TABLE = {
  version: "test-1",
  rules: [
    { path: "/articles/:slug", price: "$0.01", session: { ttl: "1h", uses: 3 } },
    { path: "/brief/*", price: "$0.01", session: { ttl: 7200 } },
    {
      path: "/metered/*",
      price: "$0.05",
      metered: { unitPrice: "$0.0001", usage: { header: "x-usage-units" } },
    },
    { id: "tenants", path: "/tenants/*", price: "$0.003", payee: { from: "origin" } },
  ],
  default: { free: true, crawlerPrice: "$0.001" },
  crawlers: { policies: { gptbot: { action: "charge", price: "$0.002" } } },
  payees: { shop: "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC" },
};

const LINE: FunnelLine = {
  rule: "/articles/:slug",
  route: "/articles/:slug",
  crawler: "bot.example",
  crawlerKey: KEY,
  challenges: 4,
  paid: 2,
  refused: 1,
  refusedBy: { invalid_signature: 1 },
  sessionUses: 3,
  creditUses: 0,
  creditSpent: [],
  revenue: [{ network: "eip155:84532", asset: USDC_BASE_SEPOLIA, amount: "20000" }],
};

function data(): DashboardData {
  return {
    now: NOW,
    days: 30,
    from: FROM,
    revenue: {
      from: FROM,
      to: NOW + 1,
      totals: [
        bucket("", "5023000", 5),
        { key: "", network: "eip155:84532", asset: OTHER_TOKEN, amount: "77", count: 1 },
      ],
      byDay: [bucket("2026-11-21", "3000", 2), bucket("2026-11-20", "20000", 2)],
      byRoute: [bucket("/api/dash-1", "3000", 2), bucket("/articles/:slug", "20000", 2)],
      byCrawler: [bucket("<b>Bot</b>", "2000", 1, ""), bucket("bot.example", "1000", 1, KEY)],
      credit: [bucket("crawlers.credit", "5000000", 1)],
    },
    funnel: {
      lines: [LINE, { ...LINE, crawler: null, crawlerKey: null, refusedBy: {}, refused: 0 }],
      totals: { ...LINE, challenges: 8, paid: 4 },
      steps: [
        { time: NOW - DAY, challenges: 8, paid: 4, refused: 1, sessionUses: 3, creditUses: 0 },
      ],
    },
    recent: [
      {
        id: 1,
        time: NOW - 1000,
        host: "shop.test",
        path: "/api/<img src=x onerror=alert(1)>",
        rule: "/api/*",
        payer: PAYER,
        payTo: "0x3c44cdddb6a900fa2b585dd299e03d12fa4293bc",
        amount: "1000",
        asset: USDC_BASE_SEPOLIA.toLowerCase(),
        network: "eip155:84532",
        transaction: TX,
        nonce: `0x${"01".repeat(32)}`,
        crawler: "<b>Bot</b></script><script>alert(1)</script>",
        crawlerKey: KEY,
        session: null,
        x402Version: 2,
      },
    ],
    sessions: [
      {
        id: "s1",
        payer: PAYER,
        scope: "route:shop.test /articles/:slug",
        network: "eip155:84532",
        asset: USDC_BASE_SEPOLIA,
        amount: "10000",
        createdAt: NOW - 60_000,
        expiresAt: null,
        remaining: 2,
        payment: "p1",
        tokens: 1,
      },
    ],
    pending: [
      {
        payer: PAYER,
        key: "eip155:84532:0xabc",
        network: "eip155:84532",
        asset: OTHER_TOKEN,
        payTo: PAYER,
        amount: "42",
        nonce: null,
        validBefore: null,
        resource: "https://shop.test/api/x",
        since: NOW - 300_000,
        checkedAt: null,
        outcome: null,
        tx: null,
      },
    ],
    table: {
      raw: JSON.stringify(TABLE),
      meta: { revision: 0, savedAt: null, sha256: "00", version: "test-1", note: "" },
    },
    problems: [],
  };
}

describe("dashboard script", () => {
  it("should show revenue, charts and credit from the ledger's buckets, USDC summed in dollars", () => {
    const { main, now } = render(data());
    expect(now).toBe("2026-11-21 10:04:05Z");
    expect(main).toContain('<b data-testid="revenue-usd">$5.023</b>');
    expect(main).toContain('<b data-testid="receipt-count">6</b>');
    expect(main).toContain('<b data-testid="session-count">1</b>');
    // A token other than USDC is listed in atomic units, never charted as dollars.
    expect(main).toContain("<li>77 of 0x1111…1111 on eip155:84532 (1)</li>");
    expect(main).toMatch(/data-route="\/api\/dash-1" data-usd="\$0\.003" data-count="2"/);
    // Largest first; 30 days, each its own bar, today's with its figure.
    expect(main.indexOf('data-route="/articles/:slug"')).toBeLessThan(main.indexOf("/api/dash-1"));
    expect(main.match(/<rect[^>]* data-day=/g)).toHaveLength(30);
    expect(main).toContain('data-day="2026-11-21" data-usd="$0.003" data-count="2"');
    expect(main).toContain('data-day="2026-10-23" data-usd="$0" data-count="0"');
    expect(main).toMatch(/class="bar" style="width:100%"/);
    expect(main).toMatch(/data-testid="credit-sold" data-usd="\$5" data-count="1"/);
    expect(main).toContain("<b>$5</b> in 1 top-up");
    expect(main).not.toContain("did not run");
  });

  it("should chart the 11 largest routes and sum the rest as (other)", () => {
    const routes = Array.from({ length: 14 }, (_, i) =>
      bucket(`/r/${i}`, String((i + 1) * 1000), 1),
    );
    const many = data();
    many.revenue = { ...many.revenue!, byRoute: routes };
    const { main } = render(many);
    expect(main.match(/class="bar-row" data-route=/g)).toHaveLength(12);
    expect(main).toContain('data-route="/r/13" data-usd="$0.014"');
    expect(main).not.toContain('data-route="/r/2"');
    expect(main).toContain('data-route="(other)" data-usd="$0.006" data-count="3"');
  });

  it("should put every value in as text: crawler names, paths and payers never become markup", () => {
    const { main } = render(data());
    expect(main).toContain('data-crawler="&lt;b&gt;Bot&lt;/b&gt;"');
    expect(main).toContain("/api/&lt;img src=x onerror=alert(1)&gt;");
    expect(main).toContain("&lt;b&gt;Bot&lt;/b&gt;&lt;/script&gt;&lt;script&gt;alert(1)");
    expect(main).not.toMatch(/<b>Bot|<img|<script/);
  });

  it("should keep a closing script tag in the data inside the data block", () => {
    const page = dashboardPage(data(), "n");
    expect(page.split("</script>")).toHaveLength(3);
    expect(page).toContain("\\u003c/script\\u003e");
  });

  it("should show a crawler by name with its key as the detail", () => {
    const { main } = render(data());
    expect(main).toContain(`data-crawler="bot.example" data-key="${KEY}"`);
    expect(main).toContain(`key ${KEY.slice(0, 8)}…`);
    expect(main).not.toContain(`data-crawler="${KEY}"`);
  });

  it("should show receipts with explorer links, pending payments and live sessions", () => {
    const { main } = render(data());
    expect(main).toContain(`<a href="https://sepolia.basescan.org/tx/${TX}" rel="noreferrer">`);
    expect(main).toContain(`data-testid="receipt" data-tx="${TX}"`);
    expect(main).toContain(
      '<code title="0x70997970c51812dc3a010c7d01b50e0d17dc79c8">0x7099…79c8</code>',
    );
    expect(main).toContain('data-testid="pending" data-key="eip155:84532:0xabc"');
    expect(main).toContain("<td>5 min</td>");
    expect(main).toContain("<td>42 of 0x1111…1111</td><td>never</td>");
    expect(main).toContain("POST /__x402/admin/payments/pending/&lt;payer&gt;/&lt;key&gt;/check");
    expect(main).toMatch(
      /data-testid="session">.*<td>\$0\.01<\/td><td>no time limit<\/td><td>2<\/td>/,
    );
  });

  it("should show the funnel: figures, refusals by reason, the chart and its lines", () => {
    const { main } = render(data());
    expect(main).toContain('<b data-testid="funnel-paid">4</b>paid (50% of 402s)');
    expect(main).toContain('data-testid="refusal-reasons">refused: invalid signature 1');
    expect(main).toContain('data-step="11-20" data-series="paid" data-value="4"');
    expect(main).toContain(
      'data-testid="funnel-line" data-rule="/articles/:slug" data-crawler="bot.example"',
    );
    expect(main).toContain('data-crawler="">');
    expect(main).toContain("people and programs");
    expect(main).toContain("<td>$0.02</td>");
  });

  it("should show the price table as written: the default rule, crawler policies, metered and payee terms", () => {
    const { main } = render(data());
    expect(main).toContain('data-testid="price-revision">revision 0 · version test-1');
    expect(main).toContain("<code>/articles/:slug</code>");
    expect(main).toContain('data-rule="default"');
    // Rules are named by their stable ids (explicit, else derived), not their positions.
    expect(main).toContain('data-rule="/metered/*"');
    expect(main).toContain('data-rule="tenants"');
    expect(main).not.toMatch(/data-rule="\d+"/);
    expect(main).toMatch(/<b>crawlerPrice<\/b> \$0\.001/);
    expect(main).toContain("$0.0001 per unit, usage from header x-usage-units");
    expect(main).toContain("named by the origin per request");
    expect(main).toMatch(
      /data-testid="crawler-policy"><td>gptbot<\/td><td>charge<\/td>\s*<td>\$0\.002/,
    );
    expect(main).toContain("a pass for 1h, 3 uses");
    expect(main).toContain("a pass for 2 hours");
    expect(main).not.toContain('{"ttl":"1h","uses":3}');
    expect(main).toContain(`<b>shop</b> <code>"0x3C44`);
    expect(main).toContain("<summary>The table as stored (JSON)</summary>");
  });

  it("should say what is missing when there is no ledger, no table and a problem", () => {
    const empty = {
      ...data(),
      revenue: undefined,
      funnel: undefined,
      recent: [],
      sessions: [],
      pending: [],
      table: undefined,
      problems: ["receipts: the ledger is not configured (bind a D1 database as LEDGER)"],
    };
    const { main } = render(empty);
    expect(main).toContain('data-testid="problems"><div>receipts: the ledger is not configured');
    expect(main).toContain('<b data-testid="revenue-usd">$0</b>');
    expect(main).toContain("no payments yet");
    expect(main).toContain("no crawler has paid yet");
    expect(main).toContain("no receipts yet");
    expect(main).toContain("no live sessions");
    expect(main).toContain("no pending payments");
    expect(main).toContain("no price table is stored");
    expect(main).not.toContain("Funnel");
  });
});
