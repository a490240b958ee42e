import { recoverPublicKey } from "@noble/secp256k1";
import { keccak_256 } from "@noble/hashes/sha3";
import { hex } from "../encoding";
import { EVM_ADDRESS } from "../schemes/evm";

/**
 * The little Ethereum account cryptography sign-in needs, on noble's primitives: EIP-55 address
 * spelling, and recovering who signed a text with `personal_sign` (EIP-191). Smart-contract
 * wallets (ERC-1271, ERC-6492) would need a chain to ask and are not accepted.
 *
 * Keccak-256 is `@noble/hashes` (audited). Recovery is `@noble/secp256k1`, the single-file
 * secp256k1 of the same family (a rewrite of the audited v1, cross-tested against the audited
 * `@noble/curves`): about 5 KB gzip where `@noble/curves` costs 11 KB plus SHA-256 and HMAC it
 * only needs for signing, which a Worker never does. WebCrypto has no secp256k1. Recovery only
 * reads public values, so constant time is not at stake; test/unit/sessions/eth.test.ts checks
 * it against viem (on `@noble/curves`) for random keys and messages.
 */

const SIGNATURE = /^0x[0-9a-fA-F]{130}$/;
const encoder = new TextEncoder();

/** The EIP-55 checksummed spelling of an address; throws on anything that is not one. */
export function checksumAddress(address: string): string {
  if (!EVM_ADDRESS.test(address)) throw new TypeError(`not an address: ${address.slice(0, 50)}`);
  const lower = address.slice(2).toLowerCase();
  const hash = hex(keccak_256(encoder.encode(lower)));
  let out = "0x";
  for (let i = 0; i < 40; i++) {
    const char = lower.charAt(i);
    out += parseInt(hash.charAt(i), 16) >= 8 ? char.toUpperCase() : char;
  }
  return out;
}

/** The EIP-191 (version 0x45) hash `personal_sign` signs for a text. */
export function personalMessageHash(message: string): Uint8Array {
  const body = encoder.encode(message);
  const prefix = encoder.encode(`\x19Ethereum Signed Message:\n${body.length}`);
  const data = new Uint8Array(prefix.length + body.length);
  data.set(prefix);
  data.set(body, prefix.length);
  return keccak_256(data);
}

/** The checksummed address that signed `message` with `personal_sign`, or undefined. */
export function recoverPersonalSigner(message: string, signature: string): string | undefined {
  if (!SIGNATURE.test(signature)) return undefined;
  const bytes = Uint8Array.from(signature.slice(2).match(/../g) ?? [], (h) => parseInt(h, 16));
  const v = bytes[64] ?? 0;
  const recovery = v >= 27 ? v - 27 : v;
  if (recovery !== 0 && recovery !== 1) return undefined;
  // The library's "recovered" format puts the recovery id first, then r and s.
  const recovered = new Uint8Array(65);
  recovered[0] = recovery;
  recovered.set(bytes.subarray(0, 64), 1);
  try {
    const point = recoverPublicKey(recovered, personalMessageHash(message), {
      prehash: false,
      isCompressed: false,
    });
    const key = point.subarray(1);
    return checksumAddress(`0x${hex(keccak_256(key).subarray(12))}`);
  } catch {
    return undefined;
  }
}

/** True when `signature` is `address`'s `personal_sign` of `message`. */
export function verifyPersonalSignature(
  address: string,
  message: string,
  signature: string,
): boolean {
  const signer = recoverPersonalSigner(message, signature);
  return signer !== undefined && signer.toLowerCase() === address.toLowerCase();
}
