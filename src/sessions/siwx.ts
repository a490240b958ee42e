import type { SIWxExtension } from "@x402/extensions/sign-in-with-x";
import * as z from "../zod";
import { parseBoundedJson } from "../bounded-json";
import { EVM_ADDRESS } from "../schemes/evm";
import { verifyPersonalSignature } from "./eth";
import { checkNonce, issueNonce } from "./nonce";
import { siweMessage } from "./siwe";

/**
 * Sign-in-with-x (CAIP-122 / SIWE, as `@x402/extensions` defines it) on session routes: the 402
 * declares the extension with a server-issued nonce, and a `SIGN-IN-WITH-X` proof is checked for
 * domain, URI, freshness, chain, our nonce (issued here, for this scope, unexpired) and the EOA
 * signature. Whether the signer holds a live entitlement, and that the nonce is used once, is the
 * session store's job.
 */

/** The request header carrying a SIWx proof. */
export const SIWX_HEADER = "SIGN-IN-WITH-X";
/** How long a sign-in challenge stays valid. */
export const SIWX_TTL_MS = 5 * 60_000;
const MAX_HEADER_BYTES = 8 * 1024;
/** Allowed difference between the client's clock and ours for `issuedAt`. */
const CLOCK_SKEW_MS = 60_000;

/** What a challenge is bound to: the request's origin, resource and scope. */
export interface SiwxContext {
  /** The request URL as the client sees it (its host is the SIWE domain). */
  url: URL;
  /** The resource URL the 402 is for. */
  resourceUrl: string;
  /** The route's payment network; proofs must be signed for this chain. */
  network: string;
  /** The session scope key the nonce is bound to. */
  scope: string;
  /** `SESSION_SECRET`, which keys the nonce MAC. */
  secret: string;
  statement: string;
  now?: number;
}

/** A proof that passed every check but the entitlement and single use. */
export type SiwxCheck =
  | { ok: true; address: string; nonce: string; nonceExpiresAt: number }
  | { ok: false; reason: string };

const line = z.string().check(z.maxLength(2048), z.regex(/^[^\n\r]*$/, "must be one line"));
/**
 * The proof's JSON (as `@x402/extensions` sends it): the challenge's fields, the signer's address
 * and signature.
 */
const ProofSchema = z.object({
  domain: line,
  address: z.string().check(z.regex(EVM_ADDRESS, "must be an EVM address")),
  statement: z.optional(line),
  uri: line,
  version: z.literal("1"),
  chainId: z.string().check(z.regex(/^eip155:\d{1,12}$/, "must be an eip155 chain id")),
  type: z.literal("eip191"),
  nonce: line,
  issuedAt: line,
  expirationTime: z.optional(line),
  notBefore: z.optional(line),
  requestId: z.optional(line),
  resources: z.optional(z.array(line).check(z.maxLength(16))),
  signatureScheme: z.optional(z.string()),
  signature: z.string().check(z.regex(/^0x[0-9a-fA-F]{130}$/, "must be a 65-byte hex signature")),
});

/** The `sign-in-with-x` extension for a 402, or undefined when the network is not EVM. */
export async function siwxChallenge(context: SiwxContext): Promise<SIWxExtension | undefined> {
  if (!context.network.startsWith("eip155:")) return undefined;
  const now = context.now ?? Date.now();
  const nonce = await issueNonce(context.secret, binding(context), SIWX_TTL_MS, now);
  return {
    info: {
      domain: context.url.host,
      uri: context.resourceUrl,
      version: "1",
      statement: context.statement,
      nonce,
      issuedAt: new Date(now).toISOString(),
      expirationTime: new Date(now + SIWX_TTL_MS).toISOString(),
      resources: [context.resourceUrl],
    },
    supportedChains: [{ chainId: context.network, type: "eip191" }],
    schema: PROOF_JSON_SCHEMA,
  };
}

