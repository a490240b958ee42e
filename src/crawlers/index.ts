export { CRAWLERS } from "../pricing";
export type { Crawler, CrawlerCategory } from "../pricing";
export { identifyByUserAgent } from "./user-agent";
export { createWebBotAuthVerifier, isCovered } from "./web-bot-auth";
export type { VerifierOptions, WebBotAuthResult, WebBotAuthVerifier } from "./web-bot-auth";
export { jwkThumbprint } from "./key-directory";
export type { DirectoryLimits, FetchLike } from "./key-directory";
export { boundCrawler, identifyCrawler } from "./identify";
export type { CrawlerIdentity, IdentifyOptions, Verified } from "./identify";
export {
  CRAWLER_CHARGED,
  CRAWLER_ERROR,
  CRAWLER_ERRORS,
  CRAWLER_EXACT_PRICE,
  CRAWLER_MAX_PRICE,
  CRAWLER_PRICE,
  checkCrawlerPrice,
  formatCrawlerPrice,
  parseCrawlerPrice,
  unsignedPriceHeaders,
} from "./price-headers";
export type { CrawlerErrorCode, CrawlerPriceCheck, ParsedCrawlerPrice } from "./price-headers";
export { crawlerTag, decide, directoryHost, privilegeOf } from "./policy";
export type { CrawlDecision, Privilege, Subject } from "./policy";
