export { handleRequest } from "./flow";
export type { PaywallDeps, RequestContext } from "./flow";
export { MISCONFIGURED_MESSAGE, errorResponse, misconfiguredResponse } from "./responses";
export type { ErrorCode } from "./responses";
export { CREDIT_PATH, topUpCredit } from "./credit-top-up";
export type { CrawlerDeps } from "./crawler-gate";
export { RecentKeys } from "./recent-keys";
