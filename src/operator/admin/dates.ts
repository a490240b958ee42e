/**
 * Every time the admin API answers with is an ISO 8601 UTC string ("2026-11-21T10:04:05.123Z"),
 * whatever its store keeps (ms since the epoch in D1, KV metadata and Durable Objects; Unix
 * seconds in a signed authorization), so a client reads one format on every call.
 */

/** ISO 8601 UTC of `ms` since the epoch. */
export function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** ISO 8601 UTC of `ms` since the epoch, or null when there is no such time. */
export function isoOrNull(ms: number | null | undefined): string | null {
  return ms === null || ms === undefined ? null : iso(ms);
}

/** The same record with the named fields (ms since the epoch, or null) as ISO strings. */
export function withIsoDates<T extends object, K extends keyof T>(
  record: T,
  fields: readonly K[],
): Omit<T, K> & Record<K, string | null> {
  const copy: Record<string, unknown> = { ...(record as Record<string, unknown>) };
  for (const field of fields) {
    const value = record[field];
    copy[field as string] = typeof value === "number" ? iso(value) : null;
  }
  return copy as Omit<T, K> & Record<K, string | null>;
}
