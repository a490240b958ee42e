/**
 * Request path normalisation, so that no spelling of a priced URL is matched as another one.
 *
 * Rules (documented in docs/price-table.md#path-matching):
 * - each segment is percent-decoded once; malformed escapes are refused;
 * - an encoded `/` or `\` (`%2F`, `%5C`) separates segments like a plain `/`; `\` does too;
 * - empty segments (`//`) and `.` are dropped, `..` removes the previous segment (never above `/`);
 * - a segment that still holds a percent escape after decoding (double encoding such as `%252e`),
 *   or any control character, is refused: origins disagree on how to read those;
 * - a segment made only of dots once `;parameters` are cut (`..;x`, `...`), or whose Unicode
 *   compatibility form (NFKC) is such or holds a slash, is refused: some servers read it as a
 *   dot segment or a separator while others do not;
 * - for matching only: `;parameters` are cut from each segment, Unicode is NFKC-folded (so
 *   full-width look-alikes match their ASCII form), and a trailing slash is ignored. Letter case
 *   is folded by the matcher unless the table is case-sensitive.
 * The origin receives `forwardPath`, the canonical re-encoding of what was matched, so it cannot
 * read the request differently from the paywall.
 */

/** Outcome of normalising a request path. */
export type NormalisedPath =
  { ok: true; forwardPath: string; matchPath: string } | { ok: false; reason: string };

// eslint-disable-next-line no-control-regex -- refusing control characters is the point
const CONTROL = /[\u0000-\u001f\u007f]/;
const LEFTOVER_ESCAPE = /%[0-9a-fA-F]{2}/;
/** A path whose last segment is a separator or a dot segment names a directory (RFC 3986 §5.2.4). */
const ENDS_AS_DIRECTORY = /(\/|\\|%2f|%5c)$|(^|\/|\\|%2f|%5c)(\.|%2e){1,2}$/i;

/**
 * A path every rule above leaves as it is: segments of unreserved ASCII letters, digits and
 * `-._~` (nothing to decode, fold or re-encode), none empty or made only of dots, with at most
 * a trailing slash. Most requests are spelled so; they skip the general rules (profiled: about
 * 60 µs of workerd CPU per request, mostly Unicode folding).
 */
const PLAIN = /^(?:\/(?!\.+(?:\/|$))[A-Za-z0-9_~.-]+)*\/?$/;

/** Normalises a raw URL pathname (as in `new URL(...).pathname`); never throws. */
export function normalisePath(rawPath: string): NormalisedPath {
  if (rawPath !== "" && PLAIN.test(rawPath)) {
    const matchPath = rawPath.length > 1 && rawPath.endsWith("/") ? rawPath.slice(0, -1) : rawPath;
    return { ok: true, forwardPath: rawPath, matchPath };
  }
  return normaliseAnyPath(rawPath);
}

/** The general rules, for any path; `normalisePath` gives the same answer faster for plain ones. */
export function normaliseAnyPath(rawPath: string): NormalisedPath {
  const segments: string[] = [];
  for (const raw of rawPath.split("/")) {
    let decoded: string;
    try {
      decoded = decodeURIComponent(raw);
    } catch {
      return { ok: false, reason: "the path has a malformed percent-encoding" };
    }
    if (CONTROL.test(decoded)) {
      return { ok: false, reason: "the path contains a control character" };
    }
    if (LEFTOVER_ESCAPE.test(decoded)) {
      return { ok: false, reason: "the path is percent-encoded more than once" };
    }
    for (const part of decoded.split(/[/\\]/)) {
      if (part === "" || part === ".") continue;
      if (part !== ".." && isDisguisedDotOrSlash(part)) {
        return { ok: false, reason: "the path has a disguised dot segment or slash" };
      }
      if (part === "..") segments.pop();
      else segments.push(part);
    }
  }
  const trailingSlash = segments.length > 0 && ENDS_AS_DIRECTORY.test(rawPath);
  const forwardPath = "/" + segments.map(encodeSegment).join("/") + (trailingSlash ? "/" : "");
  const matchPath = "/" + segments.map(matchForm).filter(Boolean).join("/");
  return { ok: true, forwardPath, matchPath };
}

/**
 * True for a segment that some server reads as `.`, `..` or as holding a slash although it is
 * neither: `..;x` (Tomcat and Jetty cut `;parameters` first), `...` (Windows drops trailing
 * dots) or a Unicode compatibility look-alike such as full-width dots, which some servers fold.
 */
function isDisguisedDotOrSlash(segment: string): boolean {
  const folded = segment.normalize("NFKC");
  const bare = folded.split(";")[0];
  return /^\.+$/.test(bare ?? "") || /[/\\]/.test(folded);
}

/**
 * A host as the paywall compares it: lower case, trailing dots dropped (`Example.COM.` is the
 * fully qualified spelling of `example.com`, RFC 1034 §3.1). Matching, session scopes, resource
 * URLs and sign-in domains all use this spelling, so one purchase covers both.
 */
export function canonicalHost(host: string): string {
  return host.toLowerCase().replace(/\.+$/, "");
}

/** The request URL with its host in canonical spelling (the same object when it already is). */
export function canonicalUrl(url: URL): URL {
  const host = canonicalHost(url.hostname);
  if (host === url.hostname || host === "") return url;
  const canonical = new URL(url.href);
  canonical.hostname = host;
  return canonical;
}

/** Folds a pattern or path the way the matcher compares them. */
export function foldCase(path: string, caseSensitive: boolean): string {
  return caseSensitive ? path : path.toLowerCase();
}

function matchForm(segment: string): string {
  const semicolon = segment.indexOf(";");
  const bare = semicolon === -1 ? segment : segment.slice(0, semicolon);
  return bare.normalize("NFKC");
}

const KEEP = /%(3A|40|21|24|26|27|28|29|2A|2B|2C|3B|3D)/g;

/** RFC 3986 `segment` encoding: escape what is not a pchar, keep sub-delims, ':' and '@'. */
function encodeSegment(segment: string): string {
  return encodeURIComponent(segment).replace(KEEP, (escape) =>
    String.fromCharCode(parseInt(escape.slice(1), 16)),
  );
}
