import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Hex } from "viem";
import { afterAll, beforeAll } from "vitest";
import { payingFetchV2 } from "../../dev/clients.ts";
import { startStack } from "../../dev/stack.ts";
import type { RunningStack } from "../../dev/stack.ts";
import { balanceOf } from "../../dev/usdc.ts";

/**
 * Starts a whole local stack on free ports for this test file and stops it afterwards; `prices`
 * replaces dev/prices.json as the seeded price table.
 */
export function useStack(
  options: {
    prices?: unknown;
    vars?: Record<string, string>;
    facilitatorFor?: (url: string) => Promise<string>;
    originFor?: (url: string) => Promise<string>;
    secondChain?: boolean;
  } = {},
): { get(): RunningStack; stateDir(): string } {
  let stack: RunningStack | undefined;
  let stateDir = "";
  beforeAll(async () => {
    stateDir = mkdtempSync(join(tmpdir(), "x402-e2e-"));
    let pricesFile: string | undefined;
    if (options.prices !== undefined) {
      pricesFile = join(stateDir, "prices.json");
      writeFileSync(pricesFile, JSON.stringify(options.prices));
    }
    stack = await startStack({
      ports: { chain: 0, facilitator: 0, origin: 0, worker: 0, inspector: 0 },
      stateDir,
      ...(pricesFile && { pricesFile }),
      ...(options.vars && { vars: options.vars }),
      ...(options.facilitatorFor && { facilitatorFor: options.facilitatorFor }),
      ...(options.originFor && { originFor: options.originFor }),
      ...(options.secondChain && { secondChain: true }),
    });
  });
  afterAll(async () => {
    await stack?.stop();
    rmSync(stateDir, { recursive: true, force: true });
  });
  return {
    get() {
      if (!stack) throw new Error("the stack is not running");
      return stack;
    },
    /** Where the Worker keeps its local KV and Durable Object state (`--persist-to`). */
    stateDir: () => stateDir,
  };
}

/** USDC balances of the payer and the payee. */
export async function balances(stack: RunningStack): Promise<{ payer: bigint; payTo: bigint }> {
  const [payer, payTo] = await Promise.all([
    balanceOf(stack.rpcUrl, stack.payer),
    balanceOf(stack.rpcUrl, stack.payTo),
  ]);
  return { payer, payTo };
}

/** Sends a request with its path exactly as given (no client-side dot-segment resolution). */
export function rawGet(
  baseUrl: string,
  rawPath: string,
  headers: Record<string, string> = {},
): Promise<{
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}> {
  const url = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const req = request(
      { host: url.hostname, port: url.port, path: rawPath, method: "GET", headers },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => (body += chunk));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on("error", reject);
    req.end();
  });
}

/** The headers a fetch call would send, whether given as a Request or in `init`. */
export function headersOf(input: Parameters<typeof fetch>[0], init?: RequestInit): Headers {
  return new Headers(init?.headers ?? (input instanceof Request ? input.headers : undefined));
}

/**
 * Wraps a fetch so the payment headers it sends can be replayed later. With `capture`, a
 * request carrying a payment is recorded and not sent at all (answered with status 299).
 */
export function recordingFetch(capture = false): { fetch: typeof fetch; sent: Headers[] } {
  const sent: Headers[] = [];
  const wrapped: typeof fetch = async (input, init) => {
    const headers = headersOf(input, init);
    sent.push(headers);
    if (capture && headers.has("PAYMENT-SIGNATURE"))
      return new Response("captured", { status: 299 });
    return fetch(input, init);
  };
  return { fetch: wrapped, sent };
}

/**
 * A payment for `url` signed by the official client with `key`, captured before it is sent: the
 * PAYMENT-SIGNATURE header value (undefined if the client sent none).
 */
export async function capturePayment(
  url: string,
  options: { key: Hex; paymentId?: string; network?: `eip155:${string}` },
): Promise<string | undefined> {
  const { key, ...payOptions } = options;
  const recorder = recordingFetch(true);
  await payingFetchV2(key, recorder.fetch, payOptions)(url);
  return recorder.sent.map((h) => h.get("PAYMENT-SIGNATURE")).find(Boolean) ?? undefined;
}
