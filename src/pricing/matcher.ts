import { atomicToUsd, defaultUsdc, knownNetworks, usdToAtomic } from "./assets";
import { resolveCrawlers } from "./crawler-terms";
import type { CrawlerTerms } from "./crawler-terms";
import { foldCase } from "./path";
import { RuleIndex } from "./rule-index";
import type { PriceTable, Rule, Terms } from "./schema";
import { resolveDynamicPrice } from "./dynamic-price";
import { resolveOriginPrice } from "./origin-price";
import type { OriginPrice } from "./origin-price";
import type { DynamicPrice } from "./dynamic-price";
import { foldPayeeKey, payeeKeyOf, payeeSelector } from "./payees";
import type { PayeeConfig, PayeeSelector } from "./payees";
import { resolveSession } from "./session-terms";
import type { DiscoveryConfig } from "./discovery-terms";
import type { SessionConfig, SessionTerms } from "./session-terms";

/**
 * Compiles a validated price table into a matcher: patterns become regular expressions, rules are
 * indexed by host and literal path prefix (so a request tests only the few rules that can match
 * it, whatever the table's size), and every priced rule's payment terms are resolved once per
 * table version, not on every request.
 */

/** The fully resolved payment terms of a priced rule: what a 402 offers and a payment must match. */
export interface Offer {
  scheme: "exact";
  network: string;
  amount: string;
  asset: string;
  payTo: string;
  maxTimeoutSeconds: number;
  extra: { name: string; version: string };
  description: string;
  mimeType: string;
  /** The price for people, e.g. "$0.01", when the asset's decimals are known. */
  display: string;
  /** Present when one payment buys repeat access (a session). */
  session?: SessionTerms;
  /** Payments must carry a `payment-identifier` (the rule's `paymentIdentifier: "required"`). */
  paymentIdRequired?: boolean;
  /** How to call the resource and what it returns (bazaar discovery). */
  discovery?: DiscoveryConfig;
  /** The same rule payable on other networks (`alsoAccept`), offered after this one. */
  alternatives?: Offer[];
  /** The price follows the request (`dynamicPrice`); `amount` is then its maximum. */
  dynamic?: DynamicPrice;
  /** The origin quotes the price (`originPrice`); `amount` is then the maximum it may quote. */
  quote?: OriginPrice;
}

