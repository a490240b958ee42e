import * as z from "../zod";

/**
 * A rule's session terms (`session` in the price table): after one payment the payer may come
 * back without paying again, until an expiry and/or for a number of uses, within a scope. The
 * schema lives here so the table validator and the matcher share it; src/sessions enforces it.
 */

/** The longest session a table may sell: one year. */
export const MAX_SESSION_SECONDS = 365 * 24 * 3600;
/** The most uses one payment may buy. */
export const MAX_SESSION_USES = 1_000_000;

const UNIT_SECONDS = { s: 1, m: 60, h: 3600, d: 86_400 } as const;
const DURATION = /^([1-9]\d{0,8})(s|m|h|d)$/;

/** Seconds in "90s", "30m", "1h" or "7d" (or a whole number of seconds); undefined if malformed. */
export function durationSeconds(value: string | number): number | undefined {
  if (typeof value === "number") return Number.isSafeInteger(value) ? value : undefined;
  const match = DURATION.exec(value);
  if (!match) return undefined;
  return Number(match[1]) * UNIT_SECONDS[match[2] as keyof typeof UNIT_SECONDS];
}

const duration = z.union([z.number(), z.string()]).check(
  z.refine((value) => {
    const seconds = durationSeconds(value);
    return seconds !== undefined && seconds >= 1 && seconds <= MAX_SESSION_SECONDS;
  }, 'must be a duration such as "90s", "30m", "1h" or "7d" (or whole seconds), at most 365d'),
);

/**
 * `route` (the default): every path the rule matches; `resource`: only the path paid for (one
 * article of `/articles/:slug`); `group:<name>`: every rule naming that group.
 */
const scope = z
  .string()
  .check(
    z.regex(
      /^(route|resource|group:[A-Za-z0-9_.-]{1,64})$/,
      'must be "route", "resource" or "group:<name>" (name: letters, digits, _ . -)',
    ),
  );

export const SessionSchema = z
  .strictObject({
    ttl: z.optional(duration),
    uses: z.optional(z.int().check(z.minimum(1), z.maximum(MAX_SESSION_USES))),
    scope: z._default(scope, "route"),
  })
  .check(
    z.check((payload) => {
      if (z.given(payload, "ttl") || z.given(payload, "uses")) return;
      const message = 'needs "ttl", "uses" or both';
      payload.issues.push({ code: "custom", message, input: payload.value });
    }),
  );

/** Session terms as written in the table. */
export type SessionConfig = z.infer<typeof SessionSchema>;

/** Session terms resolved for the request path. */
export interface SessionTerms {
  /** Seconds from payment until access ends; undefined: no time limit. */
  ttlSeconds: number | undefined;
  /** Requests one payment covers, the paid one included; undefined: no use limit. */
  uses: number | undefined;
  /** "route", "resource" or "group:<name>". */
  scope: string;
  /** The rule's identity (host, methods, path pattern), which a `route` scope is keyed by. */
  routeKey: string;
  /** The table's `caseSensitive`: whether a `resource` scope tells `/A` from `/a`. */
  caseSensitive: boolean;
}

/** Resolves validated session terms of the rule identified by `routeKey`. */
export function resolveSession(
  config: SessionConfig,
  routeKey: string,
  caseSensitive: boolean,
): SessionTerms {
  return {
    ttlSeconds: config.ttl === undefined ? undefined : durationSeconds(config.ttl),
    uses: config.uses,
    scope: config.scope,
    routeKey,
    caseSensitive,
  };
}
