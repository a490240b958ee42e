import { OWED_KEEP_MS } from "./owed";

/**
 * What the operator revoked, remembered in the payer's Durable Object (src/sessions/store.ts) for
 * as long as an isolate may still bring a write made before it: a pass's grant, or a token, owed
 * since the store could not be reached when the payment settled (src/sessions/owed.ts). Without
 * it, a revocation made while the grant was owed would be undone when the grant lands.
 *
 * One table, `revocations`, purged by the store's alarm; `revoked_at` is the store's clock at the
 * revocation, compared with the time a grant was made (`GrantInput.at`, the paying isolate's clock):
 *
 * - `{what: "all", revoked_at: 1800000000000, purge_at: 1800000900000}`: every pass of this payer
 *   granted at or before `revoked_at` is refused.
 * - `{what: "scope:route:shop.example * * /api/*", revoked_at: …, purge_at: …}`: the same, for
 *   passes of that scope only.
 * - `{what: "token:3f9a…" (the token's hash), revoked_at: …, purge_at: …}`: that token is never
 *   stored again, so it opens no pass.
 *
 * Storage schema: docs/storage.md#sessions-durable-object-sessions.
 */

/**
 * How long a revocation is remembered: an owed write is kept by its isolate `OWED_KEEP_MS` after
 * it failed (src/sessions/owed.ts) and may be in flight a little longer; three times that covers
 * it with room for slow calls. A write made before a revocation cannot arrive later than this.
 */
export const REVOCATION_KEEP_MS = 3 * OWED_KEEP_MS;

/** The table, created with the store's others. */
export const REVOCATIONS_SCHEMA = `
  CREATE TABLE IF NOT EXISTS revocations (
    what TEXT PRIMARY KEY, revoked_at INTEGER NOT NULL, purge_at INTEGER NOT NULL);
  CREATE INDEX IF NOT EXISTS revocations_purge ON revocations(purge_at);`;

/** The revocations of one store; `keep(at)` arms its alarm for a purge. */
export class Revocations {
  constructor(
    private readonly sql: SqlStorage,
    private readonly keep: (at: number) => void,
  ) {}

  /** Remembers that the payer's passes (all, or those of `scope`) were revoked at `now`. */
  passes(scope: string | undefined, now: number): void {
    this.remember(scope === undefined ? "all" : `scope:${scope}`, now);
  }

  /** Remembers that the token hashed `tokenHash` was revoked at `now`. */
  token(tokenHash: string, now: number): void {
    this.remember(`token:${tokenHash}`, now);
  }

  /** Whether a grant of `scope` made at `madeAt` (ms) was revoked after it was made. */
  grantRevoked(scope: string, madeAt: number): boolean {
    const rows = this.sql
      .exec<{ n: number }>(
        `SELECT COUNT(*) AS n FROM revocations WHERE what IN ('all', ?) AND revoked_at >= ?`,
        `scope:${scope}`,
        madeAt,
      )
      .one();
    return rows.n > 0;
  }

  /** Whether the token hashed `tokenHash` was revoked. */
  tokenRevoked(tokenHash: string): boolean {
    const rows = this.sql
      .exec<{ n: number }>(
        "SELECT COUNT(*) AS n FROM revocations WHERE what = ?",
        `token:${tokenHash}`,
      )
      .one();
    return rows.n > 0;
  }

  /** Deletes revocations past their time; the earliest time left, or null. */
  purge(now: number): number | null {
    this.sql.exec("DELETE FROM revocations WHERE purge_at <= ?", now);
    return this.sql.exec<{ at: number | null }>("SELECT MIN(purge_at) AS at FROM revocations").one()
      .at;
  }

  private remember(what: string, now: number): void {
    const purgeAt = now + REVOCATION_KEEP_MS;
    this.sql.exec(
      `INSERT INTO revocations (what, revoked_at, purge_at) VALUES (?, ?, ?)
         ON CONFLICT (what) DO UPDATE SET revoked_at = MAX(revoked_at, excluded.revoked_at),
           purge_at = MAX(purge_at, excluded.purge_at)`,
      what,
      now,
      purgeAt,
    );
    this.keep(purgeAt);
  }
}
