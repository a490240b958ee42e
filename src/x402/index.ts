export {
  decodePayment,
  MAX_PAYMENT_HEADER_BYTES,
  PAYMENT_SIGNATURE,
  X_PAYMENT,
} from "./payment-signature";
export type { DecodedPayment } from "./payment-signature";
export {
  encodePaymentRequired,
  PAYMENT_NEEDED,
  PAYMENT_REQUIRED,
  paymentRequiredV1,
  paymentRequiredV2,
  requirementsV1,
  requirementsV2,
} from "./payment-required";
export type { BodyRequirementsV1, BodyV1 } from "./payment-required";
export { extensionMembers, requiredTemplate } from "./required-template";
export type { RequiredTemplate } from "./required-template";
export {
  encodeReceipt,
  PAYMENT_RESPONSE,
  receiptHeaderName,
  settlementHeader,
  X_PAYMENT_RESPONSE,
} from "./payment-response";
