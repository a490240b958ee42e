import { describe, expect, it } from "vitest";
import {
  checkCrawlerPrice,
  decide,
  formatCrawlerPrice,
  identifyByUserAgent,
  parseCrawlerPrice,
  privilegeOf,
} from "../../../src/crawlers/index.ts";
import type { CrawlerIdentity, Verified } from "../../../src/crawlers/index.ts";
import { compileTable, parsePriceTable } from "../../../src/pricing/index.ts";
import type { CompiledTable, Match } from "../../../src/pricing/index.ts";
import { BASE_SEPOLIA, PAY_TO } from "../fixtures.ts";

/** Price-table crawler terms, the policy decision, the price headers and the User-Agent catalogue. */

const TABLE = {
  defaults: { network: BASE_SEPOLIA, payTo: PAY_TO },
  rules: [
    { path: "/robots.txt", free: true },
    { path: "/articles/*", price: "$0.01" },
    { path: "/blog/*", free: true, crawlerPrice: "$0.002" },
  ],
  crawlers: {
    directories: { devbot: ["https://dev.example"] },
    policies: {
      devbot: { action: "charge", price: "$0.005" },
      gptbot: { action: "allow" },
      bytespider: { action: "block" },
    },
    unverified: { action: "block" },
  },
};

function compiled(table: unknown = TABLE): CompiledTable {
  const parsed = parsePriceTable(table);
  if (!parsed.ok) throw new Error(parsed.errors.join("; "));
  const result = compileTable(parsed.table, {});
  if (!result.ok) throw new Error(result.errors.join("; "));
  return result.table;
}

function errorsOf(table: unknown): string[] {
  const parsed = parsePriceTable(table);
  if (!parsed.ok) return parsed.errors;
  const result = compileTable(parsed.table, {});
  return result.ok ? [] : result.errors;
}

const SIGNATURE: Verified = {
  status: "verified",
  keyid: "k",
  directory: "https://dev.example/.well-known/http-message-signatures-directory",
  label: "sig1",
  coveredComponents: ["@authority", "signature-agent"],
  created: 1,
  expires: 2,
  nonce: "n",
};

function verified(id: string): CrawlerIdentity {
  const table = compiled();
  const crawler = table.crawlers!.catalogue.find((c) => c.id === id)!;
  return {
    kind: "verified",
    crawler,
    keyid: "k",
    directory: SIGNATURE.directory,
    signature: SIGNATURE,
  };
}

function decideAt(path: string, identity: CrawlerIdentity, table = compiled()) {
  const match = table.match({ method: "GET", host: "site.example", path }) as Match;
  return decide(identity, match, table.crawlers);
}

describe("the crawlers section of the price table", () => {
  it("should give priced rules and crawler-only rules a crawl price, and plain free rules none", () => {
    const table = compiled();
    const at = (path: string) => table.match({ method: "GET", host: "h", path }) as Match;
    expect(at("/robots.txt").crawl).toBeUndefined();
    expect(at("/articles/a").crawl?.amount).toBe("10000");
    expect(at("/blog/a")).toMatchObject({ kind: "free", crawl: { amount: "2000" } });
  });

  it.each([
    [{ ...TABLE, crawlers: { policies: { nosuchbot: { action: "allow" } } } }, "nosuchbot"],
    [{ ...TABLE, crawlers: { policies: { gptbot: { action: "pay" } } } }, "policies.gptbot"],
    [
      { ...TABLE, crawlers: { policies: { gptbot: { action: "charge", price: "0.01" } } } },
      "$0.01",
    ],
    [{ ...TABLE, crawlers: { credit: { min: "$2", max: "$1" } } }, "min is above max"],
    [{ ...TABLE, crawlers: undefined }, "crawlers"],
    [
      {
        ...TABLE,
        rules: [
          {
            path: "/x",
            price: {
              amount: "5",
              asset: "0x" + "11".repeat(20),
              extra: { name: "T", version: "1" },
            },
          },
        ],
      },
      "crawlers pay in USDC",
    ],
  ])("should refuse a bad section (%#) and say where", (table, expected) => {
    expect(errorsOf(table).join("; ")).toContain(expected);
  });

  it("should let a crawler-only free rule carry payment terms, but not a plain free rule", () => {
    const withTerms = {
      ...TABLE,
      rules: [{ path: "/b/*", free: true, crawlerPrice: "$0.01", payTo: PAY_TO }],
    };
    expect(errorsOf(withTerms)).toEqual([]);
    const plain = { ...TABLE, rules: [{ path: "/b/*", free: true, payTo: PAY_TO }] };
    expect(errorsOf(plain).join()).toContain("has no meaning on a free rule");
  });
});

