export { CrawlerCredit } from "./store";
export type { DebitInput, DebitResult, TopUpResult } from "./store";
export { durableCredit } from "./service";
export type { CreditService, DebitOutcome, TopUpOutcome } from "./service";
