import type { SettleResponse, VerifyResponse } from "@x402/core/types";
import { facilitatorExtraKeys, fields, isRecord } from "../schemes";
import { SUPPORTED_TTL_MS, candidatesFor, kindOf, listedExtra, parseSupported } from "./routing";
import type { FacilitatorEndpoint, PaymentKind, Support } from "./routing";

/**
 * The facilitator as the paywall sees it (x402 V2 spec §7): `verify` and `settle` over HTTP. A
 * verify moves no money: a connection error, a timeout, a 5xx or an answer that is not a
 * well-formed verify response moves on to the next facilitator in order; when all fail the result
 * says so, and the caller answers 502/503 — never free access.
 *
 * A settle goes to one facilitator only and is never failed over: the one that verified the
 * payment (its `endpoint`, passed back to `settle`), else the first that may handle it (a
 * pending payment's retry, which is not verified again). Sending it elsewhere than where it was
 * verified would send it to a facilitator the verify found down, the very case failover is for.
 * Failing a settle over would be worse: a second facilitator would find the nonce spent by a
 * first one that did submit it, and its "failed" would read as "not paid" while the money moved. Failing over is safe only
 * when the first certainly never received the request, and workerd's fetch cannot tell that
 * case apart: a refused connection, a reset after the request was sent and a closed connection
 * all reject with the same `Error: Network connection lost.` (test/workers/fetch-errors.test.ts).
 * Any settle failure is `unavailable`, which the paid path records as pending and resolves
 * from the chain (src/paywall/settle-once.ts).
 */

/** The body of `POST /verify` and `POST /settle`. */
export interface FacilitatorRequest {
  x402Version: number;
  paymentPayload: unknown;
  paymentRequirements: unknown;
}

/**
 * A facilitator's answer, or why no facilitator gave one. `endpoint` names the facilitator that
 * answered (its base URL), so a settle can go where the verify did.
 */
export type FacilitatorResult<T> =
  | { type: "answer"; body: T; endpoint?: string | undefined }
  | { type: "unavailable"; status: 502 | 503; reason: string };

/** What the payment flow needs from facilitators; tests swap in a fake. */
export interface Facilitator {
  verify(request: FacilitatorRequest): Promise<FacilitatorResult<VerifyResponse>>;
  /**
   * Settles at `endpoint` (the facilitator whose verify answered) when given, else at the first
   * facilitator that may handle the payment; never at another one.
   */
  settle(
    request: FacilitatorRequest,
    endpoint?: string | undefined,
  ): Promise<FacilitatorResult<SettleResponse>>;
  /**
   * The `extra` a facilitator lists for `kind` with all of `keys` (its fee payer, its settling
   * address), from the first in order of preference that has them; undefined when none does.
   * Optional: without it, offers that need a facilitator's values are not made.
   */
  listedExtra?(
    kind: PaymentKind,
    keys: readonly string[],
  ): Promise<Readonly<Record<string, unknown>> | undefined>;
}

/** Where the facilitators are, in order of preference, and how long to wait for each. */
export interface HttpFacilitatorOptions {
  /** Plain base URLs (no headers, no network limits); used when `endpoints` is absent. */
  urls?: readonly string[];
  endpoints?: readonly FacilitatorEndpoint[];
  timeoutMs: number;
  fetch?: typeof fetch;
}

/**
 * A facilitator client over HTTP with ordered failover (verify only) among the facilitators that support the
 * payment's network (routing.ts).
 */
