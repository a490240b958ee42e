import { chainRpcUrls } from "./chain";
import type { ChainRpc } from "./chain";
import { facilitatorEndpoints } from "./payments";
import type { FacilitatorEndpoint } from "./payments";
import { CAIP2_NETWORK, EVM_ADDRESS } from "./pricing";

/**
 * The Worker's bindings and variables, and their validation into a configuration. A bad variable
 * is reported with its name and the Worker fails closed (503), never open.
 */

/**
 * Bindings and variables as wrangler provides them: those in wrangler.toml typed by
 * `wrangler types` (src/worker-configuration.d.ts, regenerated and checked by `npm run check`),
 * plus the secrets and optional variables wrangler.toml does not hold. The wrangler.toml ones
 * are still validated here, since a deployment may drop them.
 */
export interface Env extends WranglerEnv {
  /**
   * Facilitators as JSON, in order of preference (src/payments/endpoints.ts): `[{"url", "name"?,
   * "networks"?: ["eip155:8453"], "headers"?: {"X-Api-Key": "env:SECRET_NAME"}}]`. Takes
   * precedence over `FACILITATOR_URLS`.
   */
  FACILITATORS?: string;
  /**
   * JSON-RPC URL of each network whose chain is read to resolve a payment whose settlement
   * answer was lost (src/chain): `{"eip155:8453": "env:BASE_RPC_URL"}`; a value `env:NAME` is
   * read from the secret NAME. Unset: such payments stay pending until an operator resolves them.
   */
  CHAIN_RPC_URLS?: string;
  /**
   * Secret (at least 32 characters) keying SIWx nonces (sessions need it) and signing the terms
   * an origin quotes in 402s (without it, each paid request on such a rule costs a fresh quote).
   */
  SESSION_SECRET?: string;
  /** Secret bearer token of the admin API under /__x402/admin/; unset: the API is off. */
  ADMIN_TOKEN?: string;
  /**
   * How long the funnel's counts gather in an isolate before they are written to D1, after the
   * answers (default 5; 0: after each answer).
   */
  FUNNEL_FLUSH_SECONDS?: string;
  /**
   * "true" lets Web Bot Auth key directories be fetched over plain HTTP from loopback hosts
   * (127.0.0.1, localhost, [::1]): the local stack only. Default "false": HTTPS only.
   */
  WEB_BOT_AUTH_HTTP_LOOPBACK?: string;
}

/** A validated configuration. */
export interface Config {
  originUrl: URL;
  facilitatorUrls: string[];
  /** The facilitators in order of preference, with their network limits and headers. */
  facilitators: FacilitatorEndpoint[];
  payTo: string | undefined;
  network: string | undefined;
  /** JSON-RPC URL (and log search span) per CAIP-2 network, secrets resolved (`CHAIN_RPC_URLS`). */
  chainRpcUrls: Record<string, ChainRpc>;
  tableTtlMs: number;
  facilitatorTimeoutMs: number;
  payerHeader: string;
  /** Set when sessions can run: the `SESSIONS` binding exists and `SESSION_SECRET` is set. */
  sessionSecret: string | undefined;
  /** `SESSION_SECRET` when set, whatever the bindings: it signs origin-quoted terms. */
  quoteSecret: string | undefined;
  /** Whether key directories may be plain-HTTP loopback URLs (development only). */
  directoryHttpLoopback: boolean;
  /** How long funnel counts gather before a flush (`FUNNEL_FLUSH_SECONDS`), ms. */
  funnelFlushMs: number;
}

