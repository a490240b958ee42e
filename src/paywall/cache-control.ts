/**
 * Paid content is for the one who paid: a shared cache (a CDN, a company proxy) that stored a
 * paid answer would serve it to others for free. Every answer the paywall delivers against a
 * payment, a session use or crawl credit goes through `keepPrivate`, whatever the origin said.
 */

/**
 * Cache fields aimed only at shared caches (RFC 9213 targeted fields and the older surrogate
 * one). A cache that honours one of them ignores `Cache-Control`, so `private` would not hold.
 */
const SHARED_CACHE_FIELDS = [
  "CDN-Cache-Control",
  "Cloudflare-CDN-Cache-Control",
  "Surrogate-Control",
];

/** Directives that let a shared cache store the answer, or that only shared caches read. */
const SHARED_DIRECTIVES = new Set(["public", "s-maxage", "proxy-revalidate", "private"]);

/**
 * Makes the headers of a paid answer non-shared-cacheable: `Cache-Control` starts with a bare
 * `private` (RFC 9111 §5.2.2.7), the origin's `public`, `s-maxage`, `proxy-revalidate` and any
 * `private` (a qualified `private="Set-Cookie"` only hides the fields it names) are dropped, its
 * other directives (`no-store`, `max-age`, …) are kept, and the targeted shared-cache fields are
 * removed. The origin's directive list is parsed as RFC 9111 §5.2 writes it: quoted values may
 * hold commas.
 */
export function keepPrivate(headers: Headers): void {
  const kept = directives(headers.get("Cache-Control") ?? "").filter(
    (directive) => !SHARED_DIRECTIVES.has(directiveName(directive)),
  );
  headers.set("Cache-Control", ["private", ...kept].join(", "));
  for (const name of SHARED_CACHE_FIELDS) headers.delete(name);
}

/** The directives of a `Cache-Control` value, split on commas outside quoted strings. */
export function directives(value: string): string[] {
  const found: string[] = [];
  let current = "";
  let quoted = false;
  for (let i = 0; i < value.length; i++) {
    const char = value[i]!;
    if (quoted && char === "\\" && i + 1 < value.length) {
      current += char + value[i + 1]!;
      i++;
      continue;
    }
    if (char === '"') quoted = !quoted;
    if (char === "," && !quoted) {
      found.push(current);
      current = "";
    } else {
      current += char;
    }
  }
  found.push(current);
  return found.map((directive) => directive.trim()).filter((directive) => directive !== "");
}

/** A directive's name in lower case (`Private="Set-Cookie"` → `private`). */
export function directiveName(directive: string): string {
  const equals = directive.indexOf("=");
  return (equals < 0 ? directive : directive.slice(0, equals)).trim().toLowerCase();
}
