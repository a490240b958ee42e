export { handleRequest, RESERVED_PREFIX } from "./flow";
export type { PaywallDeps } from "./flow";
export { errorResponse, paidResponse, ERRORS } from "./responses";
export type { ErrorCode } from "./responses";
