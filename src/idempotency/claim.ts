import { sha256Hex } from "../encoding";
import { schemeFor } from "../schemes";
import type { Claim } from "./store";

/**
 * What identifies a payment for the at-most-once lock, read from a prepared payment: the payer (the
 * Durable Object it lives in), the asset and the scheme's replay key (an EIP-3009 nonce, a Permit2
 * nonce, a Solana signature: what the chain lets move money once, src/schemes), a hash of the whole
 * payload, and the client's optional `payment-identifier` (x402
 * specs/extensions/payment_identifier.md: 16–128 characters of `[A-Za-z0-9_-]`).
 */

/** The `extensions` key of the payment-identifier extension. */
export const PAYMENT_IDENTIFIER = "payment-identifier";
const PAYMENT_ID = /^[A-Za-z0-9_-]{16,128}$/;
/** An authorization valid for longer than this is remembered only this long. */
const MAX_VALIDITY_MS = 7 * 24 * 3600_000;

/** A payment's lock identity, or why it cannot have one (a 400). */
export type PaymentIdentity =
  { ok: true; payer: string; claim: Claim } | { ok: false; reason: string };

/** The parts of a prepared payment the identity is read from. */
export interface PaymentFacts {
  /** The payment payload as decoded from the header (V1 or V2). */
  paymentPayload: unknown;
  /** The scheme, network and asset of the offer the payment matched. */
  scheme: string;
  network: string;
  asset: string;
  /** What the payment buys, as the lock compares it (store.ts `Claim.resource`). */
  resource: string;
  /** Whether the rule requires a payment id. */
  paymentIdRequired: boolean;
}

/** Reads a payment's identity; never throws. */
export async function paymentIdentity(
  facts: PaymentFacts,
  now = Date.now(),
): Promise<PaymentIdentity> {
  const payload = record(facts.paymentPayload);
  const scheme = schemeFor(facts.scheme, facts.network);
  if (!scheme) return { ok: false, reason: `the ${facts.scheme} scheme is not accepted here` };
  const read = scheme.identity(record(payload["payload"]));
  if (!read.ok) return read;
  const who = read.identity;
  const id = paymentIdOf(payload);
  if (id.type === "invalid") return { ok: false, reason: id.reason };
  if (id.type === "none" && facts.paymentIdRequired) {
    return {
      ok: false,
      reason: `this route requires a ${PAYMENT_IDENTIFIER} (extensions["${PAYMENT_IDENTIFIER}"].info.id)`,
    };
  }
  const validUntil =
    who.validUntil !== undefined
      ? Math.min(who.validUntil * 1000, now + MAX_VALIDITY_MS)
      : now + MAX_VALIDITY_MS;
  return {
    ok: true,
    payer: who.payer,
    claim: {
      key: `${facts.asset.toLowerCase()}|${who.replayKey}`,
      payloadHash: await sha256Hex(stableJson(facts.paymentPayload)),
      paymentId: id.type === "id" ? id.id : undefined,
      resource: facts.resource,
      validUntil,
    },
  };
}

/** The `payment-identifier` id a V2 payload carries. */
export function paymentIdOf(
  payload: Record<string, unknown>,
): { type: "id"; id: string } | { type: "none" } | { type: "invalid"; reason: string } {
  const extension = record(payload["extensions"])[PAYMENT_IDENTIFIER];
  if (extension === undefined) return { type: "none" };
  const id = record(record(extension)["info"])["id"];
  if (id === undefined) return { type: "none" };
  if (typeof id !== "string" || !PAYMENT_ID.test(id)) {
    return {
      type: "invalid",
      reason: `the ${PAYMENT_IDENTIFIER} id must be 16 to 128 characters of A-Z a-z 0-9 _ -`,
    };
  }
  return { type: "id", id };
}

/**
 * The extension a 402 declares so clients can send a payment id (x402
 * specs/extensions/payment_identifier.md).
 */
export function paymentIdentifierDeclaration(required: boolean): Record<string, unknown> {
  return required ? REQUIRED : OPTIONAL;
}

function declaration(required: boolean): Record<string, unknown> {
  return {
    info: { required },
    schema: {
      $schema: "https://json-schema.org/draft/2020-12/schema",
      type: "object",
      properties: {
        required: { type: "boolean" },
        id: { type: "string", minLength: 16, maxLength: 128, pattern: "^[a-zA-Z0-9_-]+$" },
      },
      required: ["required"],
    },
  };
}
const REQUIRED = declaration(true);
const OPTIONAL = declaration(false);

/** JSON with object keys sorted, so the same payload hashes the same however it was spelled. */
export function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(",")}]`;
  if (typeof value === "object" && value !== null) {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}

function record(value: unknown): Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};
}
