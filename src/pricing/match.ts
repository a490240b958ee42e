import type { CrawlerTerms } from "./crawler-terms";
import type { Offer } from "./offer";
import { canonicalHost, foldCase } from "./path";
import { payeeKeyOf } from "./payees";
import type { PayeeSelector } from "./payees";
import type { RuleIndex } from "./rule-index";

/**
 * Answers a request from a compiled price table (compile.ts): the rule index narrows the table
 * to the few rules that can match the request's host and path, and the first of those whose
 * host, methods and pattern all match decides; none does, the default rule.
 */

/**
 * Which rule a request matched and what it costs. `rule` is its stable name (rule-id.ts), as
 * receipts, the funnel and logs record it: "weather-api", "POST /api/search", "default". `crawl`
 * is what a charged crawler pays there (its own policy price aside); absent, crawler policies do
 * not apply (no `crawlers` section, or a plain free rule such as /robots.txt).
 */
export type Match =
  | { kind: "free"; rule: string; crawl?: Offer }
  | { kind: "priced"; rule: string; offer: Offer; crawl?: Offer };

/** What a request finds in the table: a match, or a `payee` rule with no payee for it (404). */
export type Lookup = Match | { kind: "unknown-payee"; rule: string; reason: string };

/** The parts of a request the price table looks at; `path` is the normalised match path. */
export interface RequestKey {
  method: string;
  host: string;
  path: string;
}

/** A price table ready to answer requests. */
export interface CompiledTable {
  version: string | number | undefined;
  /** The resolved `crawlers` section; undefined: pay-per-crawl is off. */
  crawlers: CrawlerTerms | undefined;
  /** Every rule in table order, then the default, with what it matches and costs (discovery). */
  listing: readonly ListedRule[];
  match(request: RequestKey): Lookup;
}

/** A rule as discovery lists it: what it matches and its resolved match result. */
export interface ListedRule {
  /** The rule's stable name (rule-id.ts); "default" for the default rule. */
  id: string;
  host: string | undefined;
  /** Upper-case methods; undefined: every method. */
  methods: readonly string[] | undefined;
  /** The path pattern; undefined for the default rule. */
  path: string | undefined;
  result: Match;
}

/** One rule of the table, compiled: what it matches and its resolved result. */
export interface CompiledRule {
  hostExact?: string;
  hostSuffix?: string;
  methods?: ReadonlySet<string>;
  pattern: RegExp;
  result: Match;
  /** Rules with a `payee`: the match of each payee key. */
  payees?: { selector: PayeeSelector; byKey: ReadonlyMap<string, Match> };
}

/** The compiled rules a request is matched against. */
export interface RuleSet {
  index: RuleIndex;
  rules: readonly CompiledRule[];
  /** The default rule's match. */
  fallback: Match;
  caseSensitive: boolean;
}

/** The rule a request matches, or the default's match. */
export function matchRequest(set: RuleSet, request: RequestKey): Lookup {
  // `example.com.` is the same host as `example.com` (a fully qualified name): price it so.
  const host = canonicalHost(request.host);
  const path = foldCase(request.path, set.caseSensitive);
  for (const position of set.index.candidates(host, path)) {
    const rule = set.rules[position];
    if (rule === undefined || !applies(rule, host, request.method, path)) continue;
    return rule.payees ? payeeMatch(rule, host, path) : rule.result;
  }
  return set.fallback;
}

/** True when `rule` covers this host, method and (folded) path. */
function applies(rule: CompiledRule, host: string, method: string, path: string): boolean {
  if (rule.hostExact !== undefined && rule.hostExact !== host) return false;
  if (rule.hostSuffix !== undefined && !host.endsWith(rule.hostSuffix)) return false;
  if (rule.methods && !rule.methods.has(method)) return false;
  return rule.pattern.test(path);
}

/** The match of a `payee` rule for this request's payee, or why there is none. */
function payeeMatch(rule: CompiledRule, host: string, path: string): Lookup {
  const { selector, byKey } = rule.payees!;
  const key = payeeKeyOf(selector, host, path);
  const found = byKey.get(key);
  if (found) return found;
  const what = selector.from === "host" ? `host ${host}` : `${selector.name} "${key}"`;
  return {
    kind: "unknown-payee",
    rule: rule.result.rule,
    reason: `no payee is configured for ${what}`,
  };
}
