import type { PaymentRequired } from "@x402/core/types";
import type { Brand } from "../pricing/brand";
import { STATIC_ASSETS } from "../assets";
import { accessText, addressHtml, embedJson, escapeHtml, networkName, pageName } from "./text";
import type { SessionReach } from "./text";

/**
 * The 402 page a person's browser gets (x402 specs/transports-v2/http.md leaves the body to the
 * server: HTML for browsers, the same offer in the `PAYMENT-REQUIRED` header for programs). It says
 * what the content is and what it costs, and its one script pays with the person's wallet. The
 * script and the stylesheet (static/paywall.js and paywall.css) are served by the Worker under
 * `/__x402/assets/` (src/assets). No dependency, no other origin: the page is a few KB, its
 * script and style are cached for good, and it works offline.
 */

/** The page's script (pinned by its SRI hash) and stylesheet, at content-hashed paths. */
const SCRIPT = STATIC_ASSETS["paywall.js"];
const STYLE = STATIC_ASSETS["paywall.css"];

/** What the page shows and embeds. */
export interface PaywallPageInput {
  /** The object the `PAYMENT-REQUIRED` header carries; embedded unchanged for the script. */
  required: PaymentRequired;
  /** The price for people, e.g. "$0.01"; empty when the token's decimals are unknown. */
  price: string;
  /** The token's decimals when known, to show balances in tokens rather than atomic units. */
  decimals?: number | undefined;
  /** Present when one payment buys a session (a pass kept in an HttpOnly cookie). */
  session?: SessionReach | undefined;
  /** What the page calls the content (the rule's `title`); else its name from the URL. */
  title?: string | undefined;
  /** The operator's site name, colour and logo (the table's `brand`). */
  brand?: Brand | undefined;
}

/**
 * The HTML 402 for one request, with `headers` (the challenge's own) plus a Content Security
 * Policy: scripts only with this response's nonce (the page's one script, from this origin and
 * checked against its SRI hash), network access only to this origin, no framing. The policy
 * stays with the document after the script writes paid HTML into it, so it allows that
 * content's same-origin styles, images and media (its scripts do not run until the page is
 * loaded again).
 */
export function paywallResponse(input: PaywallPageInput, headers: Headers): Response {
  const nonce = newNonce();
  headers.set("Content-Type", "text/html; charset=utf-8");
  headers.set("Content-Security-Policy", contentSecurityPolicy(nonce, input.brand?.logo));
  headers.set("X-Content-Type-Options", "nosniff");
  headers.set("Referrer-Policy", "no-referrer");
  return new Response(paywallPage(input, nonce), { status: 402, headers });
}

function contentSecurityPolicy(nonce: string, logo: string | undefined): string {
  // An https logo elsewhere is allowed from its origin only (brand.ts checked the URL).
  const logoOrigin = logo && !logo.startsWith("/") ? ` ${new URL(logo).origin}` : "";
  return [
    "default-src 'none'",
    `script-src 'nonce-${nonce}'`,
    "style-src 'self' 'unsafe-inline'",
    `img-src 'self' data: blob:${logoOrigin}`,
    "media-src 'self' blob:",
    "font-src 'self'",
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join("; ");
}

/** 128 random bits, base64: unguessable per response (CSP3 §2.3.1 nonce-source). */
export function newNonce(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return btoa(String.fromCharCode(...bytes));
}

function paywallPage(input: PaywallPageInput, nonce: string): string {
  const { required, brand } = input;
  const offer = required.accepts[0];
  const title = input.title || pageName(required.resource.url);
  const about = required.resource.description;
  const price = input.price || (offer ? `${offer.amount} units of ${offer.asset}` : "");
  const network = offer ? networkName(offer.network) : "";
  const token = typeof offer?.extra["name"] === "string" ? offer.extra["name"] : "tokens";
  const terms = `${accessText(input.session)} Paid in ${token} on ${network} to`;
  const refused = required.error ? `Not accepted: ${required.error}` : "";
  const decimals = input.decimals === undefined ? "" : ` data-decimals="${input.decimals}"`;
  // brand.ts checked the colour is a hex colour: it goes into CSS as it is.
  const accent = brand?.colour ?? "#1652f0";
  const ink = readableOn(accent);
  const site = brand?.name || brand?.logo ? siteHeader(brand) : "";
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${escapeHtml(title)}: payment required${brand?.name ? ` · ${escapeHtml(brand.name)}` : ""}</title>
<link rel="stylesheet" href="${STYLE.path}">
<style>:root{--accent:${accent};--ink:${ink}}</style>
</head><body>${site}<main>
<p class="kicker">Payment required</p>
<h1 id="x402-title">${escapeHtml(title)}</h1>
${about && about !== title ? `<p id="x402-about">${escapeHtml(about)}</p>` : ""}
<p class="price">${escapeHtml(price)}</p>
<p>${escapeHtml(terms)} <code class="address" id="x402-payee">${addressHtml(offer?.payTo ?? "")}</code>.</p>
<div id="x402-wallets"></div>
<p id="x402-status" role="status" aria-live="polite"${refused ? ' class="error"' : ""}>${escapeHtml(refused)}</p>
<p class="note">Programs pay with an x402 client (such as <code>@x402/fetch</code>), which reads this offer from the <code>PAYMENT-REQUIRED</code> header.</p>
</main>
<script type="application/json" id="x402-required" data-price="${escapeHtml(price)}" data-chain="${escapeHtml(network)}"${decimals}>${embedJson(required)}</script>
<script src="${SCRIPT.path}" integrity="${SCRIPT.integrity}" nonce="${nonce}"></script>
</body></html>`;
}

function siteHeader(brand: Brand): string {
  const logo = brand.logo
    ? `<img src="${escapeHtml(brand.logo)}" alt="${escapeHtml(brand.name ? "" : "logo")}">`
    : "";
  return `<header class="site" id="x402-site">${logo}${brand.name ? `<span>${escapeHtml(brand.name)}</span>` : ""}</header>`;
}

/** Black or white, whichever reads better on `hex` (WCAG relative luminance). */
function readableOn(hex: string): string {
  const digits =
    hex.length === 4
      ? [...hex.slice(1)].map((d) => d + d)
      : [1, 3, 5].map((i) => hex.slice(i, i + 2));
  const [r, g, b] = digits.map((d) => {
    const c = parseInt(d, 16) / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  }) as [number, number, number];
  const luminance = 0.2126 * r + 0.7152 * g + 0.0722 * b;
  return luminance > 0.179 ? "#000" : "#fff";
}
