/**
 * A minimal Ethereum JSON-RPC client (the calls the chain proof needs: `eth_call`,
 * `eth_getLogs`, `eth_getTransactionReceipt`, `eth_getBlockByNumber`) over `fetch`, with a
 * timeout. It never throws: a network error, a non-2xx, a JSON-RPC error or an answer that is
 * not JSON-RPC is `{ok: false}` with the reason, which the proof reads as "no proof either way".
 */

/** One JSON-RPC call's outcome. */
export type RpcResult = { ok: true; result: unknown } | { ok: false; reason: string };

/** Sends JSON-RPC requests to one node. */
export type Rpc = (method: string, params: unknown[]) => Promise<RpcResult>;

/** A JSON-RPC client for `url`; `fetch` and the timeout are injectable for tests. */
export function jsonRpc(
  url: string,
  options: { timeoutMs?: number; fetch?: typeof fetch } = {},
): Rpc {
  const doFetch = options.fetch ?? ((input, init) => fetch(input, init));
  const timeoutMs = options.timeoutMs ?? 5000;
  let id = 0;
  return async (method, params) => {
    let response: Response;
    try {
      response = await doFetch(url, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ jsonrpc: "2.0", id: ++id, method, params }),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (error) {
      const timedOut = error instanceof Error && error.name === "TimeoutError";
      return { ok: false, reason: timedOut ? `${method} timed out` : `${method}: RPC unreachable` };
    }
    if (!response.ok)
      return { ok: false, reason: `${method}: RPC answered HTTP ${response.status}` };
    let body: unknown;
    try {
      body = await response.json();
    } catch {
      return { ok: false, reason: `${method}: RPC answered something other than JSON` };
    }
    if (typeof body !== "object" || body === null) {
      return { ok: false, reason: `${method}: not a JSON-RPC answer` };
    }
    const { result, error } = body as { result?: unknown; error?: { message?: unknown } };
    if (error !== undefined) {
      const message = typeof error?.message === "string" ? error.message : "an error";
      return { ok: false, reason: `${method}: RPC error: ${message.slice(0, 200)}` };
    }
    if (!("result" in body)) return { ok: false, reason: `${method}: not a JSON-RPC answer` };
    return { ok: true, result };
  };
}
