export { parsePriceTable, EVM_ADDRESS, CAIP2_NETWORK } from "./schema";
export type { PriceTable, Rule, Price, TableParseResult } from "./schema";
export { normalisePath } from "./path";
export type { NormalisedPath } from "./path";
export { compileTable } from "./matcher";
export type { CompiledTable, EnvDefaults, Match, Offer, RequestKey } from "./matcher";
export { requirementsV1, requirementsV2 } from "./requirements";
export { challengeResponse, prefersHtml, EXPOSED_HEADERS } from "./challenge";
export { usdToAtomic, atomicToUsd, defaultUsdc } from "./assets";
