import { createWorker } from "./app";

/** The Worker: an x402 paywall in front of `ORIGIN_URL`. */
export default createWorker();

/** Durable Object class holding each payer's sessions (bound as `SESSIONS`). */
export { PayerSessions } from "./sessions";

/** Durable Object class holding each crawler key's prepaid credit (bound as `CRAWL_CREDIT`). */
export { CrawlerCredit } from "./credit";

/** Durable Object class locking each payer's payments: at most one settlement each (`PAYMENTS`). */
export { PaymentLocks } from "./idempotency";
