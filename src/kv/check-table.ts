import { compileTable, parsePriceTable } from "../pricing";
import type { CompiledTable, EnvDefaults, PriceTable } from "../pricing";

/**
 * The one check a price table must pass to be served: valid JSON, the schema
 * (src/pricing/schema.ts), and terms that resolve against the deployment's defaults. The Worker's
 * table cache, the admin API and the price-table CLI all use it, so a table the CLI or the admin
 * API accepts is exactly a table the Worker serves.
 */

/**
 * A servable table, or why not: `json` (the text does not parse; one error) or `table` (every
 * problem with its JSON path, `rules[2].price: …`).
 */
export type TableCheck =
  | { ok: true; table: PriceTable; compiled: CompiledTable }
  | { ok: false; kind: "json" | "table"; errors: string[] };

/** Checks the table text `raw`; never throws. */
export function checkPriceTable(raw: string, env: EnvDefaults): TableCheck {
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch (error) {
    return { ok: false, kind: "json", errors: [`not valid JSON: ${messageOf(error)}`] };
  }
  return checkPriceTableValue(json, env);
}

/** Checks an already parsed table value (e.g. from YAML); never throws. */
export function checkPriceTableValue(json: unknown, env: EnvDefaults): TableCheck {
  const parsed = parsePriceTable(json);
  if (!parsed.ok) return { ok: false, kind: "table", errors: parsed.errors };
  const compiled = compileTable(parsed.table, env);
  if (!compiled.ok) return { ok: false, kind: "table", errors: compiled.errors };
  return { ok: true, table: parsed.table, compiled: compiled.table };
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
