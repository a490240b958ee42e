import { hex } from "../encoding";

/**
 * Server-issued SIWx nonces that need no storage until used: `<expiry><random><HMAC>` in hex
 * (SIWE nonces must be alphanumeric). The HMAC, keyed by `SESSION_SECRET`, binds the nonce to its
 * expiry and to the scope it was issued for, so a nonce the paywall never issued, an expired one,
 * or one issued for another route is refused before any storage is touched. Single use is
 * enforced where it is redeemed (the payer's Durable Object records it until it expires).
 */

const NONCE = /^([0-9a-f]{8})([0-9a-f]{24})([0-9a-f]{64})$/;
const encoder = new TextEncoder();
/**
 * Imported HMAC keys by secret. The keys themselves are kept, never the import's promise: in
 * workerd a request must not await a promise another request created (it can hang if that
 * request ends first).
 */
const keys = new Map<string, CryptoKey>();

/** A checked nonce: when it stops being valid (ms since epoch). */
export type NonceCheck = { ok: true; expiresAt: number } | { ok: false; reason: string };

/** Issues a nonce valid for `ttlMs`, bound to `binding` (e.g. host and scope). */
export async function issueNonce(
  secret: string,
  binding: string,
  ttlMs: number,
  now = Date.now(),
): Promise<string> {
  const expiry = Math.ceil((now + ttlMs) / 1000)
    .toString(16)
    .padStart(8, "0");
  const random = new Uint8Array(12);
  crypto.getRandomValues(random);
  const body = expiry + hex(random);
  const mac = await crypto.subtle.sign("HMAC", await keyFor(secret), message(body, binding));
  return body + hex(new Uint8Array(mac));
}

/** Checks that the paywall issued `nonce` for `binding` and that it has not expired. */
export async function checkNonce(
  secret: string,
  nonce: string,
  binding: string,
  now = Date.now(),
): Promise<NonceCheck> {
  const match = NONCE.exec(nonce);
  if (!match?.[1] || !match[2] || !match[3]) {
    return { ok: false, reason: "the nonce was not issued by this paywall" };
  }
  const body = match[1] + match[2];
  const valid = await crypto.subtle.verify(
    "HMAC",
    await keyFor(secret),
    fromHex(match[3]),
    message(body, binding),
  );
  if (!valid) {
    return { ok: false, reason: "the nonce was not issued by this paywall for this resource" };
  }
  const expiresAt = parseInt(match[1], 16) * 1000;
  if (expiresAt <= now) return { ok: false, reason: "the nonce has expired; sign a fresh one" };
  return { ok: true, expiresAt };
}

function message(body: string, binding: string): Uint8Array {
  return encoder.encode(`x402-siwx-nonce\n${body}\n${binding}`);
}

async function keyFor(secret: string): Promise<CryptoKey> {
  const known = keys.get(secret);
  if (known) return known;
  const key = await crypto.subtle.importKey(
    "raw",
    encoder.encode(secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign", "verify"],
  );
  if (keys.size > 16) keys.clear();
  keys.set(secret, key);
  return key;
}

function fromHex(hex: string): Uint8Array {
  const bytes = new Uint8Array(hex.length / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return bytes;
}
