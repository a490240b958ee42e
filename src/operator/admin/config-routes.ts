import { Hono } from "hono/tiny";
import { checkPriceTable } from "../../kv";
import type { OperatorDeps, OperatorEnv } from "../deps";
import { isShown, redactText, shownVariables } from "../redact";

/**
 * Admin calls on the deployment itself: health (is each part usable now) and the effective
 * configuration. Secrets are never shown, whatever their variables are called (redact.ts): only
 * the few variables that hold no credential are shown, with URL credentials cut out; every other
 * variable is reported as set or not set, facilitator headers by name only, bindings by kind.
 * The configuration is the one the Worker validated (src/app.ts), not parsed again here.
 */

/** The health and configuration routes, mounted under `/__x402/admin`. */
export function configRoutes(): Hono<OperatorEnv> {
  const routes = new Hono<OperatorEnv>();

  routes.get("/health", async (c) => {
    const deps = c.var.deps;
    const loaded = deps.config;
    const table = deps.tables ? await deps.tables.current() : undefined;
    const stored = await storedTableProblem(deps);
    const ledger = deps.ledger;
    const parked = ledger ? await ledger.drain().catch((error: unknown) => String(error)) : null;
    const checks = {
      configuration: loaded.ok ? "ok" : loaded.reason,
      priceTable: !table
        ? "not loaded"
        : !table.ok
          ? table.reason
          : stored
            ? `serving the last good table; the stored one is rejected: ${stored}`
            : "ok",
      sessions: deps.sessions ? "ok" : "not configured",
      ledger: !ledger
        ? "not configured"
        : typeof parked === "number"
          ? parked === 0
            ? "ok"
            : `${parked} receipt(s) parked in KV, D1 is not taking writes`
          : `unreachable: ${parked}`,
    };
    const ok = checks.configuration === "ok" && table?.ok === true;
    const version = table?.ok ? (table.table.version ?? null) : null;
    return c.json({ ok, checks, priceTableVersion: version }, ok ? 200 : 503);
  });

  routes.get("/config", (c) => {
    const { config: loaded, env } = c.var.deps;
    const variables = shownVariables(env);
    const secrets: Record<string, "set" | "not set"> = {};
    const bindings: Record<string, string> = {};
    for (const [name, value] of Object.entries(env as unknown as Record<string, unknown>)) {
      if (typeof value === "string") {
        if (!isShown(env, name)) secrets[name] = value ? "set" : "not set";
      } else if (value !== undefined && value !== null) {
        bindings[name] = kindOf(value);
      }
    }
    for (const name of ["ADMIN_TOKEN", "SESSION_SECRET"]) secrets[name] ??= "not set";
    const redact = (text: string) => redactText(text, env);
    const effective = loaded.ok
      ? {
          originUrl: redact(loaded.config.originUrl.href),
          facilitatorUrls: loaded.config.facilitatorUrls.map(redact),
          facilitators: loaded.config.facilitators.map((f) => ({
            name: redact(f.name),
            url: redact(f.url),
            networks: f.networks,
            headers: Object.keys(f.headers),
          })),
          payTo: loaded.config.payTo ?? null,
          network: loaded.config.network ?? null,
          priceTableTtlSeconds: loaded.config.tableTtlMs / 1000,
          facilitatorTimeoutMs: loaded.config.facilitatorTimeoutMs,
          payerHeader: loaded.config.payerHeader,
          sessions: loaded.config.sessionSecret !== undefined,
          ledger: env.LEDGER !== undefined,
        }
      : null;
    return c.json({
      ok: loaded.ok,
      reason: loaded.ok ? null : loaded.reason,
      effective,
      variables,
      secrets,
      bindings,
    });
  });

  return routes;
}

/** Why the table stored in KV would be refused now, or undefined when it is servable. */
async function storedTableProblem(deps: OperatorDeps): Promise<string | undefined> {
  const stored = await deps.prices.current();
  if (!stored) return "no table is stored";
  const checked = checkPriceTable(stored.raw, deps.tableDefaults);
  return checked.ok ? undefined : checked.errors.join("; ");
}

function kindOf(value: unknown): string {
  const name = (value as { constructor?: { name?: string } }).constructor?.name;
  return name && name !== "Object" ? name : "binding";
}
