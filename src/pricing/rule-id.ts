/**
 * Every rule's stable name: what receipts, the funnel, the dashboard, the admin API, discovery,
 * logs and the price-table CLI call it. A name by position (`rules[8]`) would change when rules
 * are reordered, and old receipts would then name the wrong rule; these names do not.
 *
 * - A rule with an explicit `id` is named by it: a slug (`weather-api`: lower-case letters and
 *   digits in words joined by hyphens, at most 64 characters), unique in its table; "default" is
 *   the table's default rule.
 * - Otherwise the name is derived from what the rule matches: its methods (sorted, comma-joined,
 *   then a space; left out when it allows every method), its host (when it names one) and its
 *   path pattern, as written: `/api/*`, `POST /api/search`, `premium.example/reports/:id`.
 *   A derived name always holds a "/", a slug never does, so the two kinds never collide.
 * - Two rules deriving the same name (the later one can only match what the earlier leaves, e.g.
 *   a different `payee` after a `free` one) are told apart in table order: the first keeps the
 *   name, the next gets `#2`, then `#3`, … (skipping any suffix already taken).
 *
 * A rule with a payee map names each payee's terms `<name>[<payee key>]`.
 */

/** An explicit rule id (see the module comment). */
export const RULE_ID = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;

/** The most characters an explicit id may have. */
export const RULE_ID_MAX = 64;

/** The name of the table's default rule (what no rule matches); no rule may take it. */
export const DEFAULT_RULE_ID = "default";

/** The parts of a rule its name comes from. */
export interface NamedRule {
  id?: string | undefined;
  host?: string | undefined;
  methods?: readonly string[] | undefined;
  path: string;
}

/** The name derived from what `rule` matches (its `id` aside). */
export function derivedRuleId(rule: NamedRule): string {
  const methods = rule.methods ? `${[...new Set(rule.methods)].sort().join(",")} ` : "";
  return `${methods}${rule.host ?? ""}${rule.path}`;
}

/** The names of `rules`, in table order: unique within the table (see the module comment). */
export function ruleIds(rules: readonly NamedRule[]): string[] {
  const taken = new Set<string>(rules.flatMap((rule) => (rule.id ? [rule.id] : [])));
  return rules.map((rule) => {
    if (rule.id) return rule.id;
    const base = derivedRuleId(rule);
    let name = base;
    for (let n = 2; taken.has(name); n += 1) name = `${base}#${n}`;
    taken.add(name);
    return name;
  });
}

/** Problems with the explicit ids of `rules`, each with its JSON path (`rules[3].id: …`). */
export function ruleIdProblems(rules: readonly NamedRule[]): string[] {
  const problems: string[] = [];
  const first = new Map<string, number>();
  rules.forEach((rule, i) => {
    if (rule.id === undefined) return;
    if (rule.id === DEFAULT_RULE_ID) {
      problems.push(`rules[${i}].id: "default" names the table's default rule`);
    }
    const earlier = first.get(rule.id);
    if (earlier !== undefined) {
      problems.push(`rules[${i}].id: "${rule.id}" is already the id of rules[${earlier}]`);
    } else first.set(rule.id, i);
  });
  return problems;
}
