import { defaultUsdc } from "./assets";
import { resolveDynamicPrice } from "./dynamic-price";
import type { Match } from "./match";
import { resolveMetered } from "./metered";
import { resolveOffer, stripUndefined } from "./offer";
import type { Offer } from "./offer";
import { resolveOriginPrice } from "./origin-price";
import type { PriceTable, Rule, Terms } from "./schema";
import { resolveSession } from "./session-terms";
import type { SessionConfig } from "./session-terms";

/**
 * One rule's payment terms, resolved once per table version (compile.ts): its offer, with what
 * the rule adds to it (metered use, a dynamic or origin-quoted price, a session, other networks),
 * and what a charged crawler pays there. Every problem is pushed to the table's list, never
 * thrown, so an operator sees all of them at once.
 */

/** How long a metered stream's permit is good for unless the rule says (src/pricing/metered.ts). */
const STREAM_TIMEOUT_SECONDS = 600;

/** What every rule of one table is resolved with. */
export interface TableContext {
  table: PriceTable;
  /** The deployment's and the table's defaults; the brand goes into every offer (brand.ts). */
  base: Terms & { brand?: PriceTable["brand"] };
  /** Problems found so far, each prefixed with the rule's JSON path. */
  errors: string[];
}

/** The parts of a rule (or the default rule) that decide its terms. */
export type PricedTerms = { free?: true } & Terms & {
    price?: Rule["price"];
    session?: SessionConfig;
    alsoAccept?: Rule["alsoAccept"];
    dynamicPrice?: Rule["dynamicPrice"];
    originPrice?: Rule["originPrice"];
    metered?: Rule["metered"];
    payee?: Rule["payee"];
  };

/** `label` is the rule's JSON path, for problems; `name` its stable name, for matches. */
export function resolveRule(
  context: TableContext,
  label: string,
  name: string,
  rule: PricedTerms,
  routeKey: string,
): Match {
  const price = rule.price ?? rule.dynamicPrice?.max ?? rule.originPrice?.max;
  if (rule.free || price === undefined) return { kind: "free", rule: name };
  const { session, alsoAccept, dynamicPrice, originPrice, metered, payee, ...ruleTerms } = rule;
  const terms = { ...context.base, ...stripUndefined(ruleTerms) };
  const fromOrigin = payee?.from === "origin";
  const resolved = resolveOffer(price, terms, metered ? "upto" : "exact", fromOrigin);
  const problem = (message: string) => context.errors.push(`${label}: ${message}`);
  if (!resolved.ok) {
    problem(resolved.reason);
    return { kind: "free", rule: name };
  }
  const offer = resolved.offer;
  if (metered) addMetered(offer, rule, terms.maxTimeoutSeconds, problem);
  if (dynamicPrice) addDynamic(offer, rule, problem);
  if (originPrice) addOriginPrice(offer, rule, problem);
  if (fromOrigin && (alsoAccept || session || metered)) {
    problem("a payee from the origin cannot be combined with alsoAccept, session or metered");
  }
  if (session) offer.session = resolveSession(session, routeKey, context.table.caseSensitive);
  if (alsoAccept) offer.alternatives = alternativesOf(offer, alsoAccept, terms, label, context);
  return { kind: "priced", rule: name, offer };
}

type Problem = (message: string) => void;

/** A metered rule's usage terms: priced in USDC, alone, and a stream's permit outlives it. */
function addMetered(
  offer: Offer,
  rule: PricedTerms,
  maxTimeoutSeconds: number | undefined,
  problem: Problem,
): void {
  const resolved = resolveMetered(rule.metered!, offer.network);
  const usdc = defaultUsdc(offer.network);
  if (typeof resolved === "string") return void problem(resolved);
  if (!usdc || usdc.address.toLowerCase() !== offer.asset.toLowerCase()) {
    // The unit price is in US dollars of the network's USDC: another asset's units differ.
    return void problem('metered rules are priced in USDC; give "price" as "$0.05"-style');
  }
  if (rule.alsoAccept || rule.session || rule.dynamicPrice || rule.originPrice) {
    return void problem(
      "metered cannot be combined with alsoAccept, session, dynamicPrice or originPrice",
    );
  }
  offer.metered = resolved;
  // A stream is settled when it ends: its permit must outlive it (10 minutes unless set).
  if ("sse" in resolved.usage && maxTimeoutSeconds === undefined) {
    offer.maxTimeoutSeconds = STREAM_TIMEOUT_SECONDS;
  }
}

