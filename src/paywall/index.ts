export { handleRequest } from "./flow";
export type { PaywallDeps } from "./flow";
export { errorResponse } from "./responses";
export type { ErrorCode } from "./responses";
