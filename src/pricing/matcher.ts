import { defaultUsdc } from "./assets";
import { resolveCrawlers } from "./crawler-terms";
import type { CrawlerTerms } from "./crawler-terms";
import { canonicalHost, foldCase } from "./path";
import { RuleIndex } from "./rule-index";
import { DEFAULT_RULE_ID, ruleIds } from "./rule-id";
import type { PriceTable, Rule, Terms } from "./schema";
import { resolveDynamicPrice } from "./dynamic-price";
import { resolveOriginPrice } from "./origin-price";
import { foldPayeeKey, payeeKeyOf, payeeSelector } from "./payees";
import type { MapPayeeConfig, PayeeSelector } from "./payees";
import { resolveSession } from "./session-terms";
import type { SessionConfig } from "./session-terms";
import { resolveMetered } from "./metered";
import { compilePattern, resolveOffer, stripUndefined } from "./offer";
import type { Offer } from "./offer";

export { offersOf } from "./offer";
export type { Offer } from "./offer";

/**
 * Compiles a validated price table into a matcher: patterns become regular expressions, rules are
 * indexed by host and literal path prefix (so a request tests only the few rules that can match
 * it, whatever the table's size), and every priced rule's payment terms are resolved once per
 * table version, not on every request.
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

/** How long a metered stream's permit is good for unless the rule says (src/pricing/metered.ts). */
const STREAM_TIMEOUT_SECONDS = 600;

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

/** Deployment-wide defaults (from the Worker's variables) for terms a table leaves out. */
export interface EnvDefaults {
  network?: string | undefined;
  payTo?: string | undefined;
}

interface CompiledRule {
  hostExact?: string;
  hostSuffix?: string;
  methods?: ReadonlySet<string>;
  pattern: RegExp;
  result: Match;
  /** Rules with a `payee`: the match of each payee key. */
  payees?: { selector: PayeeSelector; byKey: ReadonlyMap<string, Match> };
}

