import * as z from "../zod";
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
  .check(
    z.refine(
      (value) => EVM_ADDRESS.test(value) || SOLANA_ADDRESS.test(value),
      "must be a 0x-prefixed 20-byte hex address (EVM) or a Base58 public key (Solana)",
    ),
  );
const network = z
  .string()
  .check(z.regex(CAIP2_NETWORK, "must be a CAIP-2 network id such as eip155:8453"));

/** "$0.001" style price in US dollars, converted with the asset's decimals. */
const usdPrice = z
  .string()
  .check(z.regex(USD_PRICE, 'must look like "$0.01" (a dollar sign and a decimal amount)'));

/** A price in the asset's atomic units, with the asset named explicitly. */
const atomicPrice = z.strictObject({
  amount: z
    .string()
    .check(z.regex(/^[1-9]\d{0,77}$/, "must be a positive whole number of atomic units")),
  asset: address,
  /** The token's EIP-712 domain, needed by EVM signers (EIP-3009, Permit2). */
  extra: z.optional(
    z.strictObject({
      name: z.string().check(z.minLength(1)),
      version: z.string().check(z.minLength(1)),
    }),
  ),
});

export const PriceSchema = z.union([usdPrice, atomicPrice]);

const pathPattern = z.string().check(
  z.startsWith("/", "must start with /"),
  z.maxLength(512),
  z.refine((p) => !/\*./.test(p), "a * may only stand at the end of the pattern"),
);

/** Payment terms shared by priced rules and the table's defaults. */
const terms = {
  network: z.optional(network),
  payTo: z.optional(address),
  description: z.optional(z.string().check(z.maxLength(1000))),
  /** What the paywall page calls the content (else its name from the URL; src/browser). */
  title: z.optional(
    z.string().check(
      z.minLength(1),
      z.maxLength(200),
      z.refine((t) => ![...t].some((c) => c < " " || c === "\u007f"), "must be one line of text"),
    ),
  ),
  mimeType: z.optional(z.string().check(z.maxLength(200))),
  maxTimeoutSeconds: z.optional(z.int().check(z.minimum(1), z.maximum(3600))),
  /** Whether payments must carry a `payment-identifier` (idempotent retries); default optional. */
  paymentIdentifier: z.optional(z.enum(["optional", "required"])),
  /** How to call the resource and what it returns (bazaar discovery; discovery-terms.ts). */
  discovery: z.optional(DiscoverySchema),
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
    z.strictObject({
      network,
      price: PriceSchema,
      payTo: z.optional(address),
      maxTimeoutSeconds: z.optional(z.int().check(z.minimum(1), z.maximum(3600))),
    }),
  )
  .check(z.minLength(1), z.maxLength(8));

/**
 * Terms are for priced rules only; a free rule that carries them is probably a mistake, unless it
 * has a `crawlerPrice` (a crawler-only rule: its terms are what charged crawlers pay).
 */
const freeOrPriced = z.check<{ free?: true | undefined }>((payload) => {
  const value = payload.value;
  const problem = (message: string, path: string[] = []): void => {
    payload.issues.push({ code: "custom", message, path, input: value });
  };
  const prices = ["price", "dynamicPrice", "originPrice"].filter((key) => z.given(payload, key));
  const hasPrice = prices.length > 0;
  if (prices.length > 1) {
    problem('give one of "price", "dynamicPrice" and "originPrice", not several');
  } else if (value.free === true && hasPrice) {
    problem("a rule is either free or has a price, not both");
  } else if (value.free !== true && !hasPrice) {
    problem('needs a "price" or "free": true');
  } else if (value.free === true) {
    const crawlerOnly = z.given(payload, "crawlerPrice");
    for (const key of PRICED_ONLY) {
      if (z.given(payload, key) && !(crawlerOnly && key !== "session")) {
        problem("has no meaning on a free rule", [key]);
      }
    }
  }
});

