/**
 * Where session tokens travel: the `PAYMENT-SESSION` header (programs) and one HttpOnly,
 * Secure, SameSite=Lax cookie per scope (browsers, so several purchases live side by side).
 * Neither ever reaches the origin.
 */

/** Request and response header carrying a session token. */
export const SESSION_HEADER = "PAYMENT-SESSION";
/** When the session ends (ISO 8601), on responses that issue or use one. */
export const SESSION_EXPIRES_HEADER = "PAYMENT-SESSION-EXPIRES";
/** Uses left after this request, on responses that issue or use one. */
export const SESSION_REMAINING_HEADER = "PAYMENT-SESSION-REMAINING";

const COOKIE_PREFIX = "x402-session-";

/** The cookie name for a scope: a short FNV-1a hash keeps names valid and distinct per scope. */
export function cookieName(scope: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < scope.length; i++) {
    hash ^= scope.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return `${COOKIE_PREFIX}${hash.toString(16).padStart(8, "0")}`;
}

/** The token a request presents for this scope: the header first, else the scope's cookie. */
export function readToken(headers: Headers, scope: string): string | undefined {
  const header = headers.get(SESSION_HEADER)?.trim();
  if (header) return header;
  const name = cookieName(scope);
  for (const part of (headers.get("Cookie") ?? "").split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim() || undefined;
  }
  return undefined;
}

/** The `Set-Cookie` value storing a token for a scope for `maxAgeSeconds` (or the session). */
export function sessionCookie(scope: string, token: string, maxAgeSeconds?: number): string {
  const parts = [`${cookieName(scope)}=${token}`, "Path=/", "HttpOnly", "Secure", "SameSite=Lax"];
  if (maxAgeSeconds !== undefined) parts.push(`Max-Age=${Math.max(0, Math.floor(maxAgeSeconds))}`);
  return parts.join("; ");
}

/** Removes session tokens (header and cookies) from headers bound for the origin. */
export function stripSessionCredentials(headers: Headers): void {
  headers.delete(SESSION_HEADER);
  const cookie = headers.get("Cookie");
  if (cookie === null || !cookie.includes(COOKIE_PREFIX)) return;
  const kept = cookie
    .split(";")
    .map((part) => part.trim())
    .filter((part) => part !== "" && !part.startsWith(COOKIE_PREFIX));
  if (kept.length > 0) headers.set("Cookie", kept.join("; "));
  else headers.delete("Cookie");
}
