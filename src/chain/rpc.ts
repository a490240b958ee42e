/**
 * A minimal Ethereum JSON-RPC client (the calls the chain proof needs: `eth_chainId`, `eth_call`,
 * `eth_getLogs`, `eth_getTransactionReceipt`, `eth_getBlockByNumber`) over `fetch`, bounded in
 * time and size: each call has its own timeout, all calls of one client share a total budget
 * (the proof runs on the request path), and an answer is read up to a size cap (a node, or
 * whatever answers at its URL, cannot make the Worker buffer an unbounded body). It never
 * throws: a network error, a timeout, a spent budget, a non-2xx, an oversized answer, a
 * JSON-RPC error or an answer that is not JSON-RPC is `{ok: false}` with the reason, which the
 * proof reads as "no proof either way".
 */

/**
 * One JSON-RPC call's outcome. `limited`: the node refused because the request asked for too
 * much (a JSON-RPC error naming a block range or a result limit, HTTP 413, or an answer over the
 * size cap), so a narrower request may succeed.
 */
export type RpcResult =
  { ok: true; result: unknown } | { ok: false; reason: string; limited?: boolean };

/** Sends JSON-RPC requests to one node. */
export type Rpc = (method: string, params: unknown[]) => Promise<RpcResult>;

/** Limits of one client; every field has a default. */
export interface RpcOptions {
  /** How long one call may take (default 3000 ms). */
  timeoutMs?: number;
  /** How long all calls of this client may take together, from its creation (default none). */
  budgetMs?: number;
  /** The largest answer read, in bytes (default 1 MiB). */
  maxBytes?: number;
  fetch?: typeof fetch;
}

/** The size cap of one answer unless told otherwise: 1 MiB. */
export const RPC_MAX_BYTES = 1 << 20;

/** A node's error message that says the request covered too many blocks or results. */
const TOO_MUCH =
  /range|too (many|large|wide|big)|exceed|more than|limit|maximum|max(imum)? (results|blocks)/i;
const RATE_LIMITED = /rate|too many requests|credits|quota|capacity/i;

/** A JSON-RPC client for `url`; `fetch`, timeouts and the size cap are injectable for tests. */
export function jsonRpc(url: string, options: RpcOptions = {}): Rpc {
  const doFetch = options.fetch ?? ((input, init) => fetch(input, init));
  const timeoutMs = options.timeoutMs ?? 3000;
  const maxBytes = options.maxBytes ?? RPC_MAX_BYTES;
  const deadline = options.budgetMs === undefined ? Infinity : Date.now() + options.budgetMs;
  let id = 0;
  return async (method, params) => {
    const left = Math.min(timeoutMs, deadline - Date.now());
    if (left <= 0) return { ok: false, reason: `${method}: the chain check ran out of time` };
    const outOfBudget = left < timeoutMs;
    let response: Response;
    let text: string | undefined;
    try {
      const signal = AbortSignal.timeout(left);
      response = await doFetch(url, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ jsonrpc: "2.0", id: ++id, method, params }),
        signal,
      });
      if (!response.ok) {
        await response.body?.cancel().catch(() => {});
        return {
          ok: false,
          reason: `${method}: RPC answered HTTP ${response.status}`,
          ...(response.status === 413 && { limited: true }),
        };
      }
      text = await readCapped(response, maxBytes, signal);
    } catch (error) {
      const timedOut =
        error instanceof Error && (error.name === "TimeoutError" || error.name === "AbortError");
      if (!timedOut) return { ok: false, reason: `${method}: RPC unreachable` };
      return {
        ok: false,
        reason: outOfBudget
          ? `${method}: the chain check ran out of time`
          : `${method} timed out after ${timeoutMs} ms`,
      };
    }
    if (text === undefined) {
      return {
        ok: false,
        reason: `${method}: the RPC's answer is larger than the limit of ${maxBytes} bytes`,
        limited: true,
      };
    }
    return parseAnswer(method, text);
  };
}

function parseAnswer(method: string, text: string): RpcResult {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return { ok: false, reason: `${method}: RPC answered something other than JSON` };
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    return { ok: false, reason: `${method}: not a JSON-RPC answer` };
  }
  const { result, error } = body as { result?: unknown; error?: unknown };
  if (error !== undefined && error !== null) {
    const raw = (error as { message?: unknown }).message;
    const message = typeof raw === "string" ? raw.slice(0, 200) : "an error";
    const limited = TOO_MUCH.test(message) && !RATE_LIMITED.test(message);
    return { ok: false, reason: `${method}: RPC error: ${message}`, ...(limited && { limited }) };
  }
  if (!("result" in body)) return { ok: false, reason: `${method}: not a JSON-RPC answer` };
  return { ok: true, result };
}

/** The body as text, or undefined when it is longer than `maxBytes` (the rest is not read). */
async function readCapped(
  response: Response,
  maxBytes: number,
  signal: AbortSignal,
): Promise<string | undefined> {
  const declared = Number(response.headers.get("Content-Length"));
  if (Number.isFinite(declared) && declared > maxBytes) {
    await response.body?.cancel().catch(() => {});
    return undefined;
  }
  if (!response.body) return "";
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  const aborted = new Promise<never>((_, reject) => {
    if (signal.aborted) reject(signal.reason as Error);
    signal.addEventListener("abort", () => reject(signal.reason as Error), { once: true });
  });
  aborted.catch(() => {});
  try {
    for (;;) {
      const { done, value } = await Promise.race([reader.read(), aborted]);
      if (done) break;
      size += value.byteLength;
      if (size > maxBytes) return undefined;
      chunks.push(value);
    }
  } finally {
    if (size > maxBytes || signal.aborted) await reader.cancel().catch(() => {});
  }
  const bytes = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, at);
    at += chunk.byteLength;
  }
  return new TextDecoder().decode(bytes);
}
