import type { Context, MiddlewareHandler } from "hono";
import type { ChainProver } from "../chain";
import type { Config, Env } from "../config";
import type { Funnel } from "../funnel";
import type { PaymentLockService } from "../idempotency";
import type { PriceHistory, TableState } from "../kv";
import type { ReceiptsLedger } from "../ledger";
import type { EnvDefaults } from "../pricing";
import type { SessionService } from "../sessions";

/**
 * What the operator side (admin API and dashboard) is given by src/app.ts, built once per
 * deployment env: the configuration already validated, the stores it reads and writes, and the
 * admin token. It holds no part of the request path: a route here reads or changes what the
 * paywall keeps, never how it answers.
 */

/** The operator's dependencies for one deployment. */
export interface OperatorDeps {
  /** `ADMIN_TOKEN`; undefined: the admin API and the dashboard are off. */
  adminToken: string | undefined;
  /** The validated configuration, or why it is invalid (secret values already cut out). */
  config: { ok: true; config: Config } | { ok: false; reason: string };
  /**
   * The Worker's variables and bindings as given: the configuration view lists them (values
   * redacted, src/operator/redact.ts), and nothing else reads them.
   */
  env: Env;
  /** The price table's revisions in `PRICES`. */
  prices: PriceHistory;
  /** The deployment defaults a table is checked against (`NETWORK`, `PAY_TO`), as the Worker does. */
  tableDefaults: EnvDefaults;
  /** The price table the paywall serves; absent when the configuration is invalid. */
  tables?: { current(): Promise<TableState> } | undefined;
  /** The receipts ledger (`LEDGER`); absent without the binding or a valid configuration. */
  ledger?: ReceiptsLedger | undefined;
  /** The funnel's report over the ledger; absent without the ledger. */
  funnel?: Pick<Funnel, "report"> | undefined;
  /** Sessions, for listing and revoking; absent when sessions are not configured. */
  sessions?: Pick<SessionService, "list" | "revokeToken" | "revokePayer"> | undefined;
  /** The payers' payment locks, for resolving a pending payment; absent without `PAYMENTS`. */
  payments?: Pick<PaymentLockService, "resolve"> | undefined;
  /** Reads the chain to prove a pending payment's outcome (`CHAIN_RPC_URLS`). */
  chain?: ChainProver | undefined;
}

/** Finds the operator's dependencies for an env. */
export type OperatorDepsOf = (env: Env) => OperatorDeps;

/** The Hono environment of operator routes: the deps of the request's env, set first. */
export interface OperatorEnv {
  Bindings: Env;
  Variables: { deps: OperatorDeps };
}

/** The Hono context of operator routes. */
export type OperatorContext = Context<OperatorEnv>;

/** Sets the deps of the request's env on the context, for the routes and `operatorAuth`. */
export function withDeps(depsOf: OperatorDepsOf): MiddlewareHandler<OperatorEnv> {
  return async function withDeps(c, next) {
    c.set("deps", depsOf(c.env));
    await next();
  };
}
