import { base58Decode } from "../encoding";
import type { ChainFamily } from "./types";

/**
 * Solana (CAIP-2 namespace `solana`, the genesis hash prefix naming the cluster): addresses are
 * 32-byte public keys in Base58, which is case-sensitive, so they are kept as written. USDC mints
 * as x402's `@x402/svm` names them.
 */

/** A Solana address's spelling: Base58, 32 to 44 characters (`isAddress` also checks 32 bytes). */
export const SOLANA_ADDRESS = /^[1-9A-HJ-NP-Za-km-z]{32,44}$/;

/** The Solana chain family. */
export const solana: ChainFamily = {
  namespace: "solana",
  isAddress: (value) => SOLANA_ADDRESS.test(value) && base58Decode(value)?.length === 32,
  addressHint: "a Base58 public key (32 bytes)",
  fold: (address) => address,
  networks: {
    "solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp": {
      label: "Solana",
      usdc: { address: "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v", decimals: 6 },
    },
    "solana:EtWTRABZaYq6iMfeYKouRu166VU2xqa1": {
      label: "Solana Devnet",
      usdc: { address: "4zMMC9srt5Ri5X14GAgXhaHii3GnPAEERYPJgZJDncDU", decimals: 6 },
    },
  },
};
