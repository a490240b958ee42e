export { parsePriceTable, CAIP2_NETWORK } from "./schema";
export { EVM_ADDRESS } from "../schemes/evm";
export { SOLANA_ADDRESS } from "../schemes/solana";
export type { PriceTable, Rule, Price, TableParseResult } from "./schema";
export { canonicalHost, canonicalUrl, normalisePath } from "./path";
export type { NormalisedPath } from "./path";
export { compileTable, offersOf } from "./matcher";
export { dynamicAmount } from "./dynamic-price";
export type { OriginPrice } from "./origin-price";
export type { DynamicPrice } from "./dynamic-price";
export type {
  CompiledTable,
  EnvDefaults,
  ListedRule,
  Lookup,
  Match,
  Offer,
  RequestKey,
} from "./matcher";
export type { DiscoveryConfig } from "./discovery-terms";
export { DEFAULT_RULE_ID, derivedRuleId, ruleIds } from "./rule-id";
export { usdToAtomic, atomicToUsd, defaultUsdc, v1NetworkName } from "./assets";
export { durationSeconds, MAX_SESSION_SECONDS, MAX_SESSION_USES } from "./session-terms";
export type { SessionTerms } from "./session-terms";
export type { CrawlerTerms, CreditTerms, Policy } from "./crawler-terms";
export { meteredCharge } from "./metered";
export type { Metered } from "./metered";
export { CRAWLERS } from "./crawler-catalogue";
export type { Crawler, CrawlerCategory } from "./crawler-catalogue";
