import type { OperatorContext } from "../deps";

/**
 * Query parameters the admin API shares: a time range and whole numbers. Each parser gives the
 * value or the reason it was refused, which the route answers as a 400.
 */

/** A parsed parameter, or why it is refused. */
export type Parsed<T> = { ok: true; value: T } | { ok: false; reason: string };

const DAY_MS = 86_400_000;

/**
 * `from` and `to` as ISO dates ("2026-11-21", "2026-11-21T10:00:00Z") or ms since the epoch;
 * by default (`days`, default 30) the last days up to now.
 */
export function timeRange(
  c: OperatorContext,
  withDefault = true,
): Parsed<{ from: number; to: number }> {
  const now = Date.now();
  const days = whole(c.req.query("days"), 30);
  if (days === undefined || days < 1 || days > 3660) {
    return { ok: false, reason: "days is a whole number from 1 to 3660" };
  }
  const from = instant(c.req.query("from"));
  const to = instant(c.req.query("to"));
  if (from === null) return { ok: false, reason: "from is an ISO date or ms since the epoch" };
  if (to === null) return { ok: false, reason: "to is an ISO date or ms since the epoch" };
  const end = to ?? now + 1;
  const start = from ?? (withDefault || c.req.query("days") ? end - days * DAY_MS : 0);
  if (start >= end) return { ok: false, reason: "from must be before to" };
  return { ok: true, value: { from: start, to: end } };
}

/** A time as ms since the epoch; undefined when not given, null when not a time. */
function instant(text: string | undefined): number | undefined | null {
  if (text === undefined || text === "") return undefined;
  if (/^\d{1,15}$/.test(text)) return Number(text);
  if (!/^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(text)) return null;
  const time = Date.parse(text);
  return Number.isNaN(time) ? null : time;
}

/** A whole number of up to 9 digits, `fallback` when not given, undefined when not one. */
export function whole(text: string | undefined, fallback: number): number | undefined {
  if (text === undefined || text === "") return fallback;
  return /^\d{1,9}$/.test(text) ? Number(text) : undefined;
}
