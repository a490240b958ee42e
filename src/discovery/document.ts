import type { CompiledTable, ListedRule, Offer } from "../pricing";
import { atomicToUsd, offersOf } from "../pricing";
import { requirementsV2 } from "../x402";
import { BAZAAR, bazaarExtension } from "./bazaar";

/**
 * Discovery documents, generated from the live price table so agents can learn what costs what
 * before paying: `/.well-known/x402` (JSON: every priced rule with its methods, path pattern,
 * price, the exact requirements a payment must match, session terms and the bazaar description)
 * and `/.well-known/x402/llms.txt` (the same as short Markdown for language models).
 */

/** Paths of the discovery documents; never proxied to the origin. */
export const DISCOVERY_PATH = "/.well-known/x402";
export const LLMS_PATH = "/.well-known/x402/llms.txt";

/** `methods` of a rule that allows every method. */
export const EVERY_METHOD = ["*"] as const;

/** Who is paid when the origin names the payee per request (`payee: {from: "origin"}`). */
export const ORIGIN_PAYEE = "set per request by the origin";

/** One priced rule in the discovery document. */
export interface DiscoveredResource {
  /** The rule's stable name, as receipts and the admin API call it (src/pricing/rule-id.ts). */
  rule: string;
  /** The rule's URL pattern on this host (`:name` is one segment, a trailing `*` anything). */
  resource: string;
  /**
   * Always an array: the upper-case methods the rule prices (GET also covers HEAD), or
   * `["*"]` (EVERY_METHOD) when it prices every method.
   */
  methods: readonly string[];
  /** Who pays: everyone, or only crawlers (people read free; see pay-per-crawl). */
  payer: "everyone" | "crawlers";
  description: string;
  mimeType: string;
  /** The price for people, e.g. "$0.01"; in atomic units when the asset's decimals are unknown. */
  price: string;
  /** The CAIP-2 networks it can be paid on, e.g. ["eip155:8453"]. */
  networks: string[];
  /**
   * The exact requirements a payment must match, as a 402 offers them. Absent when the payee is
   * named by the origin per request (`payee` says so): then only each request's 402 has them.
   */
  accepts?: ReturnType<typeof requirementsV2>[];
  /** Present when the origin names the payee per request: ORIGIN_PAYEE. */
  payee?: typeof ORIGIN_PAYEE;
  session?: { ttlSeconds?: number; uses?: number; scope: string };
  paymentIdentifier: "required" | "optional";
  /**
   * The bazaar extension (how to call it), for a rule that names its methods, built for the first
   * one. A rule that prices every method has none here: each 402 declares it for the request's
   * own method.
   */
  extensions?: Record<string, unknown>;
}

/** The `/.well-known/x402` document of a table, as seen from `origin` (e.g. "https://host"). */
export function discoveryDocument(
  table: CompiledTable,
  origin: string,
): { x402Version: 2; version: string | number | null; resources: DiscoveredResource[] } {
  const resources: DiscoveredResource[] = [];
  for (const rule of table.listing) {
    const offer = rule.result.kind === "priced" ? rule.result.offer : rule.result.crawl;
    if (!offer) continue;
    const payer = rule.result.kind === "priced" ? "everyone" : "crawlers";
    resources.push(describe(rule, offer, payer, origin));
  }
  return { x402Version: 2, version: table.version ?? null, resources };
}

function describe(
  rule: ListedRule,
  offer: Offer,
  payer: DiscoveredResource["payer"],
  origin: string,
): DiscoveredResource {
  const site = rule.host ? `${new URL(origin).protocol}//${rule.host}` : origin;
  const method = rule.methods?.[0];
  const bazaar = method === undefined ? undefined : bazaarExtension(offer, method);
  const offers = offersOf(offer);
  const resource: DiscoveredResource = {
    rule: rule.id,
    resource: `${site}${rule.path ?? "/*"}`,
    methods: rule.methods ?? EVERY_METHOD,
    payer,
    description: offer.description,
    mimeType: offer.mimeType,
    price: offer.dynamic
      ? dynamicRange(offer)
      : offer.display || `${offer.amount} atomic units of ${offer.asset}`,
    networks: offers.map((one) => one.network),
    paymentIdentifier: offer.paymentIdRequired ? "required" : "optional",
  };
  // A payee the origin names is known per request only: its 402 states the terms.
  if (offer.payeeFromOrigin) resource.payee = ORIGIN_PAYEE;
  else resource.accepts = offers.map(requirementsV2);
  if (offer.session) {
    resource.session = {
      scope: offer.session.scope,
      ...(offer.session.ttlSeconds !== undefined && { ttlSeconds: offer.session.ttlSeconds }),
      ...(offer.session.uses !== undefined && { uses: offer.session.uses }),
    };
  }
  if (bazaar) resource.extensions = { [BAZAAR]: bazaar };
  return resource;
}

/** The `llms.txt` summary: one line per priced resource, and how to pay. */
export function llmsText(table: CompiledTable, origin: string): string {
  const { resources } = discoveryDocument(table, origin);
  const lines = [
    `# Paid resources on ${new URL(origin).host}`,
    "",
    "> Pay per request in USDC with any x402 V2 client (HTTP 402, `PAYMENT-REQUIRED` and",
    "> `PAYMENT-SIGNATURE` headers). Unpaid requests get a 402 that states the exact terms.",
    "",
    "## Resources",
    "",
  ];
  for (const r of resources) {
    const methods = r.methods[0] === "*" ? "ANY" : r.methods.join(", ");
    const terms = [`${r.price} on ${r.networks.join(" or ")}`];
    if (r.payee) terms.push(`payee ${r.payee} (its 402 states the terms)`);
    if (r.payer === "crawlers") terms.push("crawlers only; people read free");
    if (r.session) terms.push(passText(r.session));
    if (r.paymentIdentifier === "required") terms.push("payment-identifier required");
    const what = r.description ? `: ${r.description}` : "";
    lines.push(`- ${methods} ${r.resource}${what} (${terms.join("; ")})`);
  }
  if (resources.length === 0) lines.push("- nothing is priced right now");
  lines.push("", `Machine-readable: ${origin}${DISCOVERY_PATH}`, "");
  return lines.join("\n");
}

function passText(session: NonNullable<DiscoveredResource["session"]>): string {
  const limits = [
    session.ttlSeconds !== undefined ? `${session.ttlSeconds} s` : "",
    session.uses !== undefined ? `${session.uses} uses` : "",
  ].filter(Boolean);
  return `one payment buys a pass (${limits.join(" or ")}, scope ${session.scope})`;
}

/** "$0.001–$0.05 by query:pages" for a dynamic price. */
function dynamicRange(offer: Offer): string {
  const dynamic = offer.dynamic;
  if (!dynamic) return offer.display;
  const usd = (atomic: bigint) => atomicToUsd(atomic.toString(), dynamic.decimals);
  return `${usd(dynamic.min)}–${usd(dynamic.max)} by ${dynamic.from}`;
}
