/**
 * The Worker's own price-table check (src/kv/check-table.ts), loaded into Node. src/ imports its
 * siblings bundler-style (no extension, folders by index), so a resolve hook tries `<name>.ts`
 * and `<name>/index.ts` for relative imports Node cannot find as written.
 */
import { registerHooks } from "node:module";
import type { CheckedTable } from "./summary.ts";

/** A check result, as src/kv/check-table.ts returns it. */
export type TableCheck =
  { ok: true; table: CheckedTable } | { ok: false; kind: "json" | "table"; errors: string[] };

/** Deployment defaults a table is resolved against (the Worker's NETWORK and PAY_TO). */
export interface Defaults {
  network?: string | undefined;
  payTo?: string | undefined;
}

interface CheckModule {
  checkPriceTableValue(json: unknown, env: Defaults): TableCheck;
}

let hooked = false;

function hookBundlerImports(): void {
  if (hooked) return;
  hooked = true;
  registerHooks({
    resolve(specifier, context, nextResolve) {
      try {
        return nextResolve(specifier, context);
      } catch (error) {
        const relative = specifier.startsWith("./") || specifier.startsWith("../");
        if (!relative || /\.[cm]?[jt]s$/.test(specifier)) throw error;
        try {
          return nextResolve(`${specifier}.ts`, context);
        } catch {
          return nextResolve(`${specifier}/index.ts`, context);
        }
      }
    },
  });
}

/** Checks a parsed table exactly as the Worker does before serving it. */
export async function checkTable(json: unknown, defaults: Defaults): Promise<TableCheck> {
  hookBundlerImports();
  const url = new URL("../../src/kv/check-table.ts", import.meta.url).href;
  const module = (await import(url)) as CheckModule;
  return module.checkPriceTableValue(json, defaults);
}
