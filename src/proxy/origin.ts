/**
 * Forwards a request to the origin behind the paywall: same method, query, headers and body
 * (streamed), redirects passed back to the client rather than followed. The path sent is the
 * paywall's canonical spelling of the one it priced, and headers that only the paywall may set
 * or read (payment proofs, the payer header) are removed first, so a client can neither leak
 * its payment to the origin nor claim to be a payer.
 * Session tokens (header and cookies) and crawler signatures are removed too.
 */

/** Request headers that never reach the origin. */
export const STRIPPED_REQUEST_HEADERS = [
  "payment-signature",
  "x-payment",
  "sign-in-with-x",
  // A session token (src/sessions/carrier.ts) is a bearer credential for the paywall only.
  "payment-session",
  // Only the paywall asks the origin for a price quote (src/pricing/origin-price.ts).
  "x402-quote-request",
  // A crawler's Web Bot Auth signature (RFC 9421) is checked here; forwarded, it would sit in the
  // origin's logs, where a copy replays against the paywall until it expires.
  "signature",
  "signature-input",
  "signature-agent",
];

/**
 * Cookies that never reach the origin, by name prefix: the session cookies, one per scope
 * (src/sessions/carrier.ts). The client's other cookies go through untouched.
 */
export const STRIPPED_COOKIE_PREFIXES = ["x402-session-"];

/**
 * Request headers that some origins and frameworks trust to change the host, path or method
 * they serve (RFC 7239 `Forwarded`, IIS and Symfony's `X-Original-URL`, method overrides). The
 * paywall priced the request it saw, so a client must not be able to make the origin serve
 * another one: these never reach the origin (`X-Forwarded-Host` and `-Proto` are set instead).
 */
export const SPOOFING_REQUEST_HEADERS = [
  "forwarded",
  "x-forwarded-server",
  "x-original-host",
  "x-host",
  "x-original-url",
  "x-rewrite-url",
  "x-http-method-override",
  "x-http-method",
  "x-method-override",
];

/** How to reach the origin. */
export interface OriginOptions {
  /** `ORIGIN_URL`: scheme, host, port and an optional base path. */
  base: URL;
  /** The header that tells the origin who paid (stripped from client requests). */
  payerHeader: string;
  fetch?: typeof fetch;
}

/** What to forward: the client's request, its canonical path, and who paid for it, if anyone. */
export interface ForwardInput {
  request: Request;
  forwardPath: string;
  payer?: string | undefined;
  /** Headers the paywall itself adds (after the client's are cleaned), e.g. a quote request. */
  extraHeaders?: Record<string, string> | undefined;
  /** Send no body even on methods that have one (a quote request). */
  withoutBody?: boolean | undefined;
}

/** The origin's response, or why there is none. */
export type OriginResult =
  { type: "response"; response: Response } | { type: "unreachable"; reason: string };

/** Sends one request to the origin; never throws. */
export async function forwardToOrigin(
  input: ForwardInput,
  options: OriginOptions,
): Promise<OriginResult> {
  const incoming = new URL(input.request.url);
  const target = new URL(options.base.href);
  target.pathname = options.base.pathname.replace(/\/+$/, "") + input.forwardPath;
  target.search = incoming.search;

  const headers = new Headers(input.request.headers);
  for (const name of STRIPPED_REQUEST_HEADERS) headers.delete(name);
  for (const name of SPOOFING_REQUEST_HEADERS) headers.delete(name);
  stripCookies(headers, STRIPPED_COOKIE_PREFIXES);
  headers.delete(options.payerHeader);
  if (input.payer) headers.set(options.payerHeader, input.payer);
  headers.set("X-Forwarded-Host", incoming.host);
  headers.set("X-Forwarded-Proto", incoming.protocol.replace(":", ""));
  for (const [name, value] of Object.entries(input.extraHeaders ?? {})) headers.set(name, value);

  const method = input.request.method;
  const hasBody = method !== "GET" && method !== "HEAD" && !input.withoutBody;
  try {
    const response = await (options.fetch ?? fetch)(target.href, {
      method,
      headers,
      body: hasBody ? input.request.body : null,
      redirect: "manual",
      // A client that goes away cancels the origin request too (and so any settlement).
      signal: input.request.signal,
    });
    return { type: "response", response };
  } catch (error) {
    return { type: "unreachable", reason: `the origin could not be reached: ${String(error)}` };
  }
}

/** Removes the cookies whose name starts with one of `prefixes`, keeping the others in order. */
function stripCookies(headers: Headers, prefixes: readonly string[]): void {
  const cookie = headers.get("Cookie");
  if (cookie === null || !prefixes.some((prefix) => cookie.includes(prefix))) return;
  const kept = cookie
    .split(";")
    .map((part) => part.trim())
    .filter((part) => part !== "" && !prefixes.some((prefix) => part.startsWith(prefix)));
  if (kept.length > 0) headers.set("Cookie", kept.join("; "));
  else headers.delete("Cookie");
}