/**
 * Which rule a request matched and what it costs. `rule` names it for logs: "rules[2]". `crawl`
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

const DEFAULT_TIMEOUT_SECONDS = 60;

/** Compiles a table, or lists every rule whose terms cannot be resolved (never throws). */
export function compileTable(
  table: PriceTable,
  env: EnvDefaults,
): { ok: true; table: CompiledTable } | { ok: false; errors: string[] } {
  const errors: string[] = [];
  const base: Terms = { network: env.network, payTo: env.payTo, ...stripUndefined(table.defaults) };
  const resolve = (
    label: string,
    rule: { free?: true } & Terms & {
        price?: Rule["price"];
        session?: SessionConfig;
        alsoAccept?: Rule["alsoAccept"];
        dynamicPrice?: Rule["dynamicPrice"];
        originPrice?: Rule["originPrice"];
      },
    routeKey: string,
  ) => {
    const price = rule.price ?? rule.dynamicPrice?.max ?? rule.originPrice?.max;
    if (rule.free || price === undefined) return { kind: "free", rule: label } as const;
    const { session, alsoAccept, dynamicPrice, originPrice, ...ruleTerms } = rule;
    const terms = { ...base, ...stripUndefined(ruleTerms) };
    const offer = resolveOffer(price, terms);
    if (typeof offer === "string") {
      errors.push(`${label}: ${offer}`);
      return { kind: "free", rule: label } as const;
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
    return { kind: "priced", rule: label, offer } as const;
  };
  const resolved = table.crawlers && resolveCrawlers(table.crawlers, base);
  if (resolved && !resolved.ok) errors.push(...resolved.errors);
  const crawlers = resolved?.ok ? resolved.terms : undefined;
  /** Adds what charged crawlers pay: the rule's `crawlerPrice`, else its price, in USDC. */
  const withCrawl = (
    label: string,
    rule: Terms & { price?: Rule["price"]; crawlerPrice?: string },
    match: Match,
  ): Match => {
    if (!table.crawlers) {
      if (rule.crawlerPrice) errors.push(`${label}.crawlerPrice: needs a "crawlers" section`);
      return match;
    }
    const price = rule.crawlerPrice ?? (match.kind === "priced" ? rule.price : undefined);
    if (price === undefined) return match;
    const offer = resolveOffer(price, { ...base, ...stripUndefined(rule) });
    if (typeof offer === "string") errors.push(`${label}: ${offer}`);
    else if (defaultUsdc(offer.network)?.address.toLowerCase() !== offer.asset.toLowerCase()) {
      errors.push(`${label}: crawlers pay in USDC; give the rule a "$0.01"-style crawlerPrice`);
    } else return { ...match, crawl: offer };
    return match;
  };

  /** Each payee of a `payee` rule gets its own offers, sessions scoped to that payee. */
  const compilePayees = (label: string, rule: Rule, config: PayeeConfig) => {
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
      byKey.set(folded, withCrawl(label, scoped, resolve(`${label}[${key}]`, scoped, routeKey)));
    }
    return { selector, byKey };
  };

  const index = new RuleIndex();
  const rules: CompiledRule[] = table.rules.map((rule, i) => {
    const exactHost = rule.host?.startsWith("*.") ? undefined : rule.host;
    index.add(i, exactHost, foldCase(rule.path.normalize("NFKC"), table.caseSensitive));
    const label = `rules[${i}]`;
    const compiled: CompiledRule = {
      pattern: compilePattern(rule.path, table.caseSensitive),
      result: rule.payee
        ? { kind: "free", rule: label }
        : withCrawl(label, rule, resolve(label, rule, routeKeyOf(rule))),
    };
    if (rule.payee) {
      const payees = compilePayees(label, rule, rule.payee);
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
    resolve("default", table.default, "default"),
  );
  if (errors.length > 0) return { ok: false, errors };
  const listing: ListedRule[] = table.rules.flatMap((rule, i): ListedRule[] => {
    const compiled = rules[i];
    const payees = compiled?.payees;
    if (!payees) {
      return [
        {
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
      if (selector.from === "host")
        return { host: key, methods: rule.methods, path: rule.path, result };
      const segments = rule.path.split("/");
      segments[selector.index] = key;
      return { host: rule.host, methods: rule.methods, path: segments.join("/"), result };
    });
  });
  listing.push({ host: undefined, methods: undefined, path: undefined, result: fallback });

  const caseSensitive = table.caseSensitive;
  return {
    ok: true,
    table: {
      version: table.version,
      crawlers,
      listing,
      match(request: RequestKey): Lookup {
        // `example.com.` is the same host as `example.com` (a fully qualified name): price it so.
        const host = request.host.toLowerCase().replace(/\.+$/, "");
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

/**
 * Pattern syntax: literal segments, `:name` for one segment, a trailing `/*` for the prefix
 * itself and everything below it, a trailing `*` for any continuation of the string.
 */
function compilePattern(pattern: string, caseSensitive: boolean): RegExp {
  let body = foldCase(pattern.normalize("NFKC"), caseSensitive);
  let tail = "";
  if (body.endsWith("/*")) {
    body = body.slice(0, -2);
    tail = "(?:/.*)?";
  } else if (body.endsWith("*")) {
    body = body.slice(0, -1);
    tail = ".*";
  } else if (body.length > 1 && body.endsWith("/")) {
    body = body.slice(0, -1);
  }
  const source = body
    .split("/")
    .map((segment) => (segment.startsWith(":") ? "[^/]+" : escapeRegExp(segment)))
    .join("/");
  return new RegExp(`^${source}${tail}$`, "s");
}

function resolveOffer(price: NonNullable<Rule["price"]>, terms: Terms): Offer | string {
  const network = terms.network;
  if (!network) return "no network: set one on the rule, in defaults, or the NETWORK variable";
  const payTo = terms.payTo;
  if (!payTo) return "no payTo: set one on the rule, in defaults, or the PAY_TO variable";
  const common = {
    scheme: "exact" as const,
    network,
    payTo,
    maxTimeoutSeconds: terms.maxTimeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS,
    description: terms.description ?? "",
    mimeType: terms.mimeType ?? "",
    ...(terms.paymentIdentifier === "required" && { paymentIdRequired: true }),
    ...(terms.discovery && { discovery: terms.discovery }),
  };
  if (typeof price !== "string") {
    const usdc = defaultUsdc(network);
    const knownDecimals = usdc?.address.toLowerCase() === price.asset.toLowerCase();
    const display = knownDecimals ? atomicToUsd(price.amount, usdc.decimals) : "";
    return { ...common, amount: price.amount, asset: price.asset, extra: price.extra, display };
  }
  const usdc = defaultUsdc(network);
  if (!usdc) {
    return `no default USDC is known on ${network} (known: ${knownNetworks().join(", ")}); give the price as {amount, asset, extra}`;
  }
  const amount = usdToAtomic(price, usdc.decimals);
  if (!amount.ok) return amount.reason;
  return {
    ...common,
    amount: amount.amount,
    asset: usdc.address,
    extra: usdc.eip712,
    display: atomicToUsd(amount.amount, usdc.decimals),
  };
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** Every way to pay an offer: itself, then its alternatives. */
export function offersOf(offer: Offer): Offer[] {
  return offer.alternatives ? [offer, ...offer.alternatives] : [offer];
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
