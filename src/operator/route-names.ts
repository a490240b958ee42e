import { CREDIT_RULE } from "../ledger";
import type { CompiledTable } from "../pricing";

/**
 * What each rule label of the live table matches, for people: "/articles/:slug", with its host
 * when it names one, "(default)" for the table's default, "crawl credit" for top-ups.
 */
export function routeNames(table: CompiledTable | undefined): (rule: string) => string | null {
  const names = new Map<string, string>([[CREDIT_RULE, "crawl credit"]]);
  for (const listed of table?.listing ?? []) {
    const path = listed.path ?? "(default)";
    names.set(listed.result.rule, listed.host ? `${listed.host}${path}` : path);
  }
  return (rule) => names.get(rule) ?? null;
}