/** Checks a `SIGN-IN-WITH-X` header; never throws. */
export async function checkSiwx(header: string, context: SiwxContext): Promise<SiwxCheck> {
  if (header.length > MAX_HEADER_BYTES) {
    return refuse(`the ${SIWX_HEADER} header is larger than ${MAX_HEADER_BYTES} bytes`);
  }
  const json = decodeJson(header.trim());
  if (!json.ok) return refuse(`the ${SIWX_HEADER} header ${json.reason}`);
  const parsed = ProofSchema.safeParse(json.value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.join(".") || "header";
    return refuse(
      `the ${SIWX_HEADER} header is not a valid proof: ${where}: ${issue?.message ?? "invalid"}`,
    );
  }
  const proof = parsed.data;
  const now = context.now ?? Date.now();
  if (proof.chainId !== context.network) {
    return refuse(`the proof is for chain ${proof.chainId}; this route accepts ${context.network}`);
  }
  if (proof.domain !== context.url.host) {
    return refuse(`the proof is for domain ${proof.domain}, not ${context.url.host}`);
  }
  if (originOf(proof.uri) !== context.url.origin) {
    return refuse(`the proof's URI ${proof.uri} is not on ${context.url.origin}`);
  }
  const issuedAt = Date.parse(proof.issuedAt);
  if (Number.isNaN(issuedAt)) return refuse("the proof's issuedAt is not a date");
  if (issuedAt > now + CLOCK_SKEW_MS) return refuse("the proof's issuedAt is in the future");
  if (now - issuedAt > SIWX_TTL_MS) return refuse("the proof is too old; sign a fresh challenge");
  if (proof.expirationTime !== undefined && !(Date.parse(proof.expirationTime) > now)) {
    return refuse("the proof has expired; sign a fresh challenge");
  }
  if (proof.notBefore !== undefined && !(Date.parse(proof.notBefore) <= now)) {
    return refuse("the proof is not valid yet (notBefore)");
  }
  const nonce = await checkNonce(context.secret, proof.nonce, binding(context), now);
  if (!nonce.ok) return nonce;

  let message: string;
  try {
    message = siweMessage({ ...proof, chainId: Number(proof.chainId.slice("eip155:".length)) });
  } catch {
    return refuse("the proof's address has an invalid EIP-55 checksum");
  }
  const valid = verifyPersonalSignature(proof.address, message, proof.signature);
  if (!valid) return refuse("the proof's signature was not made by its address");
  return { ok: true, address: proof.address, nonce: proof.nonce, nonceExpiresAt: nonce.expiresAt };
}

/** JSON Schema of the proof, declared in the challenge as x402 V2 extensions do. */
const PROOF_JSON_SCHEMA: SIWxExtension["schema"] = {
  $schema: "https://json-schema.org/draft/2020-12/schema",
  type: "object",
  properties: {
    domain: { type: "string" },
    address: { type: "string" },
    statement: { type: "string" },
    uri: { type: "string", format: "uri" },
    version: { type: "string" },
    chainId: { type: "string" },
    type: { type: "string" },
    nonce: { type: "string" },
    issuedAt: { type: "string", format: "date-time" },
    expirationTime: { type: "string", format: "date-time" },
    notBefore: { type: "string", format: "date-time" },
    requestId: { type: "string" },
    resources: { type: "array", items: { type: "string", format: "uri" } },
    signature: { type: "string" },
  },
  required: [
    "domain",
    "address",
    "uri",
    "version",
    "chainId",
    "type",
    "nonce",
    "issuedAt",
    "signature",
  ],
};

function refuse(reason: string): SiwxCheck {
  return { ok: false, reason };
}

const NOT_JSON = "is not base64 JSON";

/** The header's JSON, read within the header bounds (src/bounded-json.ts), or why not. */
function decodeJson(text: string): { ok: true; value: unknown } | { ok: false; reason: string } {
  let decoded: string;
  try {
    const normal = text.replace(/-/g, "+").replace(/_/g, "/");
    const bytes = Uint8Array.from(atob(normal), (c) => c.charCodeAt(0));
    decoded = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    return { ok: false, reason: NOT_JSON };
  }
  const json = parseBoundedJson(decoded);
  return json.ok || json.kind === "limit" ? json : { ok: false, reason: NOT_JSON };
}

function originOf(uri: string): string | undefined {
  try {
    return new URL(uri).origin;
  } catch {
    return undefined;
  }
}

function binding(context: SiwxContext): string {
  return `${context.url.host}\n${context.scope}`;
}