describe("privilegeOf", () => {
  function privilegeAt(path: string, identity: CrawlerIdentity, table = compiled()) {
    const match = table.match({ method: "GET", host: "site.example", path }) as Match;
    return privilegeOf(decide(identity, match, table.crawlers), match, table.crawlers);
  }

  it("should see free access where people pay, or where unknown clients are charged, as a privilege", () => {
    expect(privilegeAt("/articles/a", verified("gptbot"))).toBe("free");
    const charged = compiled({
      ...TABLE,
      crawlers: { ...TABLE.crawlers, unknown: { action: "charge" } },
    });
    expect(privilegeAt("/blog/a", verified("gptbot"), charged)).toBe("free");
  });

  it("should see free access where everyone reads free as no privilege", () => {
    expect(privilegeAt("/blog/a", verified("gptbot"))).toBe("none");
  });

  it("should see a price below the public one as a privilege, and one at or above it as none", () => {
    expect(privilegeAt("/articles/a", verified("devbot"))).toBe("cheaper"); // 0.005 < 0.01
    expect(privilegeAt("/blog/a", verified("devbot"))).toBe("none"); // people read it free
    const dear = compiled({
      ...TABLE,
      crawlers: { ...TABLE.crawlers, policies: { devbot: { action: "charge", price: "$0.02" } } },
    });
    expect(privilegeAt("/articles/a", verified("devbot"), dear)).toBe("none");
  });

  it("should grant nothing to blocked, refused or anonymous clients", () => {
    expect(privilegeAt("/blog/a", verified("bytespider"))).toBe("none");
    expect(privilegeAt("/articles/a", { kind: "anonymous" })).toBe("none");
    expect(privilegeAt("/blog/a", { kind: "invalid", reason: "x" })).toBe("none");
  });
});

describe("decide", () => {
  it("should charge a verified crawler its own policy price", () => {
    const decision = decideAt("/blog/a", verified("devbot"));
    expect(decision).toMatchObject({
      type: "charge",
      offer: { amount: "5000" },
      subject: { keyid: "k" },
    });
  });

  it("should allow and block by policy", () => {
    expect(decideAt("/articles/a", verified("gptbot")).type).toBe("allow");
    expect(decideAt("/blog/a", verified("bytespider")).type).toBe("block");
  });

  it("should apply the unverified policy to a claim without proof", () => {
    const claimed = compiled().crawlers!.catalogue.find((c) => c.id === "gptbot")!;
    const identity: CrawlerIdentity = { kind: "unverified", claimed };
    expect(decideAt("/blog/a", identity).type).toBe("block");
  });

  it("should leave people to the route on priced rules and let them read crawler-only rules", () => {
    expect(decideAt("/articles/a", { kind: "anonymous" }).type).toBe("pass");
    expect(decideAt("/blog/a", { kind: "anonymous" }).type).toBe("allow");
  });

  it("should pass everyone on a plain free rule, blocked crawlers included", () => {
    expect(decideAt("/robots.txt", verified("bytespider")).type).toBe("pass");
  });

  it("should refuse bad signatures and never pass a directory outage", () => {
    expect(decideAt("/blog/a", { kind: "invalid", reason: "x" }).type).toBe("invalid-signature");
    expect(decideAt("/blog/a", { kind: "unavailable", reason: "x" }).type).toBe(
      "directory-unavailable",
    );
  });

  it("should never let a User-Agent claim or an unbound key pay less than people on a priced rule (regression: 'GPTBot' bought $1 pages at the crawler price)", () => {
    const table = compiled({
      ...TABLE,
      rules: [{ path: "/premium/*", price: "$1", crawlerPrice: "$0.001" }],
      crawlers: {
        ...TABLE.crawlers,
        unverified: { action: "charge" },
        signed: { action: "allow" },
      },
    });
    const claimed = table.crawlers!.catalogue.find((c) => c.id === "gptbot")!;
    const unbound: CrawlerIdentity = {
      kind: "verified-unknown",
      keyid: "k",
      directory: "https://other.example",
      signature: SIGNATURE,
    };
    expect(decideAt("/premium/a", { kind: "unverified", claimed }, table).type).toBe("pass");
    expect(decideAt("/premium/a", unbound, table).type).toBe("pass");
    // A crawler verified as itself still gets its own policy's price.
    expect(decideAt("/premium/a", verified("devbot"), table)).toMatchObject({
      type: "charge",
      offer: { amount: "5000" },
    });
  });

  it("should charge a signer from an unbound directory under the signed policy", () => {
    const identity: CrawlerIdentity = {
      kind: "verified-unknown",
      keyid: "k",
      directory: "https://other.example",
      signature: SIGNATURE,
    };
    expect(decideAt("/blog/a", identity)).toMatchObject({
      type: "charge",
      offer: { amount: "2000" },
    });
  });
});