/** A `dynamicPrice` rule's pricing, which cannot be offered on other networks as well. */
function addDynamic(offer: Offer, rule: PricedTerms, problem: Problem): void {
  const dynamic = resolveDynamicPrice(rule.dynamicPrice!, offer.network);
  if (typeof dynamic === "string") problem(dynamic);
  else if (rule.alsoAccept) problem("dynamicPrice cannot be combined with alsoAccept");
  else offer.dynamic = dynamic;
}

/** An `originPrice` rule's quote bounds, which no session or other network may share. */
function addOriginPrice(offer: Offer, rule: PricedTerms, problem: Problem): void {
  const quote = resolveOriginPrice(rule.originPrice!, offer.network);
  if (typeof quote === "string") problem(quote);
  else if (rule.alsoAccept || rule.session) {
    problem("originPrice cannot be combined with alsoAccept or session");
  } else offer.quote = quote;
}

/** The rule's `alsoAccept` offers: each on another network or asset, sharing its session. */
function alternativesOf(
  offer: Offer,
  alsoAccept: NonNullable<Rule["alsoAccept"]>,
  terms: TableContext["base"],
  label: string,
  context: TableContext,
): Offer[] {
  const seen = new Set([`${offer.network}|${offer.asset.toLowerCase()}`]);
  const alternatives: Offer[] = [];
  alsoAccept.forEach((other, i) => {
    const outcome = resolveOffer(other.price, { ...terms, ...stripUndefined(other) });
    const where = `${label}.alsoAccept[${i}]`;
    if (!outcome.ok) return context.errors.push(`${where}: ${outcome.reason}`);
    const resolved = outcome.offer;
    const key = `${resolved.network}|${resolved.asset.toLowerCase()}`;
    if (seen.has(key)) {
      return context.errors.push(`${where}: ${resolved.network} is already offered`);
    }
    seen.add(key);
    alternatives.push({ ...resolved, ...(offer.session && { session: offer.session }) });
  });
  return alternatives;
}

/** Adds what charged crawlers pay: the rule's `crawlerPrice`, else its price, in USDC. */
export function withCrawl(
  context: TableContext,
  label: string,
  rule: Terms & { price?: Rule["price"]; crawlerPrice?: string; payee?: Rule["payee"] },
  match: Match,
): Match {
  const { table, base, errors } = context;
  if (!table.crawlers) {
    if (rule.crawlerPrice) errors.push(`${label}.crawlerPrice: needs a "crawlers" section`);
    return match;
  }
  const price = rule.crawlerPrice ?? (match.kind === "priced" ? rule.price : undefined);
  if (price === undefined) return match;
  // A payee the origin names is the crawlers' payee too (asked for in the paid flow).
  const fromOrigin = rule.payee?.from === "origin";
  const resolved = resolveOffer(price, { ...base, ...stripUndefined(rule) }, "exact", fromOrigin);
  if (!resolved.ok) errors.push(`${label}: ${resolved.reason}`);
  else if (
    defaultUsdc(resolved.offer.network)?.address.toLowerCase() !==
    resolved.offer.asset.toLowerCase()
  ) {
    errors.push(`${label}: crawlers pay in USDC; give the rule a "$0.01"-style crawlerPrice`);
  } else return { ...match, crawl: resolved.offer };
  return match;
}