/** Compiles a table, or lists every rule whose terms cannot be resolved (never throws). */
export function compileTable(
  table: PriceTable,
  env: EnvDefaults,
): { ok: true; table: CompiledTable } | { ok: false; errors: string[] } {
  const errors: string[] = [];
  // The brand goes into every offer, for the paywall page (brand.ts); no rule can set one.
  const base: Terms & { brand?: PriceTable["brand"] } = {
    network: env.network,
    payTo: env.payTo,
    ...stripUndefined(table.defaults),
    ...(table.brand && { brand: table.brand }),
  };
  /** `label` is the rule's JSON path, for problems; `name` its stable name, for matches. */
  const resolve = (
    label: string,
    name: string,
    rule: { free?: true } & Terms & {
        price?: Rule["price"];
        session?: SessionConfig;
        alsoAccept?: Rule["alsoAccept"];
        dynamicPrice?: Rule["dynamicPrice"];
        originPrice?: Rule["originPrice"];
        metered?: Rule["metered"];
        payee?: Rule["payee"];
      },
    routeKey: string,
  ) => {
    const price = rule.price ?? rule.dynamicPrice?.max ?? rule.originPrice?.max;
    if (rule.free || price === undefined) return { kind: "free", rule: name } as const;
    const { session, alsoAccept, dynamicPrice, originPrice, metered, payee, ...ruleTerms } = rule;
    const terms = { ...base, ...stripUndefined(ruleTerms) };
    const fromOrigin = payee?.from === "origin";
    const offer = resolveOffer(price, terms, metered ? "upto" : "exact", fromOrigin);
    if (typeof offer === "string") {
      errors.push(`${label}: ${offer}`);
      return { kind: "free", rule: name } as const;
    }
    if (metered) {
      const resolved = resolveMetered(metered, offer.network);
      const usdc = defaultUsdc(offer.network);
      if (typeof resolved === "string") errors.push(`${label}: ${resolved}`);
      else if (!usdc || usdc.address.toLowerCase() !== offer.asset.toLowerCase()) {
        // The unit price is in US dollars of the network's USDC: another asset's units differ.
        errors.push(`${label}: metered rules are priced in USDC; give "price" as "$0.05"-style`);
      } else if (alsoAccept || session || dynamicPrice || originPrice) {
        errors.push(
          `${label}: metered cannot be combined with alsoAccept, session, dynamicPrice or originPrice`,
        );
      } else {
        offer.metered = resolved;
        // A stream is settled when it ends: its permit must outlive it (10 minutes unless set).
        if ("sse" in resolved.usage && terms.maxTimeoutSeconds === undefined) {
          offer.maxTimeoutSeconds = STREAM_TIMEOUT_SECONDS;
        }
      }
    }
    if (dynamicPrice) {
      const dynamic = resolveDynamicPrice(dynamicPrice, offer.network);
      if (typeof dynamic === "string") errors.push(`${label}: ${dynamic}`);
      else if (alsoAccept) errors.push(`${label}: dynamicPrice cannot be combined with alsoAccept`);
      else offer.dynamic = dynamic;
    }
    if (originPrice) {
      const quote = resolveOriginPrice(originPrice, offer.network);
      if (typeof quote === "string") errors.push(`${label}: ${quote}`);
      else if (alsoAccept || session) {
        errors.push(`${label}: originPrice cannot be combined with alsoAccept or session`);
      } else offer.quote = quote;
    }
    if (fromOrigin && (alsoAccept || session || metered)) {
      errors.push(
        `${label}: a payee from the origin cannot be combined with alsoAccept, session or metered`,
      );
    }
    if (session) offer.session = resolveSession(session, routeKey, table.caseSensitive);
    if (alsoAccept) {
      const seen = new Set([`${offer.network}|${offer.asset.toLowerCase()}`]);
      const alternatives: Offer[] = [];
      alsoAccept.forEach((other, i) => {
        const resolved = resolveOffer(other.price, { ...terms, ...stripUndefined(other) });
        const where = `${label}.alsoAccept[${i}]`;
        if (typeof resolved === "string") return errors.push(`${where}: ${resolved}`);
        const key = `${resolved.network}|${resolved.asset.toLowerCase()}`;
        if (seen.has(key)) return errors.push(`${where}: ${resolved.network} is already offered`);
        seen.add(key);
        alternatives.push({ ...resolved, ...(offer.session && { session: offer.session }) });
      });
      offer.alternatives = alternatives;
    }
    return { kind: "priced", rule: name, offer } as const;
  };
  const resolved = table.crawlers && resolveCrawlers(table.crawlers, base);
  if (resolved && !resolved.ok) errors.push(...resolved.errors);
  const crawlers = resolved?.ok ? resolved.terms : undefined;
  /** Adds what charged crawlers pay: the rule's `crawlerPrice`, else its price, in USDC. */
  const withCrawl = (
    label: string,
    rule: Terms & { price?: Rule["price"]; crawlerPrice?: string; payee?: Rule["payee"] },
    match: Match,
  ): Match => {
    if (!table.crawlers) {
      if (rule.crawlerPrice) errors.push(`${label}.crawlerPrice: needs a "crawlers" section`);
      return match;
    }
    const price = rule.crawlerPrice ?? (match.kind === "priced" ? rule.price : undefined);
    if (price === undefined) return match;
    // A payee the origin names is the crawlers' payee too (asked for in the paid flow).
    const fromOrigin = rule.payee?.from === "origin";
    const offer = resolveOffer(price, { ...base, ...stripUndefined(rule) }, "exact", fromOrigin);
    if (typeof offer === "string") errors.push(`${label}: ${offer}`);
    else if (defaultUsdc(offer.network)?.address.toLowerCase() !== offer.asset.toLowerCase()) {
      errors.push(`${label}: crawlers pay in USDC; give the rule a "$0.01"-style crawlerPrice`);
    } else return { ...match, crawl: offer };
    return match;
  };

  /** Each payee of a `payee` rule gets its own offers, sessions scoped to that payee. */
  const compilePayees = (label: string, name: string, rule: Rule, config: MapPayeeConfig) => {
    const selector = payeeSelector(
      foldCase(rule.path.normalize("NFKC"), table.caseSensitive),
      config,
    );
    if (typeof selector === "string") {
      errors.push(`${label}.payee.from: ${selector}`);
      return undefined;
    }
    const map = table.payees?.[config.map];
    if (!map) {
      errors.push(`${label}.payee.map: the table has no payees map "${config.map}"`);
      return undefined;
    }
    const byKey = new Map<string, Match>();
    for (const [key, payTo] of Object.entries(map)) {
      const folded = foldPayeeKey(selector, key, table.caseSensitive);
      const scope = rule.session?.scope;
      const session = rule.session && {
        ...rule.session,
        // A group pass opens the group only at the payee who was paid.
        ...(scope?.startsWith("group:") && { scope: `${scope}@${payTo.toLowerCase()}` }),
      };
      const scoped = { ...rule, payTo, session };
      const routeKey = `${routeKeyOf(rule)} payee:${folded}`;
      const terms = resolve(`${label}[${key}]`, `${name}[${key}]`, scoped, routeKey);
      byKey.set(folded, withCrawl(label, scoped, terms));
    }
    return { selector, byKey };
  };

  const index = new RuleIndex();
  const ids = ruleIds(table.rules);
  const rules: CompiledRule[] = table.rules.map((rule, i) => {
    const exactHost = rule.host?.startsWith("*.") ? undefined : rule.host;
    index.add(i, exactHost, foldCase(rule.path.normalize("NFKC"), table.caseSensitive));
    const label = `rules[${i}]`;
    const name = ids[i] ?? label;
    const compiled: CompiledRule = {
      pattern: compilePattern(rule.path, table.caseSensitive),
      result:
        rule.payee && "map" in rule.payee
          ? { kind: "free", rule: name }
          : withCrawl(label, rule, resolve(label, name, rule, routeKeyOf(rule))),
    };
    if (rule.payee && "map" in rule.payee) {
      const payees = compilePayees(label, name, rule, rule.payee);
      if (payees) compiled.payees = payees;
    }
    if (rule.host?.startsWith("*.")) compiled.hostSuffix = rule.host.slice(1);
    else if (rule.host) compiled.hostExact = rule.host;
    if (rule.methods) {
      const methods = new Set(rule.methods);
      if (methods.has("GET")) methods.add("HEAD");
      compiled.methods = methods;
    }
    return compiled;
  });
  const fallback = withCrawl(
    "default",
    table.default,
    resolve("default", DEFAULT_RULE_ID, table.default, "default"),
  );
  if (errors.length > 0) return { ok: false, errors };
  const listing: ListedRule[] = table.rules.flatMap((rule, i): ListedRule[] => {
    const compiled = rules[i];
    const payees = compiled?.payees;
    if (!payees) {
      return [
        {
          id: ids[i] ?? `rules[${i}]`,
          host: rule.host,
          methods: rule.methods,
          path: rule.path,
          result: compiled?.result ?? fallback,
        },
      ];
    }
    // One entry per payee: its host, or the path with its key in place of the parameter.
    return [...payees.byKey].map(([key, result]) => {
      const selector = payees.selector;
      const id = result.rule;
      if (selector.from === "host")
        return { id, host: key, methods: rule.methods, path: rule.path, result };
      const segments = rule.path.split("/");
      segments[selector.index] = key;
      return { id, host: rule.host, methods: rule.methods, path: segments.join("/"), result };
    });
  });
  listing.push({
    id: DEFAULT_RULE_ID,
    host: undefined,
    methods: undefined,
    path: undefined,
    result: fallback,
  });

  const caseSensitive = table.caseSensitive;
  return {
    ok: true,
    table: {
      version: table.version,
      crawlers,
      listing,
      match(request: RequestKey): Lookup {
        // `example.com.` is the same host as `example.com` (a fully qualified name): price it so.
        const host = canonicalHost(request.host);
        const path = foldCase(request.path, caseSensitive);
        for (const position of index.candidates(host, path)) {
          const rule = rules[position];
          if (rule === undefined) continue;
          if (rule.hostExact !== undefined && rule.hostExact !== host) continue;
          if (rule.hostSuffix !== undefined && !host.endsWith(rule.hostSuffix)) continue;
          if (rule.methods && !rule.methods.has(request.method)) continue;
          if (rule.pattern.test(path))
            return rule.payees ? payeeMatch(rule, host, path) : rule.result;
        }
        return fallback;
      },
    },
  };
}

/**
 * A rule's identity for session scopes: its host, methods and path pattern, so a session bought
 * on a rule stays valid when the table is reordered or re-versioned, and only then.
 */
function routeKeyOf(rule: Rule): string {
  return `${rule.host ?? "*"} ${rule.methods?.join(",") ?? "*"} ${rule.path}`;
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
