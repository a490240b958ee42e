import { EVM_ADDRESS, NO_DOMAIN } from "./evm";
import { fields } from "./types";
import type { SchemeModule } from "./types";

/**
 * `exact` on EVM chains with EIP-3009 (x402 specs/schemes/exact/scheme_exact_evm.md): the payload
 * is a signed `transferWithAuthorization` for exactly the price to the payee; its random 32-byte
 * nonce is what the token lets move money once.
 */

const NONCE = /^0x[0-9a-fA-F]{64}$/;

/** The `exact` EVM scheme. */
export const exactEvm: SchemeModule = {
  scheme: "exact",
  namespace: "eip155",
  v1: true,
  facilitatorExtra: [],
  offerExtra(token) {
    if (!token.eip712) return { ok: false, reason: NO_DOMAIN };
    return { ok: true, extra: { name: token.eip712.name, version: token.eip712.version } };
  },
  check(payload, offered) {
    const authorization = payload["authorization"];
    if (typeof authorization !== "object" || authorization === null) {
      return "payload.authorization is missing";
    }
    const { to, value } = authorization as { to?: unknown; value?: unknown };
    if (typeof to !== "string" || to.toLowerCase() !== offered.payTo.toLowerCase()) {
      return "payload.authorization.to is not this resource's payTo";
    }
    if (typeof value !== "string" || value !== offered.amount) {
      return "payload.authorization.value is not this resource's price";
    }
    if (typeof payload["signature"] !== "string") return "payload.signature is missing";
    return undefined;
  },
  identity(payload) {
    const authorization = fields(payload["authorization"]);
    const from = authorization["from"];
    const nonce = authorization["nonce"];
    if (typeof from !== "string" || !EVM_ADDRESS.test(from)) {
      return { ok: false, reason: "the payment's authorization has no valid from address" };
    }
    if (typeof nonce !== "string" || !NONCE.test(nonce)) {
      return { ok: false, reason: "the payment's authorization has no 32-byte hex nonce" };
    }
    const validBefore = Number(authorization["validBefore"]);
    const identity = {
      payer: from.toLowerCase(),
      replayKey: nonce.toLowerCase(),
      ...(Number.isFinite(validBefore) && { validUntil: validBefore }),
    };
    return { ok: true, identity };
  },
};
