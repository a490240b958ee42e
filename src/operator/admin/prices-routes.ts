import { Hono } from "hono/tiny";
import * as z from "../../zod";
import { checkPriceTable } from "../../kv";
import type { PushResult, RevisionMeta, RollbackResult } from "../../kv";
import type { OperatorContext, OperatorEnv } from "../deps";
import { adminError } from "./answers";
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

const RollbackSchema = z.strictObject({ to: z.optional(z.int().check(z.minimum(0))) });

/** The price-table routes, mounted under `/__x402/admin`. */
export function priceRoutes(): Hono<OperatorEnv> {
  const routes = new Hono<OperatorEnv>();

  routes.get("/prices", async (c) => {
    const current = await c.var.deps.prices.current();
    if (!current) return adminError(c, 404, "not_found", "no price table is stored");
    return c.json({ ...metaView(current.meta), table: JSON.parse(current.raw) as unknown });
  });

  routes.get("/prices/versions", async (c) => {
    const history = c.var.deps.prices;
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
    const history = c.var.deps.prices;
    const stored = revision === 0 ? await history.current() : await history.get(revision);
    if (!stored || stored.meta.revision !== revision) {
      return adminError(c, 404, "not_found", `revision ${revision} is not kept`);
    }
    return c.json({ ...metaView(stored.meta), table: JSON.parse(stored.raw) as unknown });
  });

  routes.post("/prices/validate", async (c) => {
    const body = await bodyOf(c);
    if (!body.ok) return adminError(c, body.status, body.error, body.reason);
    const checked = checkPriceTable(body.raw, c.var.deps.tableDefaults);
    if (!checked.ok) return invalid(c, checked.errors);
    const version = checked.table.version ?? null;
    return c.json({ ok: true, version, rules: checked.table.rules.length });
  });

  routes.put("/prices", async (c) => {
    const body = await bodyOf(c);
    if (!body.ok) return adminError(c, body.status, body.error, body.reason);
    const expectText = c.req.query("expect");
    const expect = expectText === undefined ? undefined : Number(expectText);
    if (expect !== undefined && (!Number.isSafeInteger(expect) || expect < 0)) {
      return adminError(c, 400, "bad_request", "expect must be the revision you last saw");
    }
    const note = c.req.query("note");
    return answer(c, await c.var.deps.prices.push(body.raw, { ...(note && { note }), expect }));
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
    return answer(c, await c.var.deps.prices.rollback(parsed.data.to));
  });

  return routes;
}

/** A revision's metadata as the API states it: `savedAt` as an ISO time. */
function metaView(meta: RevisionMeta): Omit<RevisionMeta, "savedAt"> & { savedAt: string | null } {
  return { ...meta, savedAt: isoOrNull(meta.savedAt) };
}

/** A table body, or why it is refused (too large, or empty). */
type TableBody =
  { ok: true; raw: string } | { ok: false; status: 400 | 413; error: string; reason: string };

async function bodyOf(c: OperatorContext): Promise<TableBody> {
  const tooLarge = {
    ok: false,
    status: 413,
    error: "too_large",
    reason: `a price table may be at most ${MAX_TABLE_BYTES} bytes`,
  } as const;
  const length = Number(c.req.header("Content-Length") ?? "0");
  if (length > MAX_TABLE_BYTES) return tooLarge;
  const raw = await c.req.text();
  if (raw.length > MAX_TABLE_BYTES) return tooLarge;
  if (raw.trim() === "") {
    return { ok: false, status: 400, error: "bad_request", reason: "send the price table as JSON" };
  }
  return { ok: true, raw };
}

function invalid(c: OperatorContext, errors: string[]): Response {
  const message = `the price table was not stored: ${errors.length} problem(s); the table in force is unchanged`;
  return c.json({ error: "invalid_price_table", message, errors }, 422);
}

function answer(c: OperatorContext, result: PushResult | RollbackResult): Response {
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
