import type { PaymentRequired } from "@x402/core/types";
import { PAYWALL_SCRIPT } from "./script";
import { accessText, embedJson, escapeHtml, networkName } from "./text";
import type { SessionReach } from "./text";

/**
 * The 402 page a person's browser gets (X402.md §1: HTML for browsers, the same offer in the
 * `PAYMENT-REQUIRED` header for programs). It says what the content is and what it costs, and
 * its one inline script pays with the person's wallet. No dependency, no other origin: the
 * whole page is a few KB and works offline.
 */

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
}

/**
 * The HTML 402 for one request, with `headers` (the challenge's own) plus a Content Security
 * Policy: scripts only with this response's nonce, network access only to this origin, no
 * framing. The policy stays with the document after the script writes paid HTML into it, so it
 * allows that content's same-origin styles, images and media (its scripts do not run until the
 * page is loaded again).
 */
export function paywallResponse(input: PaywallPageInput, headers: Headers): Response {
  const nonce = newNonce();
  headers.set("Content-Type", "text/html; charset=utf-8");
  headers.set("Content-Security-Policy", contentSecurityPolicy(nonce));
  headers.set("X-Content-Type-Options", "nosniff");
  headers.set("Referrer-Policy", "no-referrer");
  return new Response(paywallPage(input, nonce), { status: 402, headers });
}

function contentSecurityPolicy(nonce: string): string {
  return [
    "default-src 'none'",
    `script-src 'nonce-${nonce}'`,
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "media-src 'self' blob:",
    "font-src 'self'",
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join("; ");
}

/** 128 random bits, base64: unguessable per response (CSP3 §2.3.1 nonce-source). */
function newNonce(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return btoa(String.fromCharCode(...bytes));
}

function paywallPage(input: PaywallPageInput, nonce: string): string {
  const { required } = input;
  const offer = required.accepts[0];
  const what = required.resource.description || new URL(required.resource.url).pathname;
  const price = input.price || (offer ? `${offer.amount} units of ${offer.asset}` : "");
  const network = offer ? networkName(offer.network) : "";
  const token = typeof offer?.extra["name"] === "string" ? offer.extra["name"] : "tokens";
  const terms = `${accessText(input.session)} Paid in ${token} on ${network} to`;
  const refused = required.error ? `Not accepted: ${required.error}` : "";
  const decimals = input.decimals === undefined ? "" : ` data-decimals="${input.decimals}"`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Payment required: ${escapeHtml(what)}</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem;color:#222}
.price{font-size:2rem;font-weight:600;margin:.5rem 0}.error{color:#a00}code{background:#f3f3f3;padding:0 .2rem;word-break:break-all}
button{font:inherit;padding:.6rem 1.2rem;margin:.25rem .5rem .25rem 0;border:0;border-radius:.4rem;background:#1652f0;color:#fff;cursor:pointer}
button:disabled{opacity:.5;cursor:wait}.note{color:#666;font-size:.9rem}pre{background:#f6f6f6;padding:1rem;overflow:auto}</style>
</head><body><main>
<h1>Payment required</h1>
<p>${escapeHtml(what)}</p>
<p class="price">${escapeHtml(price)}</p>
<p>${escapeHtml(terms)} <code>${escapeHtml(offer?.payTo ?? "")}</code>.</p>
<div id="x402-wallets"></div>
<p id="x402-status" role="status" aria-live="polite"${refused ? ' class="error"' : ""}>${escapeHtml(refused)}</p>
<p class="note">Programs pay with an x402 client (such as <code>@x402/fetch</code>), which reads this offer from the <code>PAYMENT-REQUIRED</code> header.</p>
</main>
<script type="application/json" id="x402-required" data-price="${escapeHtml(price)}" data-chain="${escapeHtml(network)}"${decimals}>${embedJson(required)}</script>
<script nonce="${nonce}">${PAYWALL_SCRIPT}</script>
</body></html>`;
}
