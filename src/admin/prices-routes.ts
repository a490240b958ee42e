import { Hono } from "hono/tiny";
import { z } from "zod";
import type { Env } from "../config";
import { loadConfig } from "../config";
import { PriceHistory, checkPriceTable } from "../kv";
import type { PushResult, RevisionMeta, RollbackResult } from "../kv";
import type { EnvDefaults } from "../pricing";
import { adminError } from "./context";
import type { AdminContext } from "./context";
import { isoOrNull } from "./dates";

/**
 * Admin calls on the price table: read it and its kept revisions, validate a candidate, replace
 * it, roll it back. A table is checked exactly as the Worker checks it before serving (schema
 * and resolvable terms, against this deployment's NETWORK and PAY_TO); an invalid one is refused
 * with a 422 listing every problem by JSON path, and the table in force stays as it was. Each
 * isolate picks a new table up within PRICE_TABLE_TTL_SECONDS.
 *
 * A table written outside the API (`wrangler kv key put`, `prices push --local`) is revision 0
 * while it is live: listed first among the versions, readable as `/prices/versions/0`. Revision
 * numbers only grow, so the push that replaces it first keeps it as the next revision (its note
 * says it was revision 0), then saves the pushed table as the one after.
 */

/** Largest table body accepted (KV would take 25 MiB; no sane table is near this). */
const MAX_TABLE_BYTES = 4 * 1024 * 1024;

const RollbackSchema = z.object({ to: z.number().int().min(0).optional() }).strict();

/** The price-table routes, mounted under `/__x402/admin`. */
export function priceRoutes(): Hono<{ Bindings: Env }> {
  const routes = new Hono<{ Bindings: Env }>();

  routes.get("/prices", async (c) => {
    const current = await historyOf(c).current();
    if (!current) return adminError(c, 404, "not_found", "no price table is stored");
    return c.json({ ...metaView(current.meta), table: JSON.parse(current.raw) as unknown });
  });

  routes.get("/prices/versions", async (c) => {
    const history = historyOf(c);
    const [current, kept] = await Promise.all([history.current(), history.list()]);
    const unkept = current && current.meta.revision === 0 ? [current.meta] : [];
    const versions = [...unkept, ...kept].map(metaView);
    return c.json({ live: current?.meta.revision ?? null, versions });
  });

  routes.get("/prices/versions/:revision", async (c) => {
    const revision = Number(c.req.param("revision"));
    if (!Number.isSafeInteger(revision) || revision < 0) {
      return adminError(c, 400, "bad_request", "a revision is a whole number");
    }
    const history = historyOf(c);
    const stored = revision === 0 ? await history.current() : await history.get(revision);
    if (!stored || stored.meta.revision !== revision) {
      return adminError(c, 404, "not_found", `revision ${revision} is not kept`);
    }
    return c.json({ ...metaView(stored.meta), table: JSON.parse(stored.raw) as unknown });
  });

  routes.post("/prices/validate", async (c) => {
    const raw = await bodyOf(c);
    if (raw instanceof Response) return raw;
    const checked = checkPriceTable(raw, defaultsOf(c.env));
    if (!checked.ok) return invalid(c, checked.errors);
    const version = checked.table.version ?? null;
    return c.json({ ok: true, version, rules: checked.table.rules.length });
  });

  routes.put("/prices", async (c) => {
    const raw = await bodyOf(c);
    if (raw instanceof Response) return raw;
    const expectText = c.req.query("expect");
    const expect = expectText === undefined ? undefined : Number(expectText);
    if (expect !== undefined && (!Number.isSafeInteger(expect) || expect < 0)) {
      return adminError(c, 400, "bad_request", "expect must be the revision you last saw");
    }
    const note = c.req.query("note");
    return answer(c, await historyOf(c).push(raw, { ...(note && { note }), expect }));
  });

  routes.post("/prices/rollback", async (c) => {
    const text = await c.req.text();
    let body: unknown = {};
    try {
      body = text.trim() === "" ? {} : JSON.parse(text);
    } catch {
      // reported below
    }
    const parsed = RollbackSchema.safeParse(body);
    if (!parsed.success) {
      const message = 'send {} (the revision before the live one) or {"to": <revision>}';
      return adminError(c, 400, "bad_request", message);
    }
    return answer(c, await historyOf(c).rollback(parsed.data.to));
  });

  return routes;
}

/** A revision's metadata as the API states it: `savedAt` as an ISO time. */
function metaView(meta: RevisionMeta): Omit<RevisionMeta, "savedAt"> & { savedAt: string | null } {
  return { ...meta, savedAt: isoOrNull(meta.savedAt) };
}

function historyOf(c: AdminContext): PriceHistory {
  return new PriceHistory(c.env.PRICES, defaultsOf(c.env));
}

/** The deployment defaults a table is resolved against, as the Worker resolves it. */
function defaultsOf(env: Env): EnvDefaults {
  const loaded = loadConfig(env);
  if (loaded.ok) return { network: loaded.config.network, payTo: loaded.config.payTo };
  return { network: env.NETWORK?.trim() || undefined, payTo: env.PAY_TO?.trim() || undefined };
}

async function bodyOf(c: AdminContext): Promise<string | Response> {
  const length = Number(c.req.header("Content-Length") ?? "0");
  if (length > MAX_TABLE_BYTES) {
    return adminError(c, 413, "too_large", `a price table may be at most ${MAX_TABLE_BYTES} bytes`);
  }
  const raw = await c.req.text();
  if (raw.length > MAX_TABLE_BYTES) {
    return adminError(c, 413, "too_large", `a price table may be at most ${MAX_TABLE_BYTES} bytes`);
  }
  if (raw.trim() === "") return adminError(c, 400, "bad_request", "send the price table as JSON");
  return raw;
}

function invalid(c: AdminContext, errors: string[]): Response {
  const message = `the price table was not stored: ${errors.length} problem(s); the table in force is unchanged`;
  return c.json({ error: "invalid_price_table", message, errors }, 422);
}

function answer(c: AdminContext, result: PushResult | RollbackResult): Response {
  switch (result.type) {
    case "saved":
    case "unchanged":
      return c.json({ result: result.type, ...metaView(result.meta) });
    case "invalid":
      return invalid(c, result.errors);
    case "conflict": {
      const message = `the live table is revision ${result.current}; pull it and push again`;
      return adminError(c, 409, "conflict", message);
    }
    case "not_found":
      return adminError(c, 404, "not_found", result.reason);
  }
}
