import { sha256Hex } from "../encoding";
import type { EnvDefaults } from "../pricing";
import { checkPriceTable } from "./check-table";
import {
  PRICE_TABLE_KEPT_REVISIONS,
  PRICE_TABLE_KEY,
  PRICE_TABLE_REVISION_PREFIX,
  revisionKey,
} from "./keys";

/**
 * Versioned writes of the price table for the admin API: every accepted table becomes a new
 * revision, kept under its own key, and the live key is written last, so a failed write never
 * leaves a table in force that was not checked. A rollback writes an older revision again as a
 * new one, so the history reads as what was in force, in order. KV has no transactions: two
 * operators pushing at once can both win; `expect` (the revision the operator last saw) turns
 * that into a 409 in all but a race of a few milliseconds.
 */

/** What is known of one revision (stored as the KV metadata of its keys). */
export interface RevisionMeta {
  /**
   * 0 for a live table written outside the admin API (e.g. `wrangler kv key put`); the push that
   * replaces it keeps it as the next revision, noting it was revision 0.
   */
  revision: number;
  savedAt: number | null;
  sha256: string;
  /** The table's own `version` label, if it has one. */
  version: string | null;
  note: string;
}

/** A stored table with its revision. */
export interface StoredTable {
  raw: string;
  meta: RevisionMeta;
}

/** What a push did. */
export type PushResult =
  | { type: "saved"; meta: RevisionMeta }
  | { type: "unchanged"; meta: RevisionMeta }
  | { type: "invalid"; errors: string[] }
  | { type: "conflict"; current: number };

/** What a rollback did. */
export type RollbackResult = PushResult | { type: "not_found"; reason: string };

/** The price table's revisions in a KV namespace. */
export class PriceHistory {
  private readonly kv: KVNamespace;
  private readonly env: EnvDefaults;
  private readonly now: () => number;

  constructor(kv: KVNamespace, env: EnvDefaults, now: () => number = Date.now) {
    this.kv = kv;
    this.env = env;
    this.now = now;
  }

  /** The live table, or undefined when none is stored. */
  async current(): Promise<StoredTable | undefined> {
    const { value, metadata } = await this.kv.getWithMetadata<RevisionMeta>(PRICE_TABLE_KEY);
    if (value === null) return undefined;
    return { raw: value, meta: metadata ?? (await this.unversioned(value)) };
  }

  /** The kept revisions, newest first. */
  async list(): Promise<RevisionMeta[]> {
    const listed = await this.kv.list<RevisionMeta>({ prefix: PRICE_TABLE_REVISION_PREFIX });
    return listed.keys
      .map((key) => key.metadata)
      .filter((meta): meta is RevisionMeta => meta !== undefined)
      .sort((a, b) => b.revision - a.revision);
  }

  /** One kept revision. */
  async get(revision: number): Promise<StoredTable | undefined> {
    const key = revisionKey(revision);
    const { value, metadata } = await this.kv.getWithMetadata<RevisionMeta>(key);
    if (value === null || !metadata) return undefined;
    return { raw: value, meta: metadata };
  }

  /** Checks `raw` and, when it can be served, makes it the live table as a new revision. */
  async push(raw: string, options: { note?: string; expect?: number } = {}): Promise<PushResult> {
    const checked = checkPriceTable(raw, this.env);
    if (!checked.ok) return { type: "invalid", errors: checked.errors };
    const current = await this.current();
    const currentRevision = current?.meta.revision ?? 0;
    if (options.expect !== undefined && options.expect !== currentRevision) {
      return { type: "conflict", current: currentRevision };
    }
    if (current && current.raw === raw) return { type: "unchanged", meta: current.meta };
    const kept = await this.list();
    let next = Math.max(currentRevision, kept[0]?.revision ?? 0) + 1;
    if (current && current.meta.revision === 0) {
      // Keep a table written outside the admin API, so it can be rolled back to.
      const note = `${current.meta.note} (live as revision 0)`;
      await this.write(revisionKey(next), current.raw, { ...current.meta, revision: next, note });
      next += 1;
    }
    const version = checked.table.version;
    const meta: RevisionMeta = {
      revision: next,
      savedAt: this.now(),
      sha256: await sha256Hex(raw),
      version: version === undefined ? null : String(version),
      note: (options.note ?? "").slice(0, 200),
    };
    await this.write(revisionKey(next), raw, meta);
    await this.write(PRICE_TABLE_KEY, raw, meta);
    await this.prune();
    return { type: "saved", meta };
  }

  /**
   * Puts revision `to` (default: the revision before the live one) back in force as a new
   * revision. The old table is checked again, since the deployment's defaults may have changed.
   */
  async rollback(to?: number): Promise<RollbackResult> {
    const current = await this.current();
    const kept = await this.list();
    const live = current?.meta.revision ?? 0;
    const target = to ?? kept.find((meta) => (live === 0 ? true : meta.revision < live))?.revision;
    const stored = target === undefined ? undefined : await this.get(target);
    if (!stored) {
      const reason =
        to === undefined
          ? "there is no earlier revision to roll back to"
          : `revision ${to} is not kept (the last ${PRICE_TABLE_KEPT_REVISIONS} are)`;
      return { type: "not_found", reason };
    }
    return this.push(stored.raw, { note: `rollback to revision ${stored.meta.revision}` });
  }

  private async unversioned(raw: string): Promise<RevisionMeta> {
    const note = "written outside the admin API";
    return {
      revision: 0,
      savedAt: null,
      sha256: await sha256Hex(raw),
      version: labelOf(raw),
      note,
    };
  }

  private async write(key: string, raw: string, meta: RevisionMeta): Promise<void> {
    await this.kv.put(key, raw, { metadata: meta });
  }

  private async prune(): Promise<void> {
    const kept = await this.list();
    const old = kept.slice(PRICE_TABLE_KEPT_REVISIONS);
    await Promise.all(old.map((meta) => this.kv.delete(revisionKey(meta.revision))));
  }
}

/** The table's own `version` label, when the text is a JSON object that has one. */
function labelOf(raw: string): string | null {
  try {
    const version = (JSON.parse(raw) as { version?: unknown } | null)?.version;
    return typeof version === "string" || typeof version === "number" ? String(version) : null;
  } catch {
    return null;
  }
}
