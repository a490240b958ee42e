import * as z from "../zod";

/**
 * Dynamic payees: a rule whose money goes to a payee chosen by the request, from a map in the
 * price table (marketplaces: `/sellers/:id/*` pays seller `id`; multi-tenant sites: each host
 * pays its owner). The maps are versioned, validated and cached with the table, so choosing a
 * payee costs no storage read; every address is checked when the table loads, and a key with
 * no payee is refused (404), never paid to a default or an empty address. Or the origin names
 * the payee itself (`from: "origin"`), in band like an origin's price quote.
 */

const NAME = /^[A-Za-z0-9_.-]{1,64}$/;
const address = z
  .string()
  .check(z.regex(/^0x[0-9a-fA-F]{40}$/, "must be a 0x address (40 hex digits)"));

/** The table's `payees` section: named maps of key → address. */
export const PayeeMapsSchema = z
  .record(
    z.string().check(z.regex(NAME, "map names are letters, digits, _ . -")),
    z.record(z.string().check(z.minLength(1), z.maxLength(253)), address),
  )
  .check(
    z.refine(
      (maps) => Object.values(maps).reduce((n, map) => n + Object.keys(map).length, 0) <= 10_000,
      "at most 10,000 payees in all",
    ),
  );

/** A rule's `payee`: which map and what in the request picks the entry, or the origin's word. */
export const PayeeSchema = z.union([
  z.strictObject({
    map: z.string().check(z.regex(NAME, "must name a map in the table's payees")),
    from: z
      .string()
      .check(z.regex(/^(host|param:[A-Za-z_][A-Za-z0-9_]*)$/, 'must be "host" or "param:<name>"')),
  }),
  /** The origin names the payee in its `x402-pay-to` header (src/pricing/origin-price.ts). */
  z.strictObject({ from: z.literal("origin") }),
]);

/** A rule's payee choice as written in the table. */
export type PayeeConfig = z.infer<typeof PayeeSchema>;
/** A payee chosen from one of the table's maps. */
export type MapPayeeConfig = Extract<PayeeConfig, { map: string }>;

/** Where a compiled rule finds its payee key in a request. */
export type PayeeSelector = { from: "host" } | { from: "param"; name: string; index: number };

/** The selector for `config` on a rule with `pattern`, or why it cannot work. */
export function payeeSelector(pattern: string, config: MapPayeeConfig): PayeeSelector | string {
  if (config.from === "host") return { from: "host" };
  const name = config.from.slice("param:".length);
  const index = pattern.split("/").indexOf(`:${name}`);
  if (index < 0) return `the path "${pattern}" has no :${name} segment`;
  return { from: "param", name, index };
}

/** The payee key of a request (host, or the path segment), as the map is keyed after folding. */
export function payeeKeyOf(selector: PayeeSelector, host: string, path: string): string {
  if (selector.from === "host") return host;
  return path.split("/")[selector.index] ?? "";
}

/** Folds a map key the way requests are folded: hosts always, paths unless case-sensitive. */
export function foldPayeeKey(selector: PayeeSelector, key: string, caseSensitive: boolean): string {
  if (selector.from === "host") return key.toLowerCase().replace(/\.+$/, "");
  return caseSensitive ? key.normalize("NFKC") : key.normalize("NFKC").toLowerCase();
}
