import type { Hex } from "viem";
import { payingFetchV1, payingFetchV2 } from "../../dev/clients.ts";
import type { Fault, FaultProxy } from "../e2e/fault-proxy.ts";
import type { ModelChain, Payer } from "./chain.ts";
import { CONTENT_MARKER } from "./origin.ts";
import type { Behaviour, ScriptedOrigin } from "./origin.ts";
import type { Route } from "./prices.ts";

/**
 * One random sequence of the model test, run against the real Worker: the payer it pays with,
 * the payments it signed (so later events can copy, replay, cancel or spend them), the session
 * tokens it got, and what every request observed. The invariants (invariants.ts) are judged from
 * these observations, the chain and the receipts ledger once the sequence is over.
 */

/** The system under test, as both harnesses provide it. */
export interface Harness {
  /** The paywall's base URL. */
  workerUrl: string;
  rpcUrl: string;
  /** The seller every route pays. */
  payTo: `0x${string}`;
  adminToken: string;
  /** The fault proxies in front of the first and the second facilitator (FACILITATOR_URLS). */
  primary: FaultProxy;
  secondary: FaultProxy;
  chain: ModelChain;
  /** The scripted origin: which requests the paywall gave up early (observable.ts probes with it). */
  origin: Pick<ScriptedOrigin, "leftEarly">;
}

/** A facilitator fault for one request: which call, what happens, on one or both facilitators. */
export interface FacilitatorFault {
  op: "verify" | "settle";
  mode: Exclude<Fault, "pass" | "reset-mid-body">;
  both: boolean;
}

/** A payment the sequence signed, with the operation it was signed for. */
export interface Payment {
  version: 1 | 2;
  header: [string, string];
  /** The authorization's replay key: the EIP-3009 nonce (0x…), or `permit2:<n>`. */
  key: string;
  /** The EIP-3009 nonce, when the payment is one (cancel and spend-elsewhere need it). */
  nonce: Hex | undefined;
  value: bigint;
  route: Route;
  behaviour: Behaviour;
  method: string;
  path: string;
  body: string | undefined;
  paymentId: string | undefined;
}

/** What one request saw. */
export interface Observation {
  step: number;
  event: string;
  route: Route;
  behaviour: Behaviour;
  method: string;
  path: string;
  body: string | undefined;
  /** Index into `payments`, when the request carried a payment. */
  payment?: number | undefined;
  /** The request carried a session token instead. */
  token?: boolean;
  preflight?: boolean;
  /** 0: no answer (the client went away, or the connection failed). */
  status: number;
  /** The paywall's error code, when the answer is the paywall's JSON error. */
  code: string | undefined;
  /**
   * The error a metered stream's closing event reported (`event: x402-payment-error`), e.g.
   * `payment_pending`: its settlement after the body did not go through.
   */
  streamError?: string | undefined;
  /** The answer has the shape of the paywall's own errors (`{error, message}`). */
  paywallShaped: boolean;
  /** Content of the origin reached the client (all of it, or the start of a stream). */
  delivered: boolean;
  /** The body failed after the status and headers came (a reset, not a timeout). */
  broken?: boolean;
  /** The client went away: before any answer came, or after the first chunk of a stream. */
  wentAway?: "before-answer" | "mid-stream";
  /** A facilitator fault was set for this request. */
  faulted: boolean;
  /** The settlement receipt header, when the answer carried one. */
  receipt: string | undefined;
  text: string;
}

/** How a request is sent and read. */
export interface SendOptions {
  method: string;
  body?: string | undefined;
  headers?: Record<string, string>;
  /** Abort the paid request this many ms after it is sent (the client goes away). */
  abortAfterMs?: number;
  /** Read only the first chunk of the body, then go away (mid-stream). */
  firstChunkOnly?: boolean;
}

/** The state of one sequence against the real system. */
export class Sequence {
  readonly payments: Payment[] = [];
  readonly tokens: string[] = [];
  readonly observations: Observation[] = [];
  /** Payment keys that met a fault or whose authorization was used behind the paywall's back. */
  readonly troubled = new Set<string>();
  readonly events: string[] = [];
  step = 0;

  readonly harness: Harness;
  readonly payer: Payer;
  /** Unique per sequence, in every path it requests. */
  readonly id: string;
  /** The chain's block when the sequence began: its transfers come after. */
  readonly startBlock: bigint;

  constructor(harness: Harness, payer: Payer, id: string, startBlock: bigint) {
    this.harness = harness;
    this.payer = payer;
    this.id = id;
    this.startBlock = startBlock;
  }

  /** A path of this sequence for a route and behaviour, unique per step. */
  path(route: Route, behaviour: Behaviour, suffix = ""): string {
    return `/${route}/${behaviour}/${this.id}-${this.step}${suffix}`;
  }

