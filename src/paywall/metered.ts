import type { FacilitatorRequest } from "../payments";
import { meteredCharge } from "../pricing";
import type { Metered } from "../pricing";
import { keepPrivate } from "./cache-control";
import { holdBody } from "./answers";
import { settledOf } from "./paid-request";
import type { PayResult, Settled } from "./paid-request";
import { settleOnce } from "./settle-once";
import type { SettleContext, Settlement } from "./settle-once";

/**
 * The parts of a metered (`upto`) payment that are not the usual paid step: asking the
 * facilitator to settle the used amount rather than the signed maximum, and watching a
 * Server-Sent-Events body for the usage its last events report, so the amount can be settled
 * once the stream has ended (src/pricing/metered.ts says which rules do which).
 *
 * On a stream rule the client often chooses whether the origin streams (OpenAI-style
 * `stream: false`): an answer that is not an event stream is read (up to `MAX_USAGE_BODY`) for
 * the usage at the same JSON path and settled before any of it goes out. Content that goes out
 * is always charged: the reported usage, else the maximum signed for.
 */

/** The facilitator request that settles `amount` of a verified upto payment. */
export function settleAmount(request: FacilitatorRequest, amount: string): FacilitatorRequest {
  const requirements = request.paymentRequirements as Record<string, unknown>;
  return { ...request, paymentRequirements: { ...requirements, amount } };
}

/** The SSE event a metered stream ends with when its usage settled: the receipt as JSON. */
export const SETTLEMENT_EVENT = "x402-payment-response";
/** The SSE event a metered stream ends with when nothing was settled, and why. */
export const SETTLEMENT_ERROR_EVENT = "x402-payment-error";
/** Set on metered streams settled once their body has ended (no `PAYMENT-RESPONSE` header). */
export const SETTLED_AFTER_HEADER = "x402-settled-after";

/** How a metered stream's end was settled. */
export type StreamSettlement = Settlement;

/**
 * The origin's streamed answer, passed on as it comes, settled when it ends
 * (`settle.ended` with the last usage reported) and closed with one event saying how.
 */
export function meteredStreamResponse(
  origin: Response,
  path: readonly string[],
  settle: { ended(reported: string | undefined): Promise<StreamSettlement>; cut: StreamEnd["cut"] },
): Response {
  const body = origin.body ?? new ReadableStream<Uint8Array>({ start: (c) => c.close() });
  const stream = meterStream(body, path, {
    ended: async (reported) => {
      const outcome = await settle.ended(reported);
      if (outcome.type === "settled") return sseEvent(SETTLEMENT_EVENT, outcome.receipt);
      const error = {
        pending: "payment_pending",
        failed: "settlement_failed",
        unpaid: "settlement_failed",
      }[outcome.type];
      console.error(`a metered stream ended unsettled (${error}):`, outcome.reason);
      return sseEvent(SETTLEMENT_ERROR_EVENT, {
        error,
        message: `${outcome.reason}; ${outcome.type === "pending" ? "send the same payment again to resolve it" : "nothing was charged"}`,
      });
    },
    cut: settle.cut,
  });
  const headers = new Headers(origin.headers);
  headers.set("Cache-Control", "private, no-store");
  keepPrivate(headers);
  headers.set(SETTLED_AFTER_HEADER, "body");
  return new Response(stream, { status: origin.status, statusText: origin.statusText, headers });
}

/** A verified payment whose metered stream is about to go out. */
export interface StreamPayment {
  ctx: SettleContext;
  mode: "fresh" | "pending";
  metered: Metered;
  /** The usage path in the stream's events. */
  path: readonly string[];
  /** The verified facilitator request, for the signed maximum. */
  request: FacilitatorRequest;
  /** The maximum signed for (the offer's amount). */
  max: string;
  payer: string | undefined;
  /**
   * What an earlier settlement of this (pending) payment asked for: the permit moves once, so
   * the stream's end settles exactly that, whatever usage it reports.
   */
  owed?: string | undefined;
  /** Lets the payment go, nothing charged (released, or kept pending). */
  giveUp(): Promise<unknown>;
}

/**
 * The paid step's result for a metered stream: the usage is known when the stream ends, so the
 * body goes out first and is settled then (src/pricing/metered.ts). `record` (the flow's
 * record-settlement step) runs on that settlement: the one hook of the paid path, as this
 * settlement happens after the paid step has answered.
 */
export function settledAtEnd(origin: Response, payment: StreamPayment): PayResult {
  const { ctx, mode, metered, max, payer, owed } = payment;
  const settle = (used: string) => {
    const amount = owed ?? used;
    return settleOnce(ctx, mode, settleAmount(payment.request, amount), {
      charged: amount,
      payer,
      served: true,
    });
  };
  return {
    type: "stream",
    open: (record: (settled: Settled) => Promise<void>) =>
      meteredStreamResponse(origin, payment.path, {
        ended: async (reported) => {
          // The whole stream went out: its usage is charged, the maximum if it reported none.
          const charge = meteredCharge(metered, reported, max);
          const outcome = await settle(charge.ok ? charge.amount : max);
          if (outcome.type === "settled") await record(settledOf(outcome, payer));
          return outcome;
        },
        cut: async ({ by, reported, delivered }) => {
          // Content went out: the usage seen so far is charged, and a client that leaves before
          // any usage is reported is charged the maximum it signed for (else leaving early would
          // read streams free, the permit still good for another). Nothing went out, or the
          // origin broke before reporting any: nothing is charged.
          const charge = meteredCharge(metered, reported, max);
          const amount = charge.ok ? charge.amount : by === "client" && delivered ? max : undefined;
          if (amount === undefined) {
            await payment.giveUp();
            return;
          }
          const work = settle(amount).then(async (outcome) => {
            if (outcome.type !== "settled") {
              console.error("a cut metered stream was not settled:", outcome.reason);
              return;
            }
            await record(settledOf(outcome, payer));
          });
          // The client is gone: the settlement goes on after the request when it can.
          if (ctx.defer) ctx.defer(work);
          else await work;
        },
      }),
  };
}

