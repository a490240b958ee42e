export { httpFacilitator } from "./facilitator";
export { facilitatorEndpoints } from "./endpoints";
export type { FacilitatorEndpoint, PaymentKind } from "./routing";
export type {
  Facilitator,
  FacilitatorRequest,
  FacilitatorResult,
  HttpFacilitatorOptions,
} from "./facilitator";
export { matchV1, matchV2 } from "./offer-match";
export { preparePayment } from "./prepare";
export type { PreparedPayment } from "./prepare";
export { withFacilitatorExtra } from "./offer-extra";
