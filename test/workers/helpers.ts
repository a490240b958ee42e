import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import type { PaymentLocks } from "../../src/idempotency";
import { inject } from "vitest";
import { PRICE_TABLE_KEY } from "../../src/kv";
import worker from "../../src/worker";
import type { Env } from "../../src/config";

/** The payee and price table every integration test runs against. */
export const PAY_TO = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC";
export const PAYER = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
export const USDC = "0x036CbD53842c5426634e7929541eC2318f3dCF7e";

/** Host of the session rules, so they never shadow the pay-per-request rules below. */
export const SESSION_HOST = "sessions.test";

export const TABLE = {
  version: "test-1",
  rules: [
    { host: SESSION_HOST, path: "/pass/*", price: "$0.01", session: { ttl: "1h", uses: 3 } },
    { host: SESSION_HOST, path: "/burst/*", price: "$0.01", session: { uses: 11 } },
    { host: SESSION_HOST, path: "/brief/*", price: "$0.01", session: { ttl: 1 } },
    { host: SESSION_HOST, path: "/status/*", price: "$0.01", session: { uses: 3 } },
    {
      host: SESSION_HOST,
      path: "/one/:slug",
      price: "$0.01",
      session: { scope: "resource", ttl: "1h" },
    },
    {
      host: SESSION_HOST,
      path: "/group/cheap/*",
      price: "$0.01",
      session: { ttl: "1h", scope: "group:g" },
    },
    {
      host: SESSION_HOST,
      path: "/group/dear/*",
      price: "$0.25",
      session: { ttl: "1h", scope: "group:g" },
    },
    { path: "/robots.txt", free: true },
    { path: "/api/free/*", free: true },
    { path: "/api/*", price: "$0.001", description: "API call", mimeType: "application/json" },
    { path: "/status/*", price: "$0.001" },
    { path: "/stream/*", price: "$0.001" },
    { path: "/articles/:slug", methods: ["GET"], price: "$0.01", description: "An article" },
  ],
};

/** Stores the test price table in the local KV namespace. */
export async function putTable(table: unknown = TABLE): Promise<void> {
  await env.PRICES.put(PRICE_TABLE_KEY, typeof table === "string" ? table : JSON.stringify(table));
}

/** Sends a request through the Worker, optionally with other variables. */
export async function call(request: Request, overrides: Partial<Env> = {}): Promise<Response> {
  const ctx = createExecutionContext();
  const response = await worker.fetch(request, { ...env, ...overrides }, ctx);
  await waitOnExecutionContext(ctx);
  return response;
}

/** Facilitator URL for a fake behaviour (see test/support/fakes.ts). */
export function facilitator(mode: string): string {
  return `${inject("facilitatorBase")}/${mode}`;
}

/** How many requests the fake origin saw for exactly this raw path. */
export async function originSaw(path: string): Promise<number> {
  const response = await fetch(`${inject("originUrl")}/__seen?path=${encodeURIComponent(path)}`);
  return ((await response.json()) as { count: number }).count;
}

/** The calls the fake facilitator received for a payment nonce. */
export async function facilitatorCalls(
  nonce: string,
): Promise<Array<{ op: string; body: unknown }>> {
  const response = await fetch(`${inject("facilitatorBase")}/__calls?nonce=${nonce}`);
  return (await response.json()) as Array<{ op: string; body: unknown }>;
}

/** A unique path segment so parallel tests never share origin records. */
export function unique(): string {
  return crypto.randomUUID().slice(0, 8);
}

/** Decodes a base64 JSON header. */
export function decodeHeader<T = Record<string, unknown>>(value: string | null): T {
  if (value === null) throw new Error("header missing");
  return JSON.parse(atob(value)) as T;
}

/** Builds a payment for the first offer of a 402; the fake facilitator does not check signatures. */
export function paymentFor(
  challenge: Response,
  change: (payload: Record<string, unknown>) => void = () => {},
): { header: string; nonce: string } {
  const required = decodeHeader<{ resource: unknown; accepts: Array<Record<string, unknown>> }>(
    challenge.headers.get("PAYMENT-REQUIRED"),
  );
  const accepted = structuredClone(required.accepts[0]!);
  const nonce = `0x${[...crypto.getRandomValues(new Uint8Array(32))].map((b) => b.toString(16).padStart(2, "0")).join("")}`;
  const payload: Record<string, unknown> = {
    x402Version: 2,
    resource: required.resource,
    accepted,
    payload: {
      signature: "0x" + "11".repeat(65),
      authorization: {
        from: PAYER,
        to: accepted["payTo"],
        value: accepted["amount"],
        validAfter: "0",
        validBefore: String(Math.floor(Date.now() / 1000) + 600),
        nonce,
      },
    },
  };
  change(payload);
  return { header: btoa(JSON.stringify(payload)), nonce };
}

/** A D1 binding that notes the SQL of every statement prepared (or executed) through it. */
export function countingLedger(): { db: D1Database; statements: string[] } {
  const real = ledgerDb();
  const statements: string[] = [];
  const db = new Proxy(real, {
    get(target, name) {
      const value = Reflect.get(target, name) as unknown;
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => {
        statements.push(`${String(name)}: ${typeof args[0] === "string" ? args[0] : ""}`);
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { db, statements };
}

/** The ledger's D1 binding (the tests' wrangler configuration declares it). */
export function ledgerDb(): D1Database {
  if (!env.LEDGER) throw new Error("LEDGER is not bound");
  return env.LEDGER;
}

/** The payment locks' namespace (the tests' wrangler configuration declares it). */
export function paymentLocks(): DurableObjectNamespace<PaymentLocks> {
  if (!env.PAYMENTS) throw new Error("PAYMENTS is not bound");
  return env.PAYMENTS;
}