export const RuleSchema = z
  .strictObject({
    /** The rule's stable name in receipts, the funnel and the admin API (rule-id.ts). */
    id: z.optional(
      z
        .string()
        .check(
          z.maxLength(RULE_ID_MAX),
          z.regex(RULE_ID, "must be a slug such as weather-api (a-z, 0-9, words joined by -)"),
        ),
    ),
    /** Exact host name or "*.example.com"; omitted means any host. */
    host: z.optional(
      z
        .string()
        .check(
          z.regex(
            /^(\*\.)?[a-z0-9.-]+$/,
            "must be a lower-case host name, optionally starting with *.",
          ),
        ),
    ),
    /** Upper-case HTTP methods; omitted means every method. GET also covers HEAD. */
    methods: z.optional(
      z
        .array(z.string().check(z.regex(HTTP_METHOD, "must be an upper-case HTTP method")))
        .check(z.minLength(1)),
    ),
    path: pathPattern,
    free: z.optional(z.literal(true)),
    price: z.optional(PriceSchema),
    /** Pay once, come back: see src/pricing/session-terms.ts. */
    session: z.optional(SessionSchema),
    /** Other networks (and prices) this rule may be paid on. */
    alsoAccept: z.optional(AlsoAcceptSchema),
    /** Pay a payee chosen by the request from a map in `payees` (payees.ts). */
    payee: z.optional(PayeeSchema),
    /** A price that follows the request, instead of `price` (dynamic-price.ts). */
    dynamicPrice: z.optional(DynamicPriceSchema),
    /** The origin quotes the price in band, within these bounds (origin-price.ts). */
    originPrice: z.optional(OriginPriceSchema),
    /** Metered use: `price` is the most a request may cost (metered.ts, scheme `upto`). */
    metered: z.optional(MeteredSchema),
    /** What charged crawlers pay here; on a free rule, people stay free (crawler-terms.ts). */
    crawlerPrice: z.optional(CrawlPriceSchema),
    ...terms,
  })
  .check(freeOrPriced);

const DefaultRuleSchema = z
  .strictObject({
    free: z.optional(z.literal(true)),
    price: z.optional(PriceSchema),
    session: z.optional(SessionSchema),
    alsoAccept: z.optional(AlsoAcceptSchema),
    crawlerPrice: z.optional(CrawlPriceSchema),
    ...terms,
  })
  .check(freeOrPriced);

const TermsSchema = z.strictObject(terms);

export const PriceTableSchema = z.strictObject({
  /** Free-form label of this table's version, echoed in logs and health output. */
  version: z.optional(z.union([z.string().check(z.maxLength(100)), z.number()])),
  /** When false (the default) paths match whatever their letter case. */
  caseSensitive: z._default(z.boolean(), false),
  defaults: z._default(TermsSchema, {}),
  rules: z.array(RuleSchema).check(z.maxLength(10_000)),
  /** What applies to requests no rule matches. */
  default: z._default(DefaultRuleSchema, { free: true }),
  /** Pay-per-crawl: crawler policies and prepaid credit (crawler-terms.ts). */
  crawlers: z.optional(CrawlersSchema),
  /** Named maps of payees for rules with a `payee` (payees.ts). */
  payees: z.optional(PayeeMapsSchema),
  /** The operator's name, colour and logo on the paywall page (brand.ts). */
  brand: z.optional(BrandSchema),
});

/** A validated price table as stored in KV. */
export type PriceTable = z.infer<typeof PriceTableSchema>;
export type Rule = z.infer<typeof RuleSchema>;
export type Price = z.infer<typeof PriceSchema>;
/** The payment terms a rule or the table's defaults may set. */
export type Terms = z.infer<typeof TermsSchema>;

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
 * type matched (a string price that is malformed, or an object price with a bad field), at
 * their full path (a branch's issues are relative to the union).
 */
function flattenUnion(issue: z.core.$ZodIssue): z.core.$ZodIssue[] {
  if (issue.code !== "invalid_union" || issue.errors.length === 0) return [issue];
  const matched = issue.errors.find(
    (issues) => !issues.some((i) => i.code === "invalid_type" && i.path.length === 0),
  );
  if (!matched) {
    return [{ ...issue, message: 'must be a "$0.01" string or an {amount, asset, extra} object' }];
  }
  return matched.flatMap((inner) =>
    flattenUnion({ ...inner, path: [...issue.path, ...inner.path] }),
  );
}

function formatPath(path: ReadonlyArray<PropertyKey>): string {
  if (path.length === 0) return "(table)";
  return path
    .map((part, i) =>
      typeof part === "number" ? `[${part}]` : i === 0 ? String(part) : `.${String(part)}`,
    )
    .join("");
}
