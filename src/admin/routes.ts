import { Hono } from "hono";
import type { Context } from "hono";
import { z } from "zod";
import type { Env } from "../config";
import { EVM_ADDRESS } from "../pricing";
import type { SessionService } from "../sessions";
import { adminRefusal } from "./auth";

/**
 * The admin API under `/__x402/admin/`: for now, listing and revoking sessions. Every answer is
 * JSON; bad input is a 400 with the reason.
 */

/** Finds the session service for a request's env (undefined when sessions are not configured). */
export type SessionsOf = (env: Env) => SessionService | undefined;

const RevokeSchema = z.union([
  z.object({ token: z.string().min(1).max(512) }).strict(),
  z
    .object({
      payer: z.string().regex(EVM_ADDRESS, "must be a 0x address"),
      scope: z.string().min(1).max(600).optional(),
    })
    .strict(),
]);

/** The admin routes, to mount at `/__x402/admin`. */
export function adminRoutes(sessionsOf: SessionsOf): Hono<{ Bindings: Env }> {
  const admin = new Hono<{ Bindings: Env }>();

  admin.use("*", async (c, next) => {
    const refusal = await adminRefusal(c.req.header("Authorization") ?? null, c.env.ADMIN_TOKEN);
    if (refusal) {
      return c.json({ error: refusal.error, message: refusal.message }, refusal.status, {
        "Cache-Control": "no-store",
        ...(refusal.status === 401 ? { "WWW-Authenticate": 'Bearer realm="x402-admin"' } : {}),
      });
    }
    c.header("Cache-Control", "no-store");
    await next();
  });

  admin.get("/sessions", async (c) => {
    const sessions = sessionsOr503(c, sessionsOf);
    if (sessions instanceof Response) return sessions;
    const payer = c.req.query("payer") ?? "";
    if (!EVM_ADDRESS.test(payer)) {
      return c.json({ error: "bad_request", message: "payer must be a 0x address" }, 400);
    }
    return c.json({ payer: payer.toLowerCase(), entitlements: await sessions.list(payer) });
  });

  admin.post("/sessions/revoke", async (c) => {
    const sessions = sessionsOr503(c, sessionsOf);
    if (sessions instanceof Response) return sessions;
    const body = RevokeSchema.safeParse(await c.req.json().catch(() => undefined));
    if (!body.success) {
      const message = 'send JSON {"token": "..."} or {"payer": "0x...", "scope"?: "..."}';
      return c.json({ error: "bad_request", message }, 400);
    }
    if ("token" in body.data) {
      const revoked = await sessions.revokeToken(body.data.token);
      return c.json({ revoked: revoked ? 1 : 0 }, revoked ? 200 : 404);
    }
    return c.json({ revoked: await sessions.revokePayer(body.data.payer, body.data.scope) });
  });

  admin.all("*", (c) => c.json({ error: "not_found", message: "no such admin endpoint" }, 404));
  return admin;
}

function sessionsOr503(
  c: Context<{ Bindings: Env }>,
  sessionsOf: SessionsOf,
): SessionService | Response {
  const sessions = sessionsOf(c.env);
  if (sessions) return sessions;
  const message = "sessions are not configured (SESSIONS binding and SESSION_SECRET)";
  return c.json({ error: "sessions_unavailable", message }, 503);
}