  /** Sets (or clears) the facilitator faults on the proxies. */
  setFault(fault: FacilitatorFault | undefined): void {
    const faultFor = (path: string): Fault =>
      fault && path.endsWith(`/${fault.op}`) ? fault.mode : "pass";
    this.harness.primary.faultFor = faultFor;
    this.harness.secondary.faultFor = fault?.both ? faultFor : () => "pass";
  }

  /**
   * Pays for `path` with an official client (V2 `@x402/fetch`, V1 `x402-fetch`) and records the
   * payment it signed; with `captureOnly`, the payment is signed and not sent.
   */
  async pay(
    event: string,
    route: Route,
    behaviour: Behaviour,
    path: string,
    version: 1 | 2,
    options: SendOptions & { paymentId?: string; fault?: FacilitatorFault; captureOnly?: boolean },
  ): Promise<Observation | undefined> {
    let index: number | undefined;
    const record = (headers: Headers): void => {
      const v2 = headers.get("PAYMENT-SIGNATURE");
      const v1 = headers.get("X-PAYMENT");
      const header: [string, string] | undefined = v2
        ? ["PAYMENT-SIGNATURE", v2]
        : v1
          ? ["X-PAYMENT", v1]
          : undefined;
      if (!header || index !== undefined) return;
      const parsed = parsePayment(header[1]);
      index = this.payments.length;
      this.payments.push({
        version,
        header,
        ...parsed,
        route,
        behaviour,
        method: options.method,
        path,
        body: options.body,
        paymentId: options.paymentId,
      });
    };
    let controller: AbortController | undefined;
    let abortFired = false;
    const base: typeof fetch = async (input, init) => {
      const request = new Request(input, { ...init, redirect: "manual" });
      record(request.headers);
      if (options.captureOnly && index !== undefined) {
        return new Response("captured", { status: 299 });
      }
      if (index !== undefined && options.abortAfterMs !== undefined) {
        controller = new AbortController();
        const signal = controller.signal;
        setTimeout(() => {
          abortFired = true;
          controller?.abort();
        }, options.abortAfterMs);
        return fetch(new Request(request, { signal }));
      }
      return fetch(request);
    };
    const client =
      version === 2
        ? payingFetchV2(
            this.payer.key,
            base,
            options.paymentId ? { paymentId: options.paymentId } : {},
          )
        : payingFetchV1(this.payer.key, this.harness.rpcUrl, base);
    this.setFault(options.fault);
    try {
      const init: RequestInit = {
        method: options.method,
        ...(options.body !== undefined && {
          body: options.body,
          headers: { "Content-Type": "application/json" },
        }),
      };
      const observed = await this.observe(
        { event, route, behaviour, path, method: options.method, body: options.body },
        () => client(`${this.harness.workerUrl}${path}`, init),
        options,
        () => controller?.abort(),
      );
      if (options.captureOnly) return undefined;
      observed.payment = index;
      observed.faulted = options.fault !== undefined;
      if (abortFired && observed.status === 0) observed.wentAway = "before-answer";
      if (options.firstChunkOnly && observed.delivered) observed.wentAway = "mid-stream";
      if (options.fault && index !== undefined) this.troubled.add(this.payments[index]!.key);
      this.observations.push(observed);
      return observed;
    } finally {
      this.setFault(undefined);
    }
  }

  /** Sends a payment again, as recorded or with another method, body or path. */
  async resend(
    event: string,
    index: number,
    change: { method?: string; body?: string | undefined; path?: string } = {},
    fault?: FacilitatorFault,
  ): Promise<Observation> {
    const payment = this.payments[index]!;
    const method = change.method ?? payment.method;
    const body = "body" in change ? change.body : payment.body;
    const path = change.path ?? payment.path;
    const headers: Record<string, string> = { [payment.header[0]]: payment.header[1] };
    if (body !== undefined && method !== "GET" && method !== "HEAD") {
      headers["Content-Type"] = "application/json";
    }
    this.setFault(fault);
    if (fault) this.troubled.add(payment.key);
    try {
      const observed = await this.observe(
        { event, route: payment.route, behaviour: payment.behaviour, path, method, body },
        () =>
          fetch(`${this.harness.workerUrl}${path}`, {
            method,
            headers,
            redirect: "manual",
            ...(body !== undefined && method !== "GET" && method !== "HEAD" && { body }),
          }),
        { method },
      );
      observed.payment = index;
      observed.faulted = fault !== undefined;
      this.observations.push(observed);
      return observed;
    } finally {
      this.setFault(undefined);
    }
  }

