import { EVM_ADDRESS, NO_DOMAIN } from "./evm";
import { fields } from "./types";
import type { SchemeModule } from "./types";

/**
 * `upto` on EVM chains (metered use): the payer signs a Permit2 `PermitWitnessTransferFrom` for
 * a maximum, witnessed to the payee and to one facilitator, which may later move any amount up
 * to that maximum through x402's upto proxy. The Permit2 nonce is what moves money once. The
 * facilitator's address comes from its `/supported` listing (`extra.facilitatorAddress`).
 */

const UINT = /^\d{1,78}$/;
/** x402's upto Permit2 proxy, the `spender` every upto permit names (`@x402/evm` constants). */
export const UPTO_PROXY = "0x4020A4f3b7b90ccA423B9fabCc0CE57C6C240002";

function same(a: unknown, b: unknown): boolean {
  return typeof a === "string" && typeof b === "string" && a.toLowerCase() === b.toLowerCase();
}

/** The `upto` EVM scheme. */
export const uptoEvm: SchemeModule = {
  scheme: "upto",
  namespace: "eip155",
  v1: false,
  facilitatorExtra: ["facilitatorAddress"],
  offerExtra(token) {
    if (!token.eip712) return { ok: false, reason: NO_DOMAIN };
    return { ok: true, extra: { ...token.eip712, assetTransferMethod: "permit2" } };
  },
  check(payload, offered) {
    const permit = fields(payload["permit2Authorization"]);
    if (Object.keys(permit).length === 0) return "payload.permit2Authorization is missing";
    const permitted = fields(permit["permitted"]);
    const witness = fields(permit["witness"]);
    if (!same(permitted["token"], offered.asset)) {
      return "payload.permit2Authorization.permitted.token is not this resource's asset";
    }
    if (permitted["amount"] !== offered.amount) {
      return "payload.permit2Authorization.permitted.amount is not this resource's maximum";
    }
    if (!same(permit["spender"], UPTO_PROXY)) {
      return "payload.permit2Authorization.spender is not x402's upto proxy";
    }
    if (!same(witness["to"], offered.payTo)) {
      return "payload.permit2Authorization.witness.to is not this resource's payTo";
    }
    if (!same(witness["facilitator"], offered.extra["facilitatorAddress"])) {
      return "payload.permit2Authorization.witness.facilitator is not the offered facilitator";
    }
    if (typeof payload["signature"] !== "string") return "payload.signature is missing";
    return undefined;
  },
  identity(payload) {
    const permit = fields(payload["permit2Authorization"]);
    const from = permit["from"];
    const nonce = permit["nonce"];
    if (typeof from !== "string" || !EVM_ADDRESS.test(from)) {
      return { ok: false, reason: "the payment's permit has no valid from address" };
    }
    if (typeof nonce !== "string" || !UINT.test(nonce)) {
      return { ok: false, reason: "the payment's permit has no decimal nonce" };
    }
    const deadline = Number(permit["deadline"]);
    const identity = {
      payer: from.toLowerCase(),
      replayKey: `permit2:${BigInt(nonce).toString()}`,
      ...(Number.isFinite(deadline) && { validUntil: deadline }),
    };
    return { ok: true, identity };
  },
};
