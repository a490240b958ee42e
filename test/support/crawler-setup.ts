import type { TestProject } from "vitest/node";
import { freePort } from "../../dev/chain.ts";
import { exportCrawlerKey, generateCrawlerKey, serveKeyDirectory } from "../../dev/crawler.ts";
import type { CrawlerKey, RunningDirectory } from "../../dev/crawler.ts";

/**
 * Key directories for the workerd tests of pay-per-crawl, served on loopback: twenty-four keys (their
 * private JWKs are handed to the tests, which sign inside workerd) — key 1 alone in the second
 * directory, the others in the first, keys 2–23 each used by one credit or replay test, so no two tests
 * share a balance — a directory that is not JSON, and an address where nothing listens.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const keys = await Promise.all(Array.from({ length: 24 }, () => generateCrawlerKey()));
  const [first, second, ...fresh] = keys as [CrawlerKey, CrawlerKey, ...CrawlerKey[]];
  const directories = await Promise.all([
    serveKeyDirectory([first, ...fresh]),
    serveKeyDirectory([second]),
    serveKeyDirectory([], { body: "<html>not a key directory</html>" }),
  ]);
  const [one, two, malformed] = directories as [
    RunningDirectory,
    RunningDirectory,
    RunningDirectory,
  ];
  project.provide("crawlerKeys", JSON.stringify(await Promise.all(keys.map(exportCrawlerKey))));
  project.provide("crawlerDirectories", [one.origin, two.origin]);
  project.provide("malformedDirectory", malformed.origin);
  project.provide("deadDirectory", `http://127.0.0.1:${await freePort()}`);
  return async () => {
    await Promise.all(directories.map((d) => d.stop()));
  };
}
