import type { Env } from "../config";

/**
 * What of the configuration may be shown, decided by where a value came from rather than by
 * what its variable is called (`CDP_AUTH` holds an API key and says nothing about it). Shown:
 * the variables listed in `SHOWN` (none of which holds a credential), with URL userinfo and
 * queries cut out. Reported only as set or not set: every other variable (secrets, variables
 * named by an `env:` reference, variables added later such as RPC URL lists). Never shown: the
 * value of a facilitator header, literal or from a secret.
 */

/** Variables whose values are shown (URLs redacted); every other one is only "set". */
const SHOWN = new Set([
  "ORIGIN_URL",
  "FACILITATOR_URLS",
  "FACILITATORS",
  "PAY_TO",
  "NETWORK",
  "PRICE_TABLE_TTL_SECONDS",
  "FACILITATOR_TIMEOUT_MS",
  "PAYER_HEADER",
  "WEB_BOT_AUTH_HTTP_LOOPBACK",
]);

/** Text put where a value was cut out. */
export const REDACTED = "(redacted)";

/** Shorter values are not searched for in text: they would cut out common words, not secrets. */
const MIN_SECRET_LENGTH = 6;

/** A facilitator entry of `FACILITATORS` as the admin view shows it. */
interface ShownFacilitator {
  url: string;
  name?: string;
  networks?: string[];
  /** The header names only. */
  headers: string[];
}

/** The string variables of an env. */
function variablesOf(env: Env): Array<[string, string]> {
  return Object.entries(env as unknown as Record<string, unknown>).filter(
    (entry): entry is [string, string] => typeof entry[1] === "string",
  );
}

/** Whether a variable's value may be shown: listed in `SHOWN` and named by no `env:` reference. */
export function isShown(env: Env, name: string): boolean {
  return SHOWN.has(name) && !referencedSecrets(env).has(name);
}

/** Names that a `FACILITATORS` header reads as `env:NAME`. */
function referencedSecrets(env: Env): Set<string> {
  const names = new Set<string>();
  for (const entry of facilitatorEntries(env.FACILITATORS)) {
    for (const value of Object.values(entry.headers ?? {})) {
      if (typeof value === "string" && value.startsWith("env:")) names.add(value.slice(4));
    }
  }
  return names;
}

/**
 * Every value the configuration holds that must not be shown: each variable not shown and each
 * facilitator header value, whole and split at commas and spaces (a list of URLs or keys).
 */
export function secretValues(env: Env): string[] {
  const values = new Set<string>();
  const add = (value: string) => {
    for (const part of [value, ...value.split(/[\s,;]+/)]) {
      if (part.length >= MIN_SECRET_LENGTH) values.add(part);
    }
  };
  for (const [name, value] of variablesOf(env)) if (!isShown(env, name)) add(value);
  for (const entry of facilitatorEntries(env.FACILITATORS)) {
    for (const value of Object.values(entry.headers ?? {})) {
      if (typeof value === "string" && !value.startsWith("env:")) add(value);
    }
  }
  // The longest first, so a secret that contains another is cut out whole.
  return [...values].sort((a, b) => b.length - a.length);
}

/** A text (a configuration problem, a variable's value) with secret values and URL credentials cut out. */
export function redactText(text: string, env: Env): string {
  let redacted = text;
  for (const secret of secretValues(env)) redacted = redacted.split(secret).join(REDACTED);
  return redactUrls(redacted);
}

/** Cuts `user:password@` and query strings out of the URLs in a text: either may carry a key. */
export function redactUrls(text: string): string {
  return text
    .replace(/([a-z][a-z0-9+.-]*:\/\/)[^/@\s,]*@/gi, `$1${REDACTED}@`)
    .replace(/\?[^\s,;"]*/g, `?${REDACTED}`);
}

/** The shown variables, each value redacted; `FACILITATORS` with its header values left out. */
export function shownVariables(env: Env): Record<string, string> {
  const shown: Record<string, string> = {};
  for (const [name, value] of variablesOf(env)) {
    if (!isShown(env, name)) continue;
    shown[name] =
      name === "FACILITATORS"
        ? JSON.stringify(shownFacilitators(env) ?? REDACTED)
        : redactText(value, env);
  }
  return shown;
}

/** `FACILITATORS` as shown: URLs redacted, header names without their values. */
function shownFacilitators(env: Env): ShownFacilitator[] | undefined {
  if (!env.FACILITATORS?.trim()) return undefined;
  return facilitatorEntries(env.FACILITATORS).map((entry) => ({
    url: typeof entry.url === "string" ? redactText(entry.url, env) : REDACTED,
    ...(typeof entry.name === "string" && { name: redactText(entry.name, env) }),
    ...(Array.isArray(entry.networks) && { networks: entry.networks.map(String) }),
    headers: Object.keys(entry.headers ?? {}),
  }));
}

interface RawEntry {
  url?: unknown;
  name?: unknown;
  networks?: unknown;
  headers?: Record<string, unknown>;
}

/** The entries of a `FACILITATORS` value, as far as it is a JSON array of objects. */
function facilitatorEntries(text: string | undefined): RawEntry[] {
  if (!text?.trim()) return [];
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return [];
  }
  if (!Array.isArray(json)) return [];
  return json
    .filter(
      (entry): entry is Record<string, unknown> => typeof entry === "object" && entry !== null,
    )
    .map((entry) => {
      const headers = entry["headers"];
      return {
        url: entry["url"],
        name: entry["name"],
        networks: entry["networks"],
        headers:
          typeof headers === "object" && headers !== null && !Array.isArray(headers)
            ? (headers as Record<string, unknown>)
            : {},
      };
    });
}
