import { z } from "zod";
import { EVM_ADDRESS } from "../schemes/evm";
import { SOLANA_ADDRESS } from "../schemes/solana";
import { USD_PRICE } from "./assets";
import { BrandSchema } from "./brand";
import { CrawlPriceSchema, CrawlersSchema } from "./crawler-terms";
import { DiscoverySchema } from "./discovery-terms";
import { DynamicPriceSchema } from "./dynamic-price";
import { MeteredSchema } from "./metered";
import { OriginPriceSchema } from "./origin-price";
import { PayeeMapsSchema, PayeeSchema } from "./payees";
import { RULE_ID, RULE_ID_MAX, ruleIdProblems } from "./rule-id";
import { SessionSchema } from "./session-terms";

/**
 * The price table's JSON schema: the single definition the Worker (and any tooling) validates
 * a table against. A table that fails it is never served (see src/kv/price-table-store.ts).
 */

/** A CAIP-2 chain id such as `eip155:8453`. */
export const CAIP2_NETWORK = /^[-a-z0-9]{3,8}:[-_a-zA-Z0-9]{1,32}$/;
const HTTP_METHOD = /^[A-Z]+$/;

/**
 * An address on some registered chain; which one the network says, when the rule compiles (a
 * Solana key is checked to be 32 bytes then).
 */
const address = z
  .string()
  .refine(
    (value) => EVM_ADDRESS.test(value) || SOLANA_ADDRESS.test(value),
    "must be a 0x-prefixed 20-byte hex address (EVM) or a Base58 public key (Solana)",
  );
const network = z.string().regex(CAIP2_NETWORK, "must be a CAIP-2 network id such as eip155:8453");

/** "$0.001" style price in US dollars, converted with the asset's decimals. */
const usdPrice = z
  .string()
  .regex(USD_PRICE, 'must look like "$0.01" (a dollar sign and a decimal amount)');

/** A price in the asset's atomic units, with the asset named explicitly. */
const atomicPrice = z
  .object({
    amount: z.string().regex(/^[1-9]\d{0,77}$/, "must be a positive whole number of atomic units"),
    asset: address,
    /** The token's EIP-712 domain, needed by EVM signers (EIP-3009, Permit2). */
    extra: z
      .object({ name: z.string().min(1), version: z.string().min(1) })
      .strict()
      .optional(),
  })
  .strict();

export const PriceSchema = z.union([usdPrice, atomicPrice]);

const pathPattern = z
  .string()
  .startsWith("/", "must start with /")
  .max(512)
  .refine((p) => !/\*./.test(p), "a * may only stand at the end of the pattern");

/** Payment terms shared by priced rules and the table's defaults. */
const terms = {
  network: network.optional(),
  payTo: address.optional(),
  description: z.string().max(1000).optional(),
  /** What the paywall page calls the content (else its name from the URL; src/browser). */
  title: z
    .string()
    .min(1)
    .max(200)
    .refine((t) => ![...t].some((c) => c < " " || c === "\u007f"), "must be one line of text")
    .optional(),
  mimeType: z.string().max(200).optional(),
  maxTimeoutSeconds: z.number().int().min(1).max(3600).optional(),
  /** Whether payments must carry a `payment-identifier` (idempotent retries); default optional. */
  paymentIdentifier: z.enum(["optional", "required"]).optional(),
  /** How to call the resource and what it returns (bazaar discovery; discovery-terms.ts). */
  discovery: DiscoverySchema.optional(),
};

/** Keys that only mean something on a priced rule. */
const PRICED_ONLY = [
  ...Object.keys(terms),
  "session",
  "alsoAccept",
  "payee",
  "dynamicPrice",
  "originPrice",
  "metered",
];

/**
 * More ways to pay the same rule (x402 V2: one interface across chains): each a network and a
 * price there, optionally its own payee and timeout. The 402 offers them all after the main one.
 */
const AlsoAcceptSchema = z
  .array(
    z
      .object({
        network,
        price: PriceSchema,
        payTo: address.optional(),
        maxTimeoutSeconds: z.number().int().min(1).max(3600).optional(),
      })
      .strict(),
  )
  .min(1)
  .max(8);

/**
 * Terms are for priced rules only; a free rule that carries them is probably a mistake, unless it
 * has a `crawlerPrice` (a crawler-only rule: its terms are what charged crawlers pay).
 */
function freeOrPriced(
  value: {
    free?: true;
    price?: unknown;
    dynamicPrice?: unknown;
    originPrice?: unknown;
    crawlerPrice?: unknown;
  },
  ctx: z.RefinementCtx,
): void {
  const prices = [value.price, value.dynamicPrice, value.originPrice].filter(
    (p) => p !== undefined,
  );
  const hasPrice = prices.length > 0;
  if (prices.length > 1) {
    ctx.addIssue({
      code: "custom",
      message: 'give one of "price", "dynamicPrice" and "originPrice", not several',
    });
  } else if (value.free === true && hasPrice) {
    ctx.addIssue({ code: "custom", message: "a rule is either free or has a price, not both" });
  } else if (value.free !== true && !hasPrice) {
    ctx.addIssue({ code: "custom", message: 'needs a "price" or "free": true' });
  } else if (value.free === true) {
    const crawlerOnly = value.crawlerPrice !== undefined;
    for (const key of PRICED_ONLY) {
      if (key in value && !(crawlerOnly && key !== "session")) {
        ctx.addIssue({ code: "custom", path: [key], message: "has no meaning on a free rule" });
      }
    }
  }
}

