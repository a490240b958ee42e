import { hex } from "../encoding";

/**
 * The admin API's authentication: `Authorization: Bearer <ADMIN_TOKEN>`, compared in constant
 * time (both sides are hashed first, so even the length does not leak). When `ADMIN_TOKEN` is
 * not set the API is off.
 */

/** Why a request is not allowed, or undefined when it is. */
export async function adminRefusal(
  authorization: string | null,
  secret: string | undefined,
): Promise<{ status: 401 | 403; error: string; message: string } | undefined> {
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