export function httpFacilitator(options: HttpFacilitatorOptions): Facilitator {
  const doFetch = options.fetch ?? ((input, init) => fetch(input, init));
  const endpoints =
    options.endpoints ??
    (options.urls ?? []).map((url) => ({
      url: url.replace(/\/+$/, ""),
      name: url,
      networks: "any" as const,
      headers: {},
    }));
  // Listings are kept, never the fetch's promise: a request must not await another's fetch.
  const supported = new Map<string, { at: number; support: Support }>();
  const supportOf = async (endpoint: FacilitatorEndpoint): Promise<Support> => {
    const known = supported.get(endpoint.url);
    if (known && Date.now() - known.at < SUPPORTED_TTL_MS) return known.support;
    const support = await listSupported(endpoint, doFetch, options.timeoutMs);
    supported.set(endpoint.url, { at: Date.now(), support });
    return support;
  };

  const call = async <T>(
    path: "verify" | "settle",
    request: FacilitatorRequest,
    isAnswer: (body: unknown) => body is T,
    at?: string,
  ): Promise<FacilitatorResult<T>> => {
    const kind = kindOf(request);
    const chosen = at === undefined ? undefined : endpoints.find((e) => e.url === at);
    // A settle goes where its payment was verified (see above), when that is known.
    const candidates = chosen
      ? [chosen]
      : candidatesFor(endpoints, kind, supportOf, boundExtra(request, kind));
    let last: FacilitatorResult<T> = {
      type: "unavailable",
      status: 503,
      reason:
        endpoints.length === 0
          ? "no facilitator is configured"
          : `no configured facilitator supports ${kind.scheme} payments on ${kind.network} (x402 v${kind.x402Version})`,
    };
    for await (const endpoint of candidates) {
      const url = `${endpoint.url}/${path}`;
      let response: Response;
      try {
        response = await doFetch(url, {
          method: "POST",
          headers: { ...endpoint.headers, "Content-Type": "application/json" },
          body: JSON.stringify(request),
          signal: AbortSignal.timeout(options.timeoutMs),
        });
      } catch (error) {
        const timedOut = error instanceof Error && error.name === "TimeoutError";
        const why = timedOut ? `timed out after ${options.timeoutMs} ms` : "could not be reached";
        last = { type: "unavailable", status: 503, reason: `facilitator ${path} ${why}` };
        // It may have received the settle (a reset after sending looks like a refusal).
        if (path === "settle") return last;
        continue;
      }
      const body = await readJson(response);
      if (response.status < 500 && isAnswer(body)) {
        return { type: "answer", body, endpoint: endpoint.url };
      }
      const what = response.status >= 500 ? `HTTP ${response.status}` : "a malformed answer";
      last = { type: "unavailable", status: 502, reason: `facilitator ${path} returned ${what}` };
      if (path === "settle") return last;
    }
    return last;
  };
  return {
    verify: (request) => call("verify", request, isVerifyResponse),
    settle: (request, endpoint) => call("settle", request, isSettleResponse, endpoint),
    listedExtra: (kind, keys) => listedExtra(endpoints, kind, keys, supportOf),
  };
}

/** The requirement's `extra` values only one facilitator can have given (src/schemes). */
function boundExtra(request: FacilitatorRequest, kind: PaymentKind): Record<string, unknown> {
  const keys = facilitatorExtraKeys(kind.scheme, kind.network);
  if (keys.length === 0) return {};
  const extra = fields(fields(request.paymentRequirements)["extra"]);
  return Object.fromEntries(keys.map((key) => [key, extra[key]]));
}

/** A facilitator's `/supported` kinds; unknown when it cannot say. */
async function listSupported(
  endpoint: FacilitatorEndpoint,
  doFetch: typeof fetch,
  timeoutMs: number,
): Promise<Support> {
  try {
    const response = await doFetch(`${endpoint.url}/supported`, {
      headers: { ...endpoint.headers },
      signal: AbortSignal.timeout(timeoutMs),
    });
    const kinds = response.ok ? parseSupported(await readJson(response)) : undefined;
    return kinds ? { known: true, kinds } : { known: false };
  } catch {
    return { known: false };
  }
}

async function readJson(response: Response): Promise<unknown> {
  try {
    return await response.json();
  } catch {
    return undefined;
  }
}

function isVerifyResponse(body: unknown): body is VerifyResponse {
  return isRecord(body) && typeof body["isValid"] === "boolean";
}

function isSettleResponse(body: unknown): body is SettleResponse {
  if (!isRecord(body) || typeof body["success"] !== "boolean") return false;
  return body["success"] === false || typeof body["transaction"] === "string";
}
