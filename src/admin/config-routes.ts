import { Hono } from "hono/tiny";
import type { Env } from "../config";
import { loadConfig } from "../config";
import { PRICE_TABLE_KEY, checkPriceTable } from "../kv";
import type { DepsOf } from "./context";
import { isShown, redactText, shownVariables } from "./redact";

/**
 * Admin calls on the deployment itself: health (is each part usable now) and the effective
 * configuration. Secrets are never shown, whatever their variables are called (redact.ts): only
 * the few variables that hold no credential are shown, with URL credentials cut out; every other
 * variable is reported as set or not set, facilitator headers by name only, bindings by kind.
 */

/** The health and configuration routes, mounted under `/__x402/admin`. */
export function configRoutes(depsOf: DepsOf): Hono<{ Bindings: Env }> {
  const routes = new Hono<{ Bindings: Env }>();

  routes.get("/health", async (c) => {
    const loaded = loadConfig(c.env);
    const deps = depsOf(c.env);
    const table = deps ? await deps.tables.current() : undefined;
    const stored = await storedTableProblem(c.env);
    const ledger = deps?.ledger;
    const parked = ledger ? await ledger.drain().catch((error: unknown) => String(error)) : null;
    const checks = {
      configuration: loaded.ok ? "ok" : redactText(loaded.reason, c.env),
      priceTable: !table
        ? "not loaded"
        : !table.ok
          ? table.reason
          : stored
            ? `serving the last good table; the stored one is rejected: ${stored}`
            : "ok",
      sessions: deps?.sessions ? "ok" : "not configured",
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
    const loaded = loadConfig(c.env);
    const variables = shownVariables(c.env);
    const secrets: Record<string, "set" | "not set"> = {};
    const bindings: Record<string, string> = {};
    for (const [name, value] of Object.entries(c.env as unknown as Record<string, unknown>)) {
      if (typeof value === "string") {
        if (!isShown(c.env, name)) secrets[name] = value ? "set" : "not set";
      } else if (value !== undefined && value !== null) {
        bindings[name] = kindOf(value);
      }
    }
    for (const name of ["ADMIN_TOKEN", "SESSION_SECRET"]) secrets[name] ??= "not set";
    const redact = (text: string) => redactText(text, c.env);
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
          ledger: c.env.LEDGER !== undefined,
        }
      : null;
    return c.json({
      ok: loaded.ok,
      reason: loaded.ok ? null : redact(loaded.reason),
      effective,
      variables,
      secrets,
      bindings,
    });
  });

  return routes;
}

/** Why the table stored in KV would be refused now, or undefined when it is servable. */
async function storedTableProblem(env: Env): Promise<string | undefined> {
  const raw = await env.PRICES.get(PRICE_TABLE_KEY);
  if (raw === null) return "no table is stored";
  const loaded = loadConfig(env);
  const defaults = loaded.ok ? { network: loaded.config.network, payTo: loaded.config.payTo } : {};
  const checked = checkPriceTable(raw, defaults);
  return checked.ok ? undefined : checked.errors.join("; ");
}

function kindOf(value: unknown): string {
  const name = (value as { constructor?: { name?: string } }).constructor?.name;
  return name && name !== "Object" ? name : "binding";
}