describe("price headers", () => {
  it.each([
    ["10000", "USD 0.01"],
    ["1000", "USD 0.001"],
    ["1000000", "USD 1.00"],
    ["0", "USD 0.00"],
  ])("should format %s atomic units as %s", (atomic, text) => {
    expect(formatCrawlerPrice(atomic)).toBe(text);
  });

  it("should parse prices exactly and mark finer-than-USDC values inexact", () => {
    expect(parseCrawlerPrice("USD 0.01")).toEqual({ ok: true, atomic: 10000n, exact: true });
    expect(parseCrawlerPrice("USD 0.0100001")).toEqual({ ok: true, atomic: 10000n, exact: false });
    expect(parseCrawlerPrice("USD 0")).toEqual({ ok: true, atomic: 0n, exact: true });
    expect(parseCrawlerPrice("0.01 USD").ok).toBe(false);
  });

  it.each<[Record<string, string>, string]>([
    [{}, "none"],
    [{ "crawler-exact-price": "USD 0.01" }, "accepted"],
    [{ "crawler-exact-price": "USD 0.0100001" }, "InvalidCrawlerExactPrice"],
    [{ "crawler-max-price": "USD 0.05" }, "accepted"],
    [{ "crawler-max-price": "USD 0.009999" }, "InvalidCrawlerMaxPrice"],
    [
      { "crawler-max-price": "USD 1", "crawler-exact-price": "USD 0.01" },
      "ConflictingPriceHeaders",
    ],
    [{ "crawler-max-price": "lots" }, "InvalidCrawlerPriceValue"],
  ])("should judge %o against USD 0.01 as %s", (headers, outcome) => {
    const check = checkCrawlerPrice(new Headers(headers), "10000");
    expect(check.kind === "refused" ? check.code : check.kind).toBe(outcome);
    if (check.kind === "accepted") expect(check.charged).toBe("10000");
  });
});

describe("the User-Agent catalogue", () => {
  it.each([
    [
      "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.2; +https://openai.com/gptbot)",
      "gptbot",
    ],
    ["Mozilla/5.0 (compatible; ClaudeBot/1.0; +claudebot@anthropic.com)", "claudebot"],
    ["Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", "googlebot"],
    ["CCBot/2.0 (https://commoncrawl.org/faq/)", "ccbot"],
    ["Mozilla/5.0 (compatible; bingbot/2.0)", "bingbot"],
  ])("should read %s as %s", (ua, id) => {
    expect(identifyByUserAgent(ua)?.id).toBe(id);
  });

  it.each([
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36 Edg/130.0",
    "Googlebot-Image/1.0",
    "NotGPTBotAtAll/1.0",
    "",
  ])("should see no crawler in %j", (ua) => {
    expect(identifyByUserAgent(ua)).toBeUndefined();
  });
});
