import * as z from "../zod";
import { CRAWLERS } from "./crawler-catalogue";
import type { Crawler } from "./crawler-catalogue";
import { defaultUsdc, USD_PRICE, usdToAtomic } from "./assets";

/**
 * The price table's `crawlers` section (pay-per-crawl, docs/pay-per-crawl.md): what each crawler
 * may do (`allow`, `charge` at its own price, `block`), what happens to signed bots without a
 * policy of their own, to clients that claim a crawler without proving it, and to unknown clients
 * on crawler-only rules; which key directories prove which crawler; and the bounds of prepaid crawl
 * credit. The schema lives here so the table validator and the matcher share it; the request path
 * applies it in src/crawlers/policy.ts.
 */

/** Crawl prices are US dollars paid in USDC, as the `crawler-*-price` headers speak them. */
export const CrawlPriceSchema = z
  .string()
  .check(z.regex(USD_PRICE, 'must look like "$0.01" (crawl prices are in US dollars)'));

const crawlerId = z
  .string()
  .check(z.regex(/^[a-z0-9][a-z0-9-]{0,63}$/, "must be a lower-case crawler id such as gptbot"));

/** Five minutes: signers sign each request, so a real crawler's signature is seconds old. */
export const DEFAULT_MAX_SIGNATURE_AGE = 300;

const allow = z.strictObject({ action: z.literal("allow") });
const block = z.strictObject({ action: z.literal("block") });
const charge = z.strictObject({
  action: z.literal("charge"),
  price: z.optional(CrawlPriceSchema),
});

/** What one class of client may do on a crawler-priced rule. */
export const PolicySchema = z.discriminatedUnion("action", [allow, block, charge]);

