import { Hono } from "hono/tiny";
import { setCookie, deleteCookie } from "hono/cookie";
import {
  DASHBOARD_COOKIE,
  DASHBOARD_SESSION_SECONDS,
  adminRefusal,
  dashboardCookieValue,
  operatorAuth,
} from "../auth";
import { withDeps } from "../deps";
import type { OperatorDepsOf, OperatorEnv } from "../deps";
import { dashboardData } from "./data";
import { escape } from "./html";
import { DASHBOARD_STYLE, dashboardPage } from "./page";

/**
 * The operator's dashboard at `/__x402/dashboard`, behind the admin token: sent as
 * `Authorization: Bearer …` (scripts) or typed once into the sign-in form, which sets an
 * HttpOnly, SameSite=Strict cookie holding an HMAC of the token, not the token. The page is
 * read-only; acting on what it shows goes through the admin API.
 */

/** Forbids every fetch the sign-in page could make: it needs none. */
const CSP =
  "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
const PAGE_HEADERS = {
  "Content-Type": "text/html; charset=utf-8",
  "Cache-Control": "no-store",
  "Content-Security-Policy": CSP,
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "no-referrer",
};

/**
 * The dashboard's headers: the sign-in page's policy, plus its stylesheet at exactly its URL (a
 * host-source whose path does not end in "/" matches that path only, CSP3 §6.7.2.9). A host
 * that is an IP address or not a plain name cannot be a host-source: there, `'self'`.
 */
function dashboardHeaders(requestUrl: string): Record<string, string> {
  const { protocol, host } = new URL(requestUrl);
  const named = /^(?=[^:]*[a-z])[a-z0-9.-]+(:\d+)?$/i.test(host);
  const source = named ? `${protocol}//${host}${DASHBOARD_STYLE.path}` : "'self'";
  const csp = CSP.replace("style-src", `style-src ${source}`);
  return { ...PAGE_HEADERS, "Content-Security-Policy": csp };
}

/** What the sign-in page says while `ADMIN_TOKEN` is not set. */
const OFF = "the admin API is off: set ADMIN_TOKEN";

/** The dashboard routes, to mount at `/__x402/dashboard`. */
export function dashboardRoutes(depsOf: OperatorDepsOf): Hono<OperatorEnv> {
  const dashboard = new Hono<OperatorEnv>();
  dashboard.use("*", withDeps(depsOf));

  const signedIn = operatorAuth({
    cookie: true,
    refuse: (c, refusal) =>
      refusal.status === 403
        ? c.body(loginPage(OFF), 403, PAGE_HEADERS)
        : c.body(loginPage(), 401, PAGE_HEADERS),
  });

  dashboard.get("/", signedIn, async (c) => {
    const days = Number(c.req.query("days") ?? "30");
    if (!Number.isInteger(days) || days < 1 || days > 366) {
      return c.body(loginPage("days is a whole number from 1 to 366"), 400, PAGE_HEADERS);
    }
    const page = dashboardPage(await dashboardData(c.var.deps, days));
    return c.body(page, 200, dashboardHeaders(c.req.url));
  });

  dashboard.post("/login", async (c) => {
    const secret = c.var.deps.adminToken;
    if (!secret) return c.body(loginPage(OFF), 403, PAGE_HEADERS);
    const form = await c.req.parseBody().catch(() => ({}) as Record<string, unknown>);
    const token = typeof form["token"] === "string" ? form["token"] : "";
    if (await adminRefusal(`Bearer ${token}`, secret)) {
      return c.body(loginPage("that is not the admin token"), 401, PAGE_HEADERS);
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

function loginPage(error?: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>x402 paywall: sign in</title>
<style>body{font:14px system-ui,sans-serif;display:grid;place-items:center;height:90vh}
form{display:grid;gap:8px;width:320px}.error{color:#a33}</style></head><body>
<form method="post" action="/__x402/dashboard/login"><h1>x402 paywall</h1>
${error ? `<p class="error" data-testid="login-error">${escape(error)}</p>` : ""}
<label>Admin token <input type="password" name="token" autocomplete="current-password" required></label>
<button>Sign in</button></form></body></html>`;
}
