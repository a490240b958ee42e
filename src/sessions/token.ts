import { base64url, sha256Hex } from "../encoding";

/**
 * Session tokens: opaque bearer strings `x402s1.<object id>.<secret>`. The object id routes the
 * token to the payer's Durable Object in one hop (no lookup table); the 256-bit secret makes it
 * unguessable. Only the SHA-256 of the whole token is stored, so a storage leak reveals none.
 */

const PREFIX = "x402s1";
const TOKEN = /^x402s1\.([0-9a-f]{64})\.([A-Za-z0-9_-]{43})$/;

/** A token parsed far enough to route it: the Durable Object id it names. */
export interface ParsedToken {
  token: string;
  objectId: string;
}

/** A new token for the object with this id. */
export function newToken(objectId: string): string {
  const secret = new Uint8Array(32);
  crypto.getRandomValues(secret);
  return `${PREFIX}.${objectId}.${base64url(secret)}`;
}

/** Parses a token's syntax; undefined when it is not one of ours. */
export function parseToken(text: string): ParsedToken | undefined {
  const match = TOKEN.exec(text.trim());
  if (!match?.[1]) return undefined;
  return { token: match[0], objectId: match[1] };
}

/** The hex SHA-256 a token is stored under. */
export function hashToken(token: string): Promise<string> {
  return sha256Hex(token);
}
