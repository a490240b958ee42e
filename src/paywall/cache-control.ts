/**
 * Paid content is for the one who paid: a shared cache (a CDN, a company proxy) that stored a
 * paid answer would serve it to others for free. Every answer the paywall delivers against a
 * payment, a session use or crawl credit goes through `keepPrivate`, whatever the origin said.
 */

/**
 * Cache fields aimed only at shared caches, which a cache that reads them honours before (or
 * instead of) `Cache-Control`, so `private` would not hold there: every RFC 9213 targeted field
 * (`CDN-Cache-Control` and each CDN's own `<Name>-CDN-Cache-Control`, matched by suffix), the
 * surrogate field (Fastly, Varnish), Akamai's `Edge-Control` and nginx's `X-Accel-Expires`
 * (proxy_cache reads it first and ignores `private`).
 */
const SHARED_CACHE_FIELDS = new Set([
  "cdn-cache-control",
  "surrogate-control",
  "edge-control",
  "x-accel-expires",
]);
const TARGETED_SUFFIX = "-cdn-cache-control";

/** Whether only shared caches read the field `name` (any case). */
function sharedCacheField(name: string): boolean {
  const lower = name.toLowerCase();
  return SHARED_CACHE_FIELDS.has(lower) || lower.endsWith(TARGETED_SUFFIX);
}

/** Directives that let a shared cache store the answer, or that only shared caches read. */
const SHARED_DIRECTIVES = new Set(["public", "s-maxage", "proxy-revalidate", "private"]);

/** The directives that let a shared cache store an answer it would not otherwise. */
const PERMISSIVE_DIRECTIVES = new Set(["public", "s-maxage", "proxy-revalidate"]);

/** What a paid answer gets when the origin's `Cache-Control` cannot be read one way only. */
const UNREADABLE = "private, no-store";

/**
 * Makes the headers of a paid answer non-shared-cacheable: `Cache-Control` starts with a bare
 * `private` (RFC 9111 §5.2.2.7), the origin's `public`, `s-maxage`, `proxy-revalidate` and any
 * `private` (a qualified `private="Set-Cookie"` only hides the fields it names) are dropped, its
 * other directives (`no-store`, `max-age`, …) are kept, and the fields only shared caches read
 * are removed. The origin's directive list is parsed as RFC 9111 §5.2 writes it: quoted values may
 * hold commas. Many caches split at every comma instead: a value they would read differently (a
 * quoted string that never ends, or one hiding `public`, `s-maxage` or `proxy-revalidate` between
 * its commas) is replaced by `private, no-store`.
 */
export function keepPrivate(headers: Headers): void {
  const value = headers.get("Cache-Control") ?? "";
  const parsed = parseDirectives(value);
  const kept = parsed.directives.filter(
    (directive) => !SHARED_DIRECTIVES.has(directiveName(directive)),
  );
  const ambiguous = parsed.unterminated || kept.some(hidesSharedDirective);
  headers.set("Cache-Control", ambiguous ? UNREADABLE : ["private", ...kept].join(", "));
  const shared = [...headers.keys()].filter(sharedCacheField);
  for (const name of shared) headers.delete(name);
}

/**
 * Whether a comma-splitting cache would read a shared-cache directive inside `directive`'s quoted
 * value (`no-cache="x, s-maxage=86400"`).
 */
function hidesSharedDirective(directive: string): boolean {
  if (!directive.includes('"')) return false;
  return directive
    .split(",")
    .slice(1)
    .some((part) => PERMISSIVE_DIRECTIVES.has(directiveName(part.replace(/^[\s"]+|[\s"]+$/g, ""))));
}

/** The directives of a `Cache-Control` value, split on commas outside quoted strings. */
export function directives(value: string): string[] {
  return parseDirectives(value).directives;
}

/** The directives of `value`, and whether a quoted string in it never ends. */
function parseDirectives(value: string): { directives: string[]; unterminated: boolean } {
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
  const directives = found.map((d) => d.trim()).filter((d) => d !== "");
  return { directives, unterminated: quoted };
}

/** A directive's name in lower case (`Private="Set-Cookie"` → `private`). */
export function directiveName(directive: string): string {
  const equals = directive.indexOf("=");
  return (equals < 0 ? directive : directive.slice(0, equals)).trim().toLowerCase();
}
