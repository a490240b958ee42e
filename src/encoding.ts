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

/** Base64url without padding (RFC 7515 §2). */
export function base64url(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
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