/** Validates the variables; every problem is named so an operator can fix it in one go. */
export function loadConfig(env: Env): { ok: true; config: Config } | { ok: false; reason: string } {
  const problems: string[] = [];
  const originUrl = parseUrl(env.ORIGIN_URL, "ORIGIN_URL", problems);
  const secrets = env as unknown as Record<string, unknown>;
  const secret = (name: string) => {
    const value = secrets[name];
    return typeof value === "string" && value !== "" ? value : undefined;
  };
  const endpoints = facilitatorEndpoints(env, secret);
  if (!endpoints.ok) problems.push(...endpoints.problems);
  const facilitators = endpoints.ok ? endpoints.endpoints : [];
  const facilitatorUrls = facilitators.map((f) => f.url);
  const rpc = chainRpcUrls(env.CHAIN_RPC_URLS, secret);
  if (!rpc.ok) problems.push(...rpc.problems);
  const payTo = env.PAY_TO?.trim() || undefined;
  if (payTo && !EVM_ADDRESS.test(payTo)) problems.push("PAY_TO is not a 0x address");
  const network = env.NETWORK?.trim() || undefined;
  if (network && !CAIP2_NETWORK.test(network)) {
    problems.push("NETWORK is not a CAIP-2 id such as eip155:8453");
  }
  const ttl = env.PRICE_TABLE_TTL_SECONDS;
  const tableTtl = parseNumber(ttl, 10, 0, "PRICE_TABLE_TTL_SECONDS", problems);
  const timeoutMs = env.FACILITATOR_TIMEOUT_MS;
  const timeout = parseNumber(timeoutMs, 15_000, 1, "FACILITATOR_TIMEOUT_MS", problems);
  const payerHeader = (env.PAYER_HEADER?.trim() || "x-payer").toLowerCase();
  if (!/^[a-z0-9-]+$/.test(payerHeader)) problems.push("PAYER_HEADER is not a header name");
  const sessionSecret = env.SESSION_SECRET || undefined;
  if (sessionSecret !== undefined && sessionSecret.length < 32) {
    problems.push("SESSION_SECRET must be at least 32 characters");
  }
  const flush = parseNumber(env.FUNNEL_FLUSH_SECONDS, 5, 0, "FUNNEL_FLUSH_SECONDS", problems);
  if (flush > 25)
    problems.push("FUNNEL_FLUSH_SECONDS is at most 25 (work after an answer ends by 30 s)");
  const loopback = env.WEB_BOT_AUTH_HTTP_LOOPBACK?.trim() || "false";
  if (loopback !== "true" && loopback !== "false") {
    problems.push('WEB_BOT_AUTH_HTTP_LOOPBACK must be "true" or "false"');
  }
  if (!originUrl || problems.length > 0) {
    return { ok: false, reason: `the paywall is misconfigured: ${problems.join("; ")}` };
  }
  return {
    ok: true,
    config: {
      originUrl,
      facilitatorUrls,
      facilitators,
      payTo,
      network,
      chainRpcUrls: rpc.ok ? rpc.urls : {},
      tableTtlMs: tableTtl * 1000,
      facilitatorTimeoutMs: timeout,
      payerHeader,
      sessionSecret: env.SESSIONS ? sessionSecret : undefined,
      quoteSecret: sessionSecret,
      directoryHttpLoopback: loopback === "true",
      funnelFlushMs: flush * 1000,
    },
  };
}

function parseUrl(value: string | undefined, name: string, problems: string[]): URL | undefined {
  if (!value) {
    problems.push(`${name} is not set`);
    return undefined;
  }
  try {
    const url = new URL(value);
    if (url.protocol === "http:" || url.protocol === "https:") return url;
  } catch {
    // reported below
  }
  problems.push(`${name} is not an http(s) URL: ${value}`);
  return undefined;
}

/** A whole decimal number of at least `min`; "0x10", "1e3" and "-1" are refused. */
function parseNumber(
  value: string | undefined,
  fallback: number,
  min: number,
  name: string,
  problems: string[],
): number {
  const text = value?.trim() ?? "";
  if (text === "") return fallback;
  const number = Number(text);
  if (!/^\d+$/.test(text) || number < min) {
    problems.push(`${name} is not a whole number of at least ${min}`);
    return fallback;
  }
  return number;
}