  /** Sends a plain request (a session token, a preflight) and records what it saw. */
  async plain(
    event: string,
    route: Route,
    behaviour: Behaviour,
    path: string,
    init: { method: string; headers: Record<string, string> },
    mark: { token?: boolean; preflight?: boolean },
  ): Promise<Observation> {
    const observed = await this.observe(
      { event, route, behaviour, path, method: init.method, body: undefined },
      () =>
        fetch(`${this.harness.workerUrl}${path}`, {
          method: init.method,
          headers: init.headers,
          redirect: "manual",
        }),
      { method: init.method },
    );
    Object.assign(observed, mark);
    this.observations.push(observed);
    return observed;
  }

  private async observe(
    what: Pick<Observation, "event" | "route" | "behaviour" | "path" | "method" | "body">,
    send: () => Promise<Response>,
    options: SendOptions,
    goAway: () => void = () => {},
  ): Promise<Observation> {
    const observed: Observation = {
      step: this.step,
      ...what,
      status: 0,
      code: undefined,
      paywallShaped: false,
      delivered: false,
      faulted: false,
      receipt: undefined,
      text: "",
    };
    try {
      const response = await send();
      observed.status = response.status;
      observed.receipt =
        response.headers.get("PAYMENT-RESPONSE") ??
        response.headers.get("X-PAYMENT-RESPONSE") ??
        undefined;
      const token = response.headers.get("PAYMENT-SESSION");
      if (token && response.ok) this.tokens.push(token);
      const firstOnly = options.firstChunkOnly === true && response.ok;
      const { text, broken } = await readBody(response, firstOnly ? 5000 : 8000, firstOnly);
      if (firstOnly) goAway();
      observed.broken = broken;
      observed.streamError = streamError(text);
      observed.text = text.slice(0, 300);
      observed.delivered =
        response.status >= 200 && response.status < 300 && text.includes(CONTENT_MARKER);
      const shape = paywallError(text);
      observed.paywallShaped = shape !== undefined;
      observed.code = shape;
    } catch (error) {
      observed.text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    }
    return observed;
  }
}

/** The paywall's JSON error code (src/paywall/responses.ts `errorResponse`), if `text` is one. */
function paywallError(text: string): string | undefined {
  try {
    const body = JSON.parse(text) as unknown;
    if (
      typeof body === "object" &&
      body !== null &&
      typeof (body as Record<string, unknown>)["error"] === "string" &&
      typeof (body as Record<string, unknown>)["message"] === "string"
    ) {
      return (body as Record<string, string>)["error"];
    }
  } catch {
    // not JSON
  }
  return undefined;
}

/** The error in a metered stream's closing `x402-payment-error` event, if it has one. */
function streamError(text: string): string | undefined {
  const data = /^event: x402-payment-error\r?\ndata: (.*)$/m.exec(text)?.[1];
  if (data === undefined) return undefined;
  try {
    const error = (JSON.parse(data) as { error?: unknown }).error;
    return typeof error === "string" ? error : "unreadable";
  } catch {
    return "unreadable";
  }
}

/** The replay key, EIP-3009 nonce and value of a payment header (V2 or V1, base64 JSON). */
function parsePayment(header: string): Pick<Payment, "key" | "nonce" | "value"> {
  const decoded = JSON.parse(Buffer.from(header, "base64").toString("utf8")) as {
    payload?: {
      authorization?: { nonce: string; value: string };
      permit2Authorization?: { nonce: string; permitted?: { amount?: string } };
    };
  };
  const auth = decoded.payload?.authorization;
  if (auth) {
    return { key: auth.nonce.toLowerCase(), nonce: auth.nonce as Hex, value: BigInt(auth.value) };
  }
  const permit = decoded.payload?.permit2Authorization;
  if (permit) {
    return {
      key: `permit2:${BigInt(permit.nonce).toString()}`,
      nonce: undefined,
      value: BigInt(permit.permitted?.amount ?? "0"),
    };
  }
  return { key: `unknown:${header.slice(-16)}`, nonce: undefined, value: 0n };
}

/**
 * What of a body reached the client within `ms` (all of it, or the first chunk): the text that
 * came, even when the rest is held or breaks, and whether it broke.
 */
async function readBody(
  response: Response,
  ms: number,
  firstOnly: boolean,
): Promise<{ text: string; broken: boolean }> {
  if (!response.body) return { text: "", broken: false };
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  const deadline = Date.now() + ms;
  let text = "";
  let broken = false;
  try {
    for (;;) {
      const next = await withTimeout(reader.read(), Math.max(0, deadline - Date.now()));
      if (next === undefined || next.done) break;
      text += decoder.decode(next.value, { stream: true });
      if (firstOnly) break;
    }
  } catch {
    broken = true;
  }
  await reader.cancel().catch(() => {});
  return { text, broken };
}

async function withTimeout<T>(work: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
