export { PaymentLocks, STALE_CLAIM_MS, KEEP_SETTLED_MS, sameResource } from "./store";
export type { Claim, ClaimResult, Handoff, Outcome, Verdict } from "./store";
export { durablePaymentLocks } from "./service";
export type { PaymentLockService } from "./service";
export { MAX_REPLAYS } from "./replays";
export type { ReplayStart } from "./replays";
export {
  PAYMENT_IDENTIFIER,
  paymentIdentity,
  paymentIdOf,
  paymentIdentifierDeclaration,
  stableJson,
} from "./claim";
export type { PaymentIdentity } from "./claim";