export const RuleSchema = z
  .object({
    /** The rule's stable name in receipts, the funnel and the admin API (rule-id.ts). */
    id: z
      .string()
      .max(RULE_ID_MAX)
      .regex(RULE_ID, "must be a slug such as weather-api (a-z, 0-9, words joined by -)")
      .optional(),
    /** Exact host name or "*.example.com"; omitted means any host. */
    host: z
      .string()
      .regex(/^(\*\.)?[a-z0-9.-]+$/, "must be a lower-case host name, optionally starting with *.")
      .optional(),
    /** Upper-case HTTP methods; omitted means every method. GET also covers HEAD. */
    methods: z
      .array(z.string().regex(HTTP_METHOD, "must be an upper-case HTTP method"))
      .min(1)
      .optional(),
    path: pathPattern,
    free: z.literal(true).optional(),
    price: PriceSchema.optional(),
    /** Pay once, come back: see src/pricing/session-terms.ts. */
    session: SessionSchema.optional(),
    /** Other networks (and prices) this rule may be paid on. */
    alsoAccept: AlsoAcceptSchema.optional(),
    /** Pay a payee chosen by the request from a map in `payees` (payees.ts). */
    payee: PayeeSchema.optional(),
    /** A price that follows the request, instead of `price` (dynamic-price.ts). */
    dynamicPrice: DynamicPriceSchema.optional(),
    /** The origin quotes the price in band, within these bounds (origin-price.ts). */
    originPrice: OriginPriceSchema.optional(),
    /** Metered use: `price` is the most a request may cost (metered.ts, scheme `upto`). */
    metered: MeteredSchema.optional(),
    /** What charged crawlers pay here; on a free rule, people stay free (crawler-terms.ts). */
    crawlerPrice: CrawlPriceSchema.optional(),
    ...terms,
  })
  .strict()
  .superRefine(freeOrPriced);

const DefaultRuleSchema = z
  .object({
    free: z.literal(true).optional(),
    price: PriceSchema.optional(),
    session: SessionSchema.optional(),
    alsoAccept: AlsoAcceptSchema.optional(),
    crawlerPrice: CrawlPriceSchema.optional(),
    ...terms,
  })
  .strict()
  .superRefine(freeOrPriced);

export const PriceTableSchema = z
  .object({
    /** Free-form label of this table's version, echoed in logs and health output. */
    version: z.union([z.string().max(100), z.number()]).optional(),
    /** When false (the default) paths match whatever their letter case. */
    caseSensitive: z.boolean().default(false),
    defaults: z.object(terms).strict().default({}),
    rules: z.array(RuleSchema).max(10_000),
    /** What applies to requests no rule matches. */
    default: DefaultRuleSchema.default({ free: true }),
    /** Pay-per-crawl: crawler policies and prepaid credit (crawler-terms.ts). */
    crawlers: CrawlersSchema.optional(),
    /** Named maps of payees for rules with a `payee` (payees.ts). */
    payees: PayeeMapsSchema.optional(),
    /** The operator's name, colour and logo on the paywall page (brand.ts). */
    brand: BrandSchema.optional(),
  })
  .strict();

/** A validated price table as stored in KV. */
export type PriceTable = z.infer<typeof PriceTableSchema>;
export type Rule = z.infer<typeof RuleSchema>;
export type Price = z.infer<typeof PriceSchema>;
/** The payment terms a rule or the table's defaults may set. */
export type Terms = z.infer<z.ZodObject<typeof terms>>;

/** Tagged result of validating untrusted table JSON. */
export type TableParseResult = { ok: true; table: PriceTable } | { ok: false; errors: string[] };

/**
 * Validates a parsed JSON value as a price table, returning every problem with its JSON path
 * (e.g. `rules[3].price: must look like "$0.01"`), never throwing.
 */
export function parsePriceTable(json: unknown): TableParseResult {
  const result = PriceTableSchema.safeParse(json);
  if (result.success) {
    const problems = ruleIdProblems(result.data.rules);
    if (problems.length > 0) return { ok: false, errors: problems };
    return { ok: true, table: result.data };
  }
  const errors = result.error.issues
    .flatMap(flattenUnion)
    .map((issue) => `${formatPath(issue.path)}: ${issue.message}`);
  return { ok: false, errors };
}

/**
 * Zod reports a failed union as one vague issue; report instead the issues of the branch whose
 * type matched (a string price that is malformed, or an object price with a bad field).
 */
function flattenUnion(issue: z.ZodIssue): z.ZodIssue[] {
  if (issue.code !== "invalid_union") return [issue];
  const matched = issue.unionErrors.find(
    (e) => !e.issues.some((i) => i.code === "invalid_type" && i.path.length === issue.path.length),
  );
  if (!matched) {
    return [{ ...issue, message: 'must be a "$0.01" string or an {amount, asset, extra} object' }];
  }
  return matched.issues.flatMap(flattenUnion);
}

function formatPath(path: ReadonlyArray<string | number>): string {
  if (path.length === 0) return "(table)";
  return path
    .map((part, i) => (typeof part === "number" ? `[${part}]` : i === 0 ? part : `.${part}`))
    .join("");
}
