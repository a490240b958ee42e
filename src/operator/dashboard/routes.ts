import { Hono } from "hono/tiny";
import { setCookie, deleteCookie } from "hono/cookie";
import {
  DASHBOARD_COOKIE,
  DASHBOARD_SESSION_SECONDS,
  adminRefusal,
  dashboardCookieValue,
  operatorAuth,
} from "../auth";
import { escapeHtml, newNonce } from "../../browser";
import { withDeps } from "../deps";
import type { OperatorContext, OperatorDepsOf, OperatorEnv } from "../deps";
import { dashboardData } from "./data";
import { DASHBOARD_STYLE, dashboardPage } from "./page";

/**
 * The operator's dashboard at `/__x402/dashboard`, behind the admin token: sent as
 * `Authorization: Bearer …` (scripts) or typed once into the sign-in form, which sets an
 * HttpOnly, SameSite=Strict cookie holding an HMAC of the token, not the token. The page is
 * read-only; acting on what it shows goes through the admin API.
 */

/**
 * Both pages' headers. Their policy allows their stylesheet at exactly its URL (a host-source
 * whose path does not end in "/" matches that path only, CSP3 §6.7.2.9; a host that is an IP
 * address or not a plain name cannot be a host-source: there, `'self'`), no inline style, and
 * with a `nonce`, one script: the one carrying it (and its SRI hash). Nothing else is fetched.
 */
function pageHeaders(requestUrl: string, nonce?: string): Record<string, string> {
  const { protocol, host } = new URL(requestUrl);
  const named = /^(?=[^:]*[a-z])[a-z0-9.-]+(:\d+)?$/i.test(host);
  const style = named ? `${protocol}//${host}${DASHBOARD_STYLE.path}` : "'self'";
  const script = nonce ? `; script-src 'nonce-${nonce}'` : "";
  return {
    "Content-Type": "text/html; charset=utf-8",
    "Cache-Control": "no-store",
    "Content-Security-Policy": `default-src 'none'; style-src ${style}${script}; form-action 'self'; frame-ancestors 'none'; base-uri 'none'`,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
  };
}

/** What the sign-in page says while `ADMIN_TOKEN` is not set. */
const OFF = "the admin API is off: set ADMIN_TOKEN";

/** The dashboard routes, to mount at `/__x402/dashboard`. */
export function dashboardRoutes(depsOf: OperatorDepsOf): Hono<OperatorEnv> {
  const dashboard = new Hono<OperatorEnv>();
  dashboard.use("*", withDeps(depsOf));

  const signedIn = operatorAuth({
    cookie: true,
    refuse: (c, refusal) => (refusal.status === 403 ? signIn(c, 403, OFF) : signIn(c, 401)),
  });

  dashboard.get("/", signedIn, async (c) => {
    const days = Number(c.req.query("days") ?? "30");
    if (!Number.isInteger(days) || days < 1 || days > 366) {
      return signIn(c, 400, "days is a whole number from 1 to 366");
    }
    const nonce = newNonce();
    const page = dashboardPage(await dashboardData(c.var.deps, days), nonce);
    return c.body(page, 200, pageHeaders(c.req.url, nonce));
  });

  dashboard.post("/login", async (c) => {
    const secret = c.var.deps.adminToken;
    if (!secret) return signIn(c, 403, OFF);
    const form = await c.req.parseBody().catch(() => ({}) as Record<string, unknown>);
    const token = typeof form["token"] === "string" ? form["token"] : "";
    if (await adminRefusal(`Bearer ${token}`, secret)) {
      return signIn(c, 401, "that is not the admin token");
    }
    setCookie(c, DASHBOARD_COOKIE, await dashboardCookieValue(secret), {
      path: "/__x402/",
      httpOnly: true,
      secure: new URL(c.req.url).protocol === "https:",
      sameSite: "Strict",
      maxAge: DASHBOARD_SESSION_SECONDS,
    });
    return c.redirect("/__x402/dashboard", 303);
  });

  dashboard.post("/logout", (c) => {
    deleteCookie(c, DASHBOARD_COOKIE, { path: "/__x402/" });
    return c.redirect("/__x402/dashboard", 303);
  });

  return dashboard;
}

/** The sign-in page, saying `error` if any. */
function signIn(c: OperatorContext, status: 400 | 401 | 403, error?: string): Response {
  return c.body(
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>x402 paywall: sign in</title>
<link rel="stylesheet" href="${DASHBOARD_STYLE.path}"></head><body class="sign-in">
<form method="post" action="/__x402/dashboard/login"><h1>x402 paywall</h1>
${error ? `<p class="error" data-testid="login-error">${escapeHtml(error)}</p>` : ""}
<label>Admin token <input type="password" name="token" autocomplete="current-password" required></label>
<button>Sign in</button></form></body></html>`,
    status,
    pageHeaders(c.req.url),
  );
}
