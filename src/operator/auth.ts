import type { MiddlewareHandler } from "hono";
import { getCookie } from "hono/cookie";
import { hex } from "../encoding";
import type { OperatorContext, OperatorEnv } from "./deps";

/**
 * The operator's authentication, one middleware for the admin API and the dashboard:
 * `Authorization: Bearer <ADMIN_TOKEN>`, compared in constant time (both sides are hashed first,
 * so even the length does not leak), or on the dashboard its sign-in cookie (an HMAC of the
 * token, not the token). When `ADMIN_TOKEN` is not set both are off.
 */

/** Why a request is not allowed in. */
export interface Refusal {
  status: 401 | 403;
  error: string;
  message: string;
}

/** How a part of the operator side lets requests in and answers those it refuses. */
export interface AuthOptions {
  /** Whether the dashboard's sign-in cookie is accepted in place of the bearer token. */
  cookie: boolean;
  /** The answer to a refused request, in the part's own format (JSON, or a sign-in page). */
  refuse(c: OperatorContext, refusal: Refusal): Response | Promise<Response>;
}

/**
 * Lets a request through with the admin token (or, where `cookie` is set, a valid sign-in
 * cookie), else answers with `refuse`. Runs after `withDeps` (src/operator/deps.ts).
 */
export function operatorAuth(options: AuthOptions): MiddlewareHandler<OperatorEnv> {
  return async function operatorAuth(c, next) {
    const secret = c.var.deps.adminToken;
    const refusal = await adminRefusal(c.req.header("Authorization") ?? null, secret);
    const signedIn =
      refusal?.status === 401 &&
      options.cookie &&
      (await validDashboardCookie(getCookie(c, DASHBOARD_COOKIE), secret));
    if (refusal && !signedIn) return options.refuse(c, refusal);
    await next();
  };
}

/** Why a request is not allowed, or undefined when it is. */
export async function adminRefusal(
  authorization: string | null,
  secret: string | undefined,
): Promise<Refusal | undefined> {
  if (!secret) {
    return {
      status: 403,
      error: "admin_disabled",
      message: "the admin API is off: set the ADMIN_TOKEN secret (wrangler secret put ADMIN_TOKEN)",
    };
  }
  const match = /^Bearer\s+(.+)$/i.exec(authorization ?? "");
  if (!match?.[1] || !(await sameSecret(match[1].trim(), secret))) {
    return {
      status: 401,
      error: "unauthorized",
      message: "send Authorization: Bearer <ADMIN_TOKEN>",
    };
  }
  return undefined;
}

async function sameSecret(given: string, secret: string): Promise<boolean> {
  const encoder = new TextEncoder();
  const [a, b] = await Promise.all([
    crypto.subtle.digest("SHA-256", encoder.encode(given)),
    crypto.subtle.digest("SHA-256", encoder.encode(secret)),
  ]);
  return crypto.subtle.timingSafeEqual(a, b);
}

/** Name of the dashboard's sign-in cookie. */
export const DASHBOARD_COOKIE = "x402_admin";
/** How long a dashboard sign-in lasts. */
export const DASHBOARD_SESSION_SECONDS = 12 * 3600;

/**
 * A dashboard sign-in cookie value, `<expiry ms>.<hex HMAC-SHA256(ADMIN_TOKEN, expiry)>`: it
 * proves the token was known without holding it, and stops working when the token is changed.
 */
export async function dashboardCookieValue(secret: string, now = Date.now()): Promise<string> {
  const expires = now + DASHBOARD_SESSION_SECONDS * 1000;
  return `${expires}.${await mac(secret, String(expires))}`;
}

/** Whether a dashboard cookie value is genuine and unexpired (compared in constant time). */
export async function validDashboardCookie(
  value: string | undefined,
  secret: string | undefined,
  now = Date.now(),
): Promise<boolean> {
  const match = /^(\d{1,15})\.([0-9a-f]{64})$/.exec(value ?? "");
  if (!secret || !match?.[1] || !match[2] || Number(match[1]) <= now) return false;
  return sameSecret(match[2], await mac(secret, match[1]));
}

async function mac(secret: string, message: string): Promise<string> {
  const encoder = new TextEncoder();
  const key = await crypto.subtle.importKey(
    "raw",
    encoder.encode(secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const signature = await crypto.subtle.sign("HMAC", key, encoder.encode(`dashboard:${message}`));
  return hex(signature);
}
