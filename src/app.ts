import { Hono } from "hono/tiny";
import { adminRoutes, dashboardRoutes, redactText } from "./operator";
import type { OperatorDeps } from "./operator";
import { ReceiptsLedger } from "./ledger";
import { Funnel } from "./funnel";
import { chainProver } from "./chain";
import { loadConfig } from "./config";
import { createWebBotAuthVerifier } from "./crawlers";
import { durableCredit } from "./credit";
import type { Config, Env } from "./config";
import { PriceHistory, PriceTableStore } from "./kv";
import { httpFacilitator } from "./payments";
import {
  CREDIT_PATH,
  MISCONFIGURED_MESSAGE,
  errorResponse,
  handleRequest,
  misconfiguredResponse,
  RecentKeys,
  topUpCredit,
} from "./paywall";
import type { PaywallDeps, RequestContext } from "./paywall";
import { DISCOVERY_PATH, LLMS_PATH, discoveryDocument, llmsText } from "./discovery";
import { STALE_CLAIM_MS, durablePaymentLocks } from "./idempotency";
import { durableSessions } from "./sessions";
import { assetAt, serveAsset } from "./assets";

/**
 * Builds the Hono app: the paywall's own endpoints under `/__x402/`, and every other request
 * through the paywall flow. Configuration is validated and dependencies are built once per env
 * object in an isolate, so the request path does no parsing of variables; the price table cache
 * is shared by every env with the same KV binding and pricing variables.
 */

type Setup = { ok: true; config: Config; deps: PaywallDeps } | { ok: false; reason: string };

/** Per isolate: the env object of each deployment maps to its validated setup, built once. */
const setups = new WeakMap<Env, Setup>();
/** Payments this isolate claimed lately, whatever the setup (src/paywall/pay-once.ts). */
const claimedLately = new RecentKeys(1024, STALE_CLAIM_MS);
/** Per isolate: the operator side's dependencies of each deployment, built once. */
const operators = new WeakMap<Env, OperatorDeps>();
/** Stores by KV binding and configuration, so the table cache outlives a changed env object. */
const stores = new Map<string, { kv: KVNamespace; store: PriceTableStore }>();

function setupFor(env: Env): Setup {
  const known = setups.get(env);
  if (known) return known;
  const loaded = loadConfig(env);
  // The reason is redacted once: it goes to the log, which may be shipped elsewhere.
  const setup: Setup = loaded.ok
    ? { ok: true, config: loaded.config, deps: buildDeps(env, loaded.config) }
    : { ok: false, reason: redactText(loaded.reason, env) };
  setups.set(env, setup);
  return setup;
}

function buildDeps(env: Env, config: Config): PaywallDeps {
  const key = JSON.stringify([config.tableTtlMs, config.network, config.payTo]);
  let entry = stores.get(key);
  if (!entry || entry.kv !== env.PRICES) {
    const store = new PriceTableStore(env.PRICES, {
      ttlMs: config.tableTtlMs,
      env: { network: config.network, payTo: config.payTo },
    });
    entry = { kv: env.PRICES, store };
    stores.set(key, entry);
  }
  return {
    tables: entry.store,
    ledger: env.LEDGER ? new ReceiptsLedger(env.LEDGER, env.PRICES) : undefined,
    funnel: env.LEDGER ? new Funnel(env.LEDGER, config.funnelFlushMs) : undefined,
    facilitator: httpFacilitator({
      endpoints: config.facilitators,
      timeoutMs: config.facilitatorTimeoutMs,
    }),
    origin: { base: config.originUrl, payerHeader: config.payerHeader },
    chain: chainProver(config.chainRpcUrls),
    payments: env.PAYMENTS ? durablePaymentLocks(env.PAYMENTS) : undefined,
    claimedLately,
    quoteSecret: config.quoteSecret,
    sessions:
      env.SESSIONS && config.sessionSecret
        ? { service: durableSessions(env.SESSIONS), secret: config.sessionSecret }
        : undefined,
    crawlers: {
      // One verifier per setup: its key directory cache is shared by this isolate's requests.
      verifier: createWebBotAuthVerifier({ allowInsecureLoopback: config.directoryHttpLoopback }),
      credit: env.CRAWL_CREDIT ? durableCredit(env.CRAWL_CREDIT) : undefined,
    },
  };
}

/**
 * What the admin API and the dashboard are given: the setup's configuration and stores, and
 * the price table's revisions, which they reach even when the configuration is invalid.
 */
function operatorFor(env: Env): OperatorDeps {
  const known = operators.get(env);
  if (known) return known;
  const setup = setupFor(env);
  const deps = setup.ok ? setup.deps : undefined;
  // A table is checked against this deployment's defaults, as the Worker checks it; with an
  // invalid configuration, against the variables as written.
  const tableDefaults = setup.ok
    ? { network: setup.config.network, payTo: setup.config.payTo }
    : { network: env.NETWORK?.trim() || undefined, payTo: env.PAY_TO?.trim() || undefined };
  const funnel = deps?.funnel;
  const operator: OperatorDeps = {
    adminToken: env.ADMIN_TOKEN || undefined,
    config: setup.ok ? { ok: true, config: setup.config } : setup,
    env,
    prices: new PriceHistory(env.PRICES, tableDefaults),
    tableDefaults,
    tables: deps?.tables,
    ledger: deps?.ledger,
    funnel: funnel instanceof Funnel ? funnel : undefined,
    sessions: deps?.sessions?.service,
    payments: deps?.payments,
    chain: deps?.chain,
  };
  operators.set(env, operator);
  return operator;
}