/** An SSE event carrying JSON. */
function sseEvent(event: string, data: unknown): string {
  return `\nevent: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

/** The longest SSE line watched for usage; longer lines pass through unread. */
const MAX_LINE = 1 << 20;

/** What happens when a metered stream ends, or is cut before its end. */
export interface StreamEnd {
  /** The stream ended: settle what `reported` costs; returns text to append (an SSE event). */
  ended(reported: string | undefined): Promise<string | undefined>;
  /**
   * The client left, or the origin's body broke, before the end. `reported` is the last usage
   * seen so far; `delivered` says whether any of the body went out.
   */
  cut(cut: {
    by: "client" | "origin";
    reported: string | undefined;
    delivered: boolean;
  }): Promise<void>;
}

/**
 * Passes `body` through unchanged while reading the `data:` JSON events for the field at
 * `path` (the last value seen counts), then appends what `end.ended` returns before closing.
 */
export function meterStream(
  body: ReadableStream<Uint8Array>,
  path: readonly string[],
  end: StreamEnd,
): ReadableStream<Uint8Array> {
  const decoder = new TextDecoder();
  const encoder = new TextEncoder();
  // Lines without the field's last key are never parsed (most events of a token stream).
  const needle = `"${path[path.length - 1] ?? ""}"`;
  let line = "";
  let reported: string | undefined;
  let delivered = false;
  // Whichever comes first, the end or a cut, settles: never both.
  let over = false;
  const watch = (text: string) => {
    line += text;
    const newline = /\r\n|\r|\n/g;
    let start = 0;
    for (let found = newline.exec(line); found; found = newline.exec(line)) {
      const one = line.slice(start, found.index);
      if (one.includes(needle)) reported = usageIn(one, path) ?? reported;
      start = found.index + found[0].length;
    }
    line = line.slice(start);
    if (line.length > MAX_LINE) line = "";
  };
  const reader = body.getReader();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      let chunk: ReadableStreamReadResult<Uint8Array>;
      try {
        chunk = await reader.read();
      } catch (error) {
        if (over) return;
        over = true;
        await end.cut({ by: "origin", reported, delivered });
        controller.error(error);
        return;
      }
      if (over) return;
      if (!chunk.done) {
        watch(decoder.decode(chunk.value, { stream: true }));
        controller.enqueue(chunk.value);
        delivered = true;
        return;
      }
      watch(decoder.decode() + "\n");
      over = true;
      const tail = await end.ended(reported);
      if (tail) controller.enqueue(encoder.encode(tail));
      controller.close();
    },
    async cancel(reason) {
      if (over) return;
      over = true;
      await reader.cancel(reason).catch(() => undefined);
      await end.cut({ by: "client", reported, delivered });
    },
  });
}

/** The usage a `data:` line reports at `path`, as a decimal string, if it reports one. */
export function usageIn(line: string, path: readonly string[]): string | undefined {
  if (!line.startsWith("data:")) return undefined;
  const data = line.slice(5).trim();
  if (!data.startsWith("{")) return undefined;
  return usageInJson(data, path);
}

/** The usage a JSON text reports at `path`, as a decimal string, if it reports one. */
export function usageInJson(text: string, path: readonly string[]): string | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  for (const key of path) {
    if (typeof value !== "object" || value === null || Array.isArray(value)) return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  if (typeof value === "number" && Number.isSafeInteger(value) && value >= 0) return String(value);
  if (typeof value === "string" && /^\d{1,18}$/.test(value)) return value;
  return undefined;
}

/** Whether an answer is a Server-Sent-Events stream (by its media type). */
export function isEventStream(headers: Headers): boolean {
  const type = headers.get("Content-Type") ?? "";
  return type.split(";")[0]!.trim().toLowerCase() === "text/event-stream";
}

/** The most of a non-stream answer read for its usage; a longer one is charged the maximum. */
export const MAX_USAGE_BODY = 1 << 20;

/** A non-stream answer on a stream rule, held back until it is settled. */
export type HeldAnswer =
  /** `response` carries the whole answer (read again from memory, or the rest streamed on). */
  | { type: "held"; response: Response; reported: string | undefined }
  /** The origin's body broke before it was read: nothing went out. */
  | { type: "broken"; reason: string };

/**
 * Reads a non-stream answer (up to `MAX_USAGE_BODY`) for the usage it reports at `path`, and
 * returns it whole and unsent. An answer longer than that reports no usage here; its first
 * `MAX_USAGE_BODY` bytes are held and the rest streams on once it is released.
 */
export async function holdAnswer(origin: Response, path: readonly string[]): Promise<HeldAnswer> {
  const held = await holdBody(origin, MAX_USAGE_BODY);
  if (held.type === "broken") return held;
  const reported = held.whole ? usageInJson(new TextDecoder().decode(held.whole), path) : undefined;
  return { type: "held", response: held.response, reported };
}
