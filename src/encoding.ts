/**
 * Byte encodings and the hash the paywall uses in several places (stored token hashes, payment
 * payload hashes, price-table revision hashes, HMACs), written once.
 */

/** Lower-case hex of bytes. */
export function hex(bytes: ArrayBuffer | Uint8Array): string {
  const view = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  let out = "";
  for (const byte of view) out += byte.toString(16).padStart(2, "0");
  return out;
}

/** Lower-case hex SHA-256 of a text's UTF-8 bytes (WebCrypto). */
export async function sha256Hex(text: string): Promise<string> {
  return hex(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
}

/** Standard base64 of bytes, with padding (RFC 4648 §4; RFC 8941 byte sequences). */
export function base64(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}

/** Base64url without padding (RFC 7515 §2). */
export function base64url(bytes: Uint8Array): string {
  return base64(bytes).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

const BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

/** Bytes of a Base58 (Bitcoin alphabet) text, or undefined when it is not Base58. */
export function base58Decode(text: string): Uint8Array | undefined {
  let value = 0n;
  for (const char of text) {
    const digit = BASE58.indexOf(char);
    if (digit < 0) return undefined;
    value = value * 58n + BigInt(digit);
  }
  const body: number[] = [];
  for (; value > 0n; value >>= 8n) body.unshift(Number(value & 0xffn));
  let zeros = 0;
  while (text[zeros] === "1") zeros += 1;
  return Uint8Array.from([...new Array<number>(zeros).fill(0), ...body]);
}

/** Base58 (Bitcoin alphabet) of bytes, as Solana writes addresses and signatures. */
export function base58Encode(bytes: Uint8Array): string {
  let value = 0n;
  for (const byte of bytes) value = (value << 8n) | BigInt(byte);
  let out = "";
  for (; value > 0n; value /= 58n) out = BASE58.charAt(Number(value % 58n)) + out;
  for (const byte of bytes) {
    if (byte !== 0) break;
    out = "1" + out;
  }
  return out;
}

/** Bytes of standard or URL-safe Base64 (padding optional), or undefined when it is not Base64. */
export function base64Decode(text: string): Uint8Array | undefined {
  if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(text)) return undefined;
  try {
    const binary = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
    return Uint8Array.from(binary, (char) => char.charCodeAt(0));
  } catch {
    return undefined;
  }
}

// eslint-disable-next-line no-control-regex -- the whole range outside ASCII is the point
const NON_ASCII = /[^\u0000-\u007f]/;

/**
 * Standard base64 of a text's UTF-8 bytes, as x402 headers carry JSON. Same output as
 * `@x402/core`'s `safeBase64Encode`, which builds a string per byte (tens of µs per header in
 * workerd); ASCII text, the usual case, goes to `btoa` as it is.
 */
export function base64Text(text: string): string {
  if (!NON_ASCII.test(text)) return btoa(text);
  let binary = "";
  for (const byte of new TextEncoder().encode(text)) binary += String.fromCharCode(byte);
  return btoa(binary);
}