/** The Worker's request handler, as workerd calls it. */
export interface WorkerHandler {
  fetch(request: Request, env: Env, ctx?: ExecutionContext): Response | Promise<Response>;
}

/**
 * Creates the Worker: the paywall's own endpoints (`/__x402/…` and discovery) go through the Hono
 * app; every other request goes straight to the paywall flow, which is what the app's catch-all
 * route would do, without building a router match and a context per request (profiled: about
 * 100 µs of workerd CPU per request, a sixth of a 402).
 */
export function createWorker(): WorkerHandler {
  const app = createApp();
  return {
    fetch(request, env, ctx) {
      const url = new URL(request.url);
      if (ownsPath(url.pathname)) return app.fetch(request, env, ctx);
      const waitUntil = ctx ? (work: Promise<unknown>) => ctx.waitUntil(work) : undefined;
      return proxied(request, url, env, waitUntil).catch(onUnexpected);
    },
  };
}

/** Paths the Hono app answers itself; a percent-encoded path goes there too (Hono decodes it). */
function ownsPath(pathname: string): boolean {
  return (
    pathname.startsWith("/__x402") || pathname.startsWith(DISCOVERY_PATH) || pathname.includes("%")
  );
}

async function proxied(
  request: Request,
  url: URL,
  env: Env,
  waitUntil: RequestContext["waitUntil"],
): Promise<Response> {
  const setup = setupFor(env);
  if (!setup.ok) return misconfiguredResponse(setup.reason);
  const response = await handleRequest(request, setup.deps, { url, waitUntil });
  if (request.method !== "HEAD") return response;
  // As Hono answers HEAD: the GET answer's status and headers without its body, which is
  // cancelled (an origin stream left unread would hold its connection and whatever waits on it).
  await response.body?.cancel().catch(() => undefined);
  return new Response(null, response);
}

/** The context's `waitUntil`, or undefined when it has no execution context (tests). */
function waitUntilOf(c: {
  executionCtx: { waitUntil(work: Promise<unknown>): void };
}): RequestContext["waitUntil"] {
  try {
    const ctx = c.executionCtx;
    return (work) => ctx.waitUntil(work);
  } catch {
    return undefined;
  }
}

function onUnexpected(error: unknown): Response {
  console.error("unexpected error", error);
  return errorResponse("internal_error", "the paywall hit an unexpected error");
}

/** Creates the Hono app (the paywall's endpoints, and the flow for every other path). */
export function createApp(): Hono<{ Bindings: Env }> {
  const app = new Hono<{ Bindings: Env }>();

  app.get("/__x402/health", async (c) => {
    const setup = setupFor(c.env);
    if (!setup.ok) {
      console.error(setup.reason);
      return c.json({ ok: false, reason: MISCONFIGURED_MESSAGE }, 503);
    }
    const state = await setup.deps.tables.current();
    if (!state.ok) return c.json({ ok: false, reason: state.reason }, 503);
    return c.json({ ok: true, priceTableVersion: state.table.version ?? null });
  });

  // Discovery (src/discovery): what costs what, from the live price table.
  app.get(DISCOVERY_PATH, (c) => discovery(c.req.raw, c.env, "json"));
  app.get(LLMS_PATH, (c) => discovery(c.req.raw, c.env, "text"));
  async function discovery(request: Request, env: Env, as: "json" | "text"): Promise<Response> {
    const setup = setupFor(env);
    if (!setup.ok) return misconfiguredResponse(setup.reason);
    const state = await setup.deps.tables.current();
    if (!state.ok) return errorResponse("price_table_unavailable", state.reason);
    const origin = new URL(request.url).origin;
    const headers = { "Cache-Control": "public, max-age=60", "Access-Control-Allow-Origin": "*" };
    if (as === "text") {
      const body = llmsText(state.table, origin);
      return new Response(body, {
        headers: { ...headers, "Content-Type": "text/markdown; charset=utf-8" },
      });
    }
    return Response.json(discoveryDocument(state.table, origin), { headers });
  }

  // The page script and stylesheet (src/assets): only their current hashed paths, from `ASSETS`;
  // any other name here is the reserved path's 404, never the origin's.
  app.get("/__x402/assets/*", (c) => {
    const asset = assetAt(c.req.path);
    if (!asset)
      return errorResponse("reserved_path", `${c.req.path} is not a file of this paywall`);
    if (!c.env.ASSETS)
      return misconfiguredResponse("no ASSETS binding: see wrangler.toml [assets]");
    return serveAsset(c.req.raw, asset, c.env.ASSETS);
  });

  app.route("/__x402/admin", adminRoutes(operatorFor));
  app.route("/__x402/dashboard", dashboardRoutes(operatorFor));

  app.all(CREDIT_PATH, (c) => {
    const setup = setupFor(c.env);
    if (!setup.ok) return misconfiguredResponse(setup.reason);
    return topUpCredit(c.req.raw, setup.deps, waitUntilOf(c));
  });

  // Percent-encoded paths reach the paywall flow through here (see `ownsPath`).
  app.all("*", (c) => proxied(c.req.raw, new URL(c.req.url), c.env, waitUntilOf(c)));

  app.onError(onUnexpected);
  return app;
}