/** Key directory origins: `https://…`, or `http://127.0.0.1:port` (loopback, development). */
const directoryOrigin = z
  .string()
  .check(
    z.regex(/^https?:\/\/[^/?#@\s]+\/?$/, "must be an origin such as https://crawler.example"),
  );

export const CrawlersSchema = z.strictObject({
  /** Policy per crawler id (a catalogue id or one named in `directories`). */
  policies: z._default(z.record(crawlerId, PolicySchema), {}),
  /** Extra key directories proving a crawler; a new id adds a crawler known only by key. */
  directories: z._default(
    z.record(crawlerId, z.array(directoryOrigin).check(z.minLength(1), z.maxLength(16))),
    {},
  ),
  /** Valid Web Bot Auth signature, no policy of its own (or a directory bound to nobody). */
  signed: z._default(PolicySchema, { action: "charge" }),
  /** A User-Agent claiming a known crawler, without a valid signature. */
  unverified: z._default(PolicySchema, { action: "charge" }),
  /** Neither a claim nor a signature, on crawler-only rules (people: `allow`). */
  unknown: z._default(PolicySchema, { action: "allow" }),
  /**
   * The oldest signature (seconds since its `created`) that still earns a privilege worth money:
   * free access where others pay, a price below theirs, a page from credit. A copy of a signed
   * request replays at most this long (crawler-gate.ts). Identity alone is not limited by it.
   */
  maxSignatureAge: z._default(
    z.int().check(z.minimum(1), z.maximum(3600)),
    DEFAULT_MAX_SIGNATURE_AGE,
  ),
  /** Prepaid crawl credit bought at /__x402/crawl-credit; absent: no credit is sold. */
  credit: z.optional(z.strictObject({ min: CrawlPriceSchema, max: CrawlPriceSchema })),
});

/** The `crawlers` section as written in the table. */
export type CrawlersConfig = z.infer<typeof CrawlersSchema>;
type PolicyConfig = z.infer<typeof PolicySchema>;

/** A policy resolved for the request path; a charge's own price is in USDC atomic units. */
export type Policy =
  { action: "allow" } | { action: "block" } | { action: "charge"; amount?: string };

/** Bounds and payment terms of prepaid crawl credit, in atomic units of `asset`. */
export interface CreditTerms {
  min: string;
  max: string;
  network: string;
  payTo: string;
  asset: string;
  extra: { name: string; version: string };
  decimals: number;
}

/** The `crawlers` section resolved once per table version. */
export interface CrawlerTerms {
  /** Built-in crawlers plus those the table adds, with the table's directories bound. */
  catalogue: readonly Crawler[];
  policies: ReadonlyMap<string, Policy>;
  signed: Policy;
  unverified: Policy;
  unknown: Policy;
  /** Seconds a signature earns privileges worth money for (see the schema's `maxSignatureAge`). */
  maxSignatureAge: number;
  credit: CreditTerms | undefined;
}

/** Crawl prices are converted with USDC's decimals; every network the paywall prices has 6. */
const USDC_DECIMALS = 6;

/** Resolves the section, or lists what is wrong with it (unknown ids, prices, credit bounds). */
export function resolveCrawlers(
  config: CrawlersConfig,
  defaults: { network?: string | undefined; payTo?: string | undefined },
): { ok: true; terms: CrawlerTerms } | { ok: false; errors: string[] } {
  const errors: string[] = [];
  const catalogue = CRAWLERS.map((crawler) => {
    const extra = config.directories[crawler.id];
    return extra
      ? { ...crawler, directories: [...(crawler.directories ?? []), ...extra] }
      : crawler;
  });
  for (const [id, directories] of Object.entries(config.directories)) {
    if (catalogue.some((c) => c.id === id)) continue;
    catalogue.push({
      id,
      name: id,
      operator: id,
      category: "ai-training",
      userAgentTokens: [],
      directories,
    });
  }
  const policy = (label: string, value: PolicyConfig): Policy => {
    if (value.action !== "charge" || value.price === undefined) return { action: value.action };
    const amount = usdToAtomic(value.price, USDC_DECIMALS);
    if (!amount.ok) errors.push(`crawlers.${label}.price: ${amount.reason}`);
    return { action: "charge", amount: amount.ok ? amount.amount : "0" };
  };
  const policies = new Map<string, Policy>();
  for (const [id, value] of Object.entries(config.policies)) {
    if (!catalogue.some((c) => c.id === id)) {
      errors.push(`crawlers.policies.${id}: not a known crawler; bind it in crawlers.directories`);
    }
    policies.set(id, policy(`policies.${id}`, value));
  }
  const terms: CrawlerTerms = {
    catalogue,
    policies,
    signed: policy("signed", config.signed),
    unverified: policy("unverified", config.unverified),
    unknown: policy("unknown", config.unknown),
    maxSignatureAge: config.maxSignatureAge,
    credit: config.credit && resolveCredit(config.credit, defaults, errors),
  };
  return errors.length > 0 ? { ok: false, errors } : { ok: true, terms };
}

function resolveCredit(
  credit: NonNullable<CrawlersConfig["credit"]>,
  defaults: { network?: string | undefined; payTo?: string | undefined },
  errors: string[],
): CreditTerms | undefined {
  const network = defaults.network;
  const usdc = network === undefined ? undefined : defaultUsdc(network);
  if (!network || !usdc?.eip712 || !defaults.payTo) {
    errors.push(
      "crawlers.credit: needs an EVM network with a known USDC and a payTo (defaults or variables)",
    );
    return undefined;
  }
  const min = usdToAtomic(credit.min, usdc.decimals);
  const max = usdToAtomic(credit.max, usdc.decimals);
  if (!min.ok) errors.push(`crawlers.credit.min: ${min.reason}`);
  if (!max.ok) errors.push(`crawlers.credit.max: ${max.reason}`);
  if (!min.ok || !max.ok) return undefined;
  if (BigInt(min.amount) > BigInt(max.amount)) {
    errors.push("crawlers.credit: min is above max");
    return undefined;
  }
  return {
    min: min.amount,
    max: max.amount,
    network,
    payTo: defaults.payTo,
    asset: usdc.address,
    extra: usdc.eip712,
    decimals: usdc.decimals,
  };
}
