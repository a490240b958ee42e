import * as z from "../zod";
import { atomicToUsd, defaultUsdc, usdToAtomic } from "./assets";

/**
 * Metered rules (x402's `upto` scheme): the client signs for at most the rule's `price`, the
 * origin reports how much it used, and the paywall settles the used units times `unitPrice`,
 * never more than the maximum. Usage comes either in a response header, read before any body
 * byte is released (settled before the body), or as a field of the JSON `data:` events of a
 * Server-Sent-Events body (the usage is known only at the end: settled after the body ends).
 * On an `sse` rule an answer that is not an event stream is read for the same field of its JSON
 * body and settled before it is released. Content that went out is never free: an answer that
 * reports no usage by its end is charged the maximum (a header rule withholds it instead).
 */

const usd = z.string().check(z.regex(/^\$\d+(\.\d+)?$/, 'must look like "$0.0001"'));
const HEADER = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}$/;
const FIELD_PATH = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*){0,7}$/;

export const MeteredSchema = z.strictObject({
  /** What one unit of use costs, in US dollars of the rule's USDC. */
  unitPrice: usd,
  /** Where the origin reports the units it used. */
  usage: z.union([
    z.strictObject({
      header: z.string().check(z.regex(HEADER, "must be an HTTP header name")),
    }),
    z.strictObject({
      sse: z
        .string()
        .check(z.regex(FIELD_PATH, 'must be a dotted JSON field, e.g. "usage.total_tokens"')),
    }),
  ]),
});

/** A rule's `metered` as written in the table. */
export type MeteredConfig = z.infer<typeof MeteredSchema>;

/** A metered rule, resolved: the unit price in atomic units and where usage is read. */
export interface Metered {
  unitAmount: bigint;
  decimals: number;
  unitPriceText: string;
  usage: { header: string } | { sse: readonly string[] };
}

/** Resolves `metered` on `network`'s USDC, or says why it cannot be. */
export function resolveMetered(config: MeteredConfig, network: string): Metered | string {
  const usdc = defaultUsdc(network);
  if (!usdc) return `metered needs a network with a known USDC; ${network} has none`;
  const unit = usdToAtomic(config.unitPrice, usdc.decimals);
  if (!unit.ok) return `metered.unitPrice: ${unit.reason}`;
  return {
    unitAmount: BigInt(unit.amount),
    decimals: usdc.decimals,
    unitPriceText: config.unitPrice,
    usage:
      "header" in config.usage
        ? { header: config.usage.header.toLowerCase() }
        : { sse: config.usage.sse.split(".") },
  };
}

/** What a reported usage costs: units × unit price, never above `max` (atomic units). */
export function meteredCharge(
  metered: Metered,
  reported: string | undefined,
  max: string,
):
  | { ok: true; amount: string; units: string; capped: boolean; display: string }
  | { ok: false; reason: string } {
  const text = reported?.trim();
  if (text === undefined || text === "")
    return { ok: false, reason: "the origin reported no usage" };
  if (!/^\d{1,18}$/.test(text)) {
    return {
      ok: false,
      reason: `the origin's usage "${text.slice(0, 40)}" is not a whole number of units`,
    };
  }
  const cost = BigInt(text) * metered.unitAmount;
  const cap = BigInt(max);
  const amount = cost > cap ? cap : cost;
  return {
    ok: true,
    amount: amount.toString(),
    units: text,
    capped: cost > cap,
    display: atomicToUsd(amount.toString(), metered.decimals),
  };
}
