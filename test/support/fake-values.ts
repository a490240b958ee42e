/** Values the fake facilitator (fakes.ts) lists, shared with the workerd tests that expect them. */

/** The fake facilitator's settling address for `upto` (it lists it in `/supported`). */
export const FAKE_UPTO_FACILITATOR = "0x90F79bf6EB2c4f870365E785982E1f101E93b906";
/** The fake facilitator's Solana fee payer (it lists it in `/supported`). */
export const FAKE_FEE_PAYER = "GC41g4keQs9yKM8K18dwUXRWEGRPJyrUCxV3TMsc2asH";
