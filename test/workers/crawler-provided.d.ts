import "vitest";

declare module "vitest" {
  /** Values test/support/crawler-setup.ts hands to the pay-per-crawl tests. */
  export interface ProvidedContext {
    /** JSON array of twenty-four private Ed25519 JWKs: key 1 in the second directory, the rest in the first. */
    crawlerKeys: string;
    /** The loopback origins of the two key directories. */
    crawlerDirectories: string[];
    /** A loopback origin whose directory is not JSON. */
    malformedDirectory: string;
    /** A loopback origin where nothing listens. */
    deadDirectory: string;
  }
}
