import type { CompiledTable, EnvDefaults } from "../pricing";
import { checkPriceTable } from "./check-table";
import { PRICE_TABLE_KEY } from "./keys";

/**
 * Loads the price table from KV and keeps it compiled in the isolate for `ttlMs`, so a change
 * in KV takes effect within that time without a redeploy, and the challenge path costs no
 * storage read at all while the copy is fresh.
 *
 * An unusable table (missing, not JSON, failing the schema, or with terms that cannot be
 * resolved) never opens the paywall: the last good table keeps being served, and without one
 * the store answers "unavailable" so the Worker fails closed. Either way the reason is logged.
 */

/** The subset of a KV namespace the store reads. */
export interface TableSource {
  get(key: string): Promise<string | null>;
}

/** The table to serve now, or why there is none. */
export type TableState = { ok: true; table: CompiledTable } | { ok: false; reason: string };

/** Options of a store; `now` is injectable for tests. */
export interface StoreOptions {
  ttlMs: number;
  env: EnvDefaults;
  now?: () => number;
  log?: (message: string) => void;
}

/** A per-isolate cache of the compiled price table. */
export class PriceTableStore {
  private readonly source: TableSource;
  private readonly options: StoreOptions;
  private lastGood: { raw: string; table: CompiledTable } | undefined;
  private lastError: string | undefined;
  private checkedAt = Number.NEGATIVE_INFINITY;
  private refreshing = false;

  constructor(source: TableSource, options: StoreOptions) {
    this.source = source;
    this.options = options;
  }

  /**
   * The table to serve now. Once a table is held, KV is read at most once per TTL: the request
   * that finds it stale reads it, and the others keep serving the last good table meanwhile.
   * No request ever awaits a read another request started: in workerd that read belongs to the
   * other request, and waits on it can hang if that request is cancelled. Until the first table
   * is held, each request reads for itself.
   */
  async current(): Promise<TableState> {
    const now = (this.options.now ?? Date.now)();
    if (now - this.checkedAt >= this.options.ttlMs) {
      if (!this.lastGood) {
        await this.refresh(now);
      } else if (!this.refreshing) {
        this.refreshing = true;
        try {
          await this.refresh(now);
        } finally {
          this.refreshing = false;
        }
      }
    }
    if (this.lastGood) return { ok: true, table: this.lastGood.table };
    return { ok: false, reason: this.lastError ?? "the price table has not been loaded" };
  }

  private async refresh(now: number): Promise<void> {
    let problem: string | undefined;
    try {
      const raw = await this.source.get(PRICE_TABLE_KEY);
      if (raw === null) problem = `no price table is stored under the KV key "${PRICE_TABLE_KEY}"`;
      else if (raw !== this.lastGood?.raw) problem = this.install(raw);
    } catch (error) {
      problem = `reading the price table from KV failed: ${String(error)}`;
    }
    this.checkedAt = now;
    this.lastError = problem;
    if (problem) {
      const fallback = this.lastGood ? "serving the last good table" : "failing closed";
      (this.options.log ?? console.error)(`price table rejected (${fallback}): ${problem}`);
    }
  }

  /** Validates and compiles `raw`; on success it becomes the served table. */
  private install(raw: string): string | undefined {
    const checked = checkPriceTable(raw, this.options.env);
    if (!checked.ok) {
      if (checked.kind === "json") return `the price table is ${checked.errors.join("; ")}`;
      return `the price table is invalid: ${checked.errors.join("; ")}`;
    }
    this.lastGood = { raw, table: checked.compiled };
    return undefined;
  }
}
