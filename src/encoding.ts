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
