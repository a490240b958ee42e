import { resolveCrawlers } from "./crawler-terms";
import { matchRequest } from "./match";
import type { CompiledRule, CompiledTable, ListedRule, Match, RequestKey, RuleSet } from "./match";
import { compilePattern, stripUndefined } from "./offer";
import { foldCase } from "./path";
import { foldPayeeKey, payeeSelector } from "./payees";
import type { MapPayeeConfig } from "./payees";
import { RuleIndex } from "./rule-index";
import { DEFAULT_RULE_ID, ruleIds } from "./rule-id";
import { resolveRule, withCrawl } from "./rule-terms";
import type { TableContext } from "./rule-terms";
import type { PriceTable, Rule } from "./schema";

/**
 * Compiles a validated price table into a matcher (match.ts): patterns become regular
 * expressions, rules are indexed by host and literal path prefix (so a request tests only the
 * few rules that can match it, whatever the table's size), and every priced rule's payment terms
 * are resolved once per table version (rule-terms.ts), not on every request.
 */

/** Deployment-wide defaults (from the Worker's variables) for terms a table leaves out. */
export interface EnvDefaults {
  network?: string | undefined;
  payTo?: string | undefined;
}

/** Compiles a table, or lists every rule whose terms cannot be resolved (never throws). */
export function compileTable(
  table: PriceTable,
  env: EnvDefaults,
): { ok: true; table: CompiledTable } | { ok: false; errors: string[] } {
  const context: TableContext = {
    table,
    errors: [],
    // The brand goes into every offer, for the paywall page (brand.ts); no rule can set one.
    base: {
      network: env.network,
      payTo: env.payTo,
      ...stripUndefined(table.defaults),
      ...(table.brand && { brand: table.brand }),
    },
  };
  const resolved = table.crawlers && resolveCrawlers(table.crawlers, context.base);
  if (resolved && !resolved.ok) context.errors.push(...resolved.errors);
  const index = new RuleIndex();
  const ids = ruleIds(table.rules);
  const rules = table.rules.map((rule, i) => compileRule(context, index, rule, i, ids[i]));
  const fallback = withCrawl(
    context,
    "default",
    table.default,
    resolveRule(context, "default", DEFAULT_RULE_ID, table.default, "default"),
  );
  if (context.errors.length > 0) return { ok: false, errors: context.errors };
  const set: RuleSet = { index, rules, fallback, caseSensitive: table.caseSensitive };
  return {
    ok: true,
    table: {
      version: table.version,
      crawlers: resolved?.ok ? resolved.terms : undefined,
      listing: listingOf(table, rules, ids, fallback),
      match: (request: RequestKey) => matchRequest(set, request),
    },
  };
}

/** One rule compiled, and indexed at position `i`. */
function compileRule(
  context: TableContext,
  index: RuleIndex,
  rule: Rule,
  i: number,
  id: string | undefined,
): CompiledRule {
  const { caseSensitive } = context.table;
  const exactHost = rule.host?.startsWith("*.") ? undefined : rule.host;
  index.add(i, exactHost, foldCase(rule.path.normalize("NFKC"), caseSensitive));
  const label = `rules[${i}]`;
  const name = id ?? label;
  const byPayee = rule.payee && "map" in rule.payee ? rule.payee : undefined;
  const compiled: CompiledRule = {
    pattern: compilePattern(rule.path, caseSensitive),
    result: byPayee
      ? { kind: "free", rule: name }
      : withCrawl(context, label, rule, resolveRule(context, label, name, rule, routeKeyOf(rule))),
  };
  if (byPayee) {
    const payees = compilePayees(context, label, name, rule, byPayee);
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
}

/** Each payee of a `payee` rule gets its own offers, sessions scoped to that payee. */
function compilePayees(
  context: TableContext,
  label: string,
  name: string,
  rule: Rule,
  config: MapPayeeConfig,
): CompiledRule["payees"] {
  const { table, errors } = context;
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
    const terms = resolveRule(context, `${label}[${key}]`, `${name}[${key}]`, scoped, routeKey);
    byKey.set(folded, withCrawl(context, label, scoped, terms));
  }
  return { selector, byKey };
}

/** Every rule in table order (a `payee` rule once per payee), then the default (discovery). */
function listingOf(
  table: PriceTable,
  rules: readonly CompiledRule[],
  ids: readonly (string | undefined)[],
  fallback: Match,
): ListedRule[] {
  const listing: ListedRule[] = table.rules.flatMap((rule, i): ListedRule[] => {
    const compiled = rules[i];
    const payees = compiled?.payees;
    if (!payees) {
      const id = ids[i] ?? `rules[${i}]`;
      const result = compiled?.result ?? fallback;
      return [{ id, host: rule.host, methods: rule.methods, path: rule.path, result }];
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
  return listing;
}

/**
 * A rule's identity for session scopes: its host, methods and path pattern, so a session bought
 * on a rule stays valid when the table is reordered or re-versioned, and only then.
 */
function routeKeyOf(rule: Rule): string {
  return `${rule.host ?? "*"} ${rule.methods?.join(",") ?? "*"} ${rule.path}`;
}
