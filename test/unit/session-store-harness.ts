/// <reference types="node" />
import { DatabaseSync } from "node:sqlite";
import type { PayerSessions } from "../../src/sessions/store.ts";

/**
 * The real session store (`PayerSessions`) outside workerd: its SQL runs on Node's SQLite, its
 * clock is the test's (`vi.useFakeTimers`), and its stub can be slowed or broken per call, as a
 * network between isolates and a Durable Object would. A test file mocks `cloudflare:workers`
 * (`DurableObject`) before importing the store.
 */

/** A `SqlStorage` over an in-memory SQLite database: `exec(query, ...bindings)`. */
function sqlStorage(): SqlStorage {
  const db = new DatabaseSync(":memory:");
  const exec = (query: string, ...args: SqlStorageValue[]) => {
    let rows: Record<string, SqlStorageValue>[] = [];
    if (args.length === 0 && !/^\s*SELECT/i.test(query)) db.exec(query);
    else rows = db.prepare(query).all(...(args as Array<string | number | null>)) as typeof rows;
    return {
      toArray: () => rows,
      one: () => {
        if (rows.length !== 1) throw new Error(`expected one row, got ${rows.length}`);
        return rows[0];
      },
    };
  };
  return { exec } as unknown as SqlStorage;
}

/** The `DurableObjectState` the store uses: SQL, and an alarm it may set. */
export function durableState(): DurableObjectState {
  const storage = {
    sql: sqlStorage(),
    getAlarm: async () => null,
    setAlarm: async () => undefined,
  };
  return {
    storage,
    blockConcurrencyWhile: async (run: () => Promise<unknown>) => run(),
  } as unknown as DurableObjectState;
}

/** What happens to one stub call: pass, fail before the store sees it, or lose its answer. */
export type CallFate = "pass" | "refuse" | "lose";

/** Hooks around each stub call, for faults and interleavings. */
export interface Network {
  /** Decides a call's fate (default: pass). */
  fate?: (method: string, args: unknown[]) => CallFate;
  /** Awaited before and after the store runs the call (default: nothing). */
  pause?: () => Promise<void>;
  /** Sees each answer the store gave, right when it gave it (before any pause). */
  saw?: (method: string, args: unknown[], result: unknown) => void;
}

/** A `SESSIONS` namespace whose only object is `store`, reached through `network`. */
export function namespaceOver(
  store: PayerSessions,
  objectId: string,
  network: Network = {},
): DurableObjectNamespace<PayerSessions> {
  const stub = new Proxy(
    {},
    {
      get(_, name) {
        return async (...args: unknown[]) => {
          const method = String(name);
          await network.pause?.();
          const fate = network.fate?.(method, args) ?? "pass";
          if (fate === "refuse") throw new Error(`injected fault before ${method}`);
          const run = (store as unknown as Record<string, (...a: unknown[]) => unknown>)[method];
          if (typeof run !== "function") throw new Error(`no method ${method}`);
          const result = run.apply(store, args);
          network.saw?.(method, args, result);
          await network.pause?.();
          if (fate === "lose") throw new Error(`injected fault after ${method}: answer lost`);
          return result;
        };
      },
    },
  );
  const id = { toString: () => objectId };
  return {
    idFromString: () => id,
    idFromName: () => id,
    get: () => stub,
  } as unknown as DurableObjectNamespace<PayerSessions>;
}
