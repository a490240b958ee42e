import { expect } from "vitest";
import type { Receipt } from "../../src/ledger";
import { call } from "./helpers";

/** The admin token the integration tests run with (vitest.workers.config.ts). */
export const ADMIN_TOKEN = "workers-test-admin-token";

/**
 * Calls the admin API (or the dashboard) with the admin token, or with `token` instead (null or
 * "": no Authorization header).
 */
export function admin(
  path: string,
  init: RequestInit = {},
  token: string | null = ADMIN_TOKEN,
): Promise<Response> {
  const headers = new Headers(init.headers);
  if (token) headers.set("Authorization", `Bearer ${token}`);
  const url = path.startsWith("/__x402/") ? path : `/__x402/admin${path}`;
  return call(new Request(`https://admin.test${url}`, { ...init, headers }));
}

/** Sends a JSON body to an admin call. */
export function adminJson(path: string, method: string, body: unknown): Promise<Response> {
  const text = typeof body === "string" ? body : JSON.stringify(body);
  return admin(path, { method, body: text, headers: { "Content-Type": "application/json" } });
}

/** The JSON body of a response, typed loosely for assertions. */
export async function jsonOf<T = Record<string, unknown>>(response: Response): Promise<T> {
  return (await response.json()) as T;
}

/** A page of `GET /__x402/admin/receipts`. */
export interface Listed {
  receipts: Array<Receipt & { id: number }>;
  next: number | null;
  parked: number;
}

/** The receipts the ledger holds for `payer` (the first page). */
export async function receiptsOf(payer: string): Promise<Listed["receipts"]> {
  const response = await admin(`/receipts?payer=${payer}`);
  expect(response.status).toBe(200);
  return (await jsonOf<Listed>(response)).receipts;
}

/** A bucket of the ledger's revenue summary, with its dollars. */
interface Bucket {
  key: string;
  detail?: string;
  amount: string;
  count: number;
  usd: string | null;
}

/** The figures the dashboard embeds for its script (src/operator/dashboard/page.ts), in part. */
export interface DashboardFigures {
  revenue: { byRoute: Bucket[]; byCrawler: Bucket[]; credit: Bucket[] };
  recent: Array<{ transaction: string; crawler: string | null; usd: string | null }>;
  pending: Array<{ key: string }>;
  table: { raw: string; meta: { revision: number; version: string }; ruleIds: string[] };
}

/** The dashboard page's data block, parsed. */
export function dashboardFigures(html: string): DashboardFigures {
  const block = /<script type="application\/json" id="dashboard-data">([^<]*)<\/script>/.exec(html);
  if (!block) throw new Error("no data block");
  return JSON.parse(block[1]!) as DashboardFigures;
}
