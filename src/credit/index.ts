export { CrawlerCredit } from "./store";
export type { DebitInput, DebitResult, NonceResult, TopUpResult } from "./store";
export { durableCredit } from "./service";
export type { CreditService, DebitOutcome, NonceOutcome, TopUpOutcome } from "./service";
export { creditAccount, creditPays } from "./account";
export type { CreditAccountTerms } from "./account";
