import { Hono } from "hono/tiny";
import * as z from "../../zod";
import { EVM_ADDRESS } from "../../pricing";
import type { OperatorEnv } from "../deps";
import { adminError, needSessions } from "./answers";
import { withIsoDates } from "./dates";

/**
 * Admin calls on sessions: list a payer's passes, revoke one token or a payer's passes (all, or
 * one scope). Bad input is a 400 with the reason.
 */

const RevokeSchema = z.union([
  z.strictObject({ token: z.string().check(z.minLength(1), z.maxLength(512)) }),
  z.strictObject({
    payer: z.string().check(z.regex(EVM_ADDRESS, "must be a 0x address")),
    scope: z.optional(z.string().check(z.minLength(1), z.maxLength(600))),
  }),
]);

/** The session routes, mounted under `/__x402/admin`. */
export function sessionRoutes(): Hono<OperatorEnv> {
  const routes = new Hono<OperatorEnv>();

  routes.get("/sessions", async (c) => {
    const sessions = needSessions(c);
    if (sessions.type === "respond") return sessions.response;
    const payer = c.req.query("payer") ?? "";
    if (!EVM_ADDRESS.test(payer)) {
      return adminError(c, 400, "bad_request", "payer must be a 0x address");
    }
    const entitlements = (await sessions.part.list(payer)).map((entitlement) =>
      withIsoDates(entitlement, ["createdAt", "expiresAt"]),
    );
    return c.json({ payer: payer.toLowerCase(), entitlements });
  });

  routes.post("/sessions/revoke", async (c) => {
    const sessions = needSessions(c);
    if (sessions.type === "respond") return sessions.response;
    const body = RevokeSchema.safeParse(await c.req.json().catch(() => undefined));
    if (!body.success) {
      const message = 'send JSON {"token": "..."} or {"payer": "0x...", "scope"?: "..."}';
      return adminError(c, 400, "bad_request", message);
    }
    if ("token" in body.data) {
      const revoked = await sessions.part.revokeToken(body.data.token);
      return c.json({ revoked: revoked ? 1 : 0 }, revoked ? 200 : 404);
    }
    return c.json({ revoked: await sessions.part.revokePayer(body.data.payer, body.data.scope) });
  });

  return routes;
}
