import type { CompiledTable, ListedRule, Offer } from "../pricing";
import { atomicToUsd, offersOf, requirementsV2 } from "../pricing";
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

/** One priced rule in the discovery document. */
export interface DiscoveredResource {
  /** The rule's URL pattern on this host (`:name` is one segment, a trailing `*` anything). */
  resource: string;
  methods: readonly string[] | "*";
  /** Who pays: everyone, or only crawlers (people read free; see pay-per-crawl). */
  payer: "everyone" | "crawlers";
  description: string;
  mimeType: string;
  /** The price for people, e.g. "$0.01"; empty when the asset's decimals are unknown. */
  price: string;
  accepts: ReturnType<typeof requirementsV2>[];
  session?: { ttlSeconds?: number; uses?: number; scope: string };
  paymentIdentifier: "required" | "optional";
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
  const method = rule.methods?.[0] ?? "GET";
  const bazaar = bazaarExtension(offer, method);
  const resource: DiscoveredResource = {
    resource: `${site}${rule.path ?? "/*"}`,
    methods: rule.methods ?? "*",
    payer,
    description: offer.description,
    mimeType: offer.mimeType,
    price: offer.dynamic ? dynamicRange(offer) : offer.display,
    // A payee the origin names is known per request only: its 402 states the terms.
    accepts: offer.payeeFromOrigin ? [] : offersOf(offer).map(requirementsV2),
    paymentIdentifier: offer.paymentIdRequired ? "required" : "optional",
  };
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
    const methods = r.methods === "*" ? "ANY" : r.methods.join(", ");
    const accept = r.accepts[0];
    const price = r.price || `${accept?.amount ?? "?"} atomic units of ${accept?.asset ?? "?"}`;
    const networks = r.accepts.map((a) => a.network).join(" or ");
    const terms = [`${price} on ${networks || "?"}`];
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
