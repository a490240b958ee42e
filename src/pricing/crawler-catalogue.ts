/**
 * Known AI and search crawlers, kept as data: one entry per crawler with a stable id (what price
 * tables and logs name), its operator, what it crawls for, the User-Agent product tokens it
 * announces itself with, and the key directories it signs from (Web Bot Auth), when known.
 * Adding a crawler is adding an entry.
 *
 * The catalogue lives with the price table because it is the table's vocabulary: a `crawlers`
 * section names crawlers by these ids (crawler-terms.ts). Telling which crawler sent a request
 * is src/crawlers/: a User-Agent only *claims* an identity (src/crawlers/user-agent.ts), and
 * src/crawlers/identify.ts decides whether a signature proves it.
 */

/** What a crawler fetches for (Cloudflare's and the operators' own groupings). */
export type CrawlerCategory = "ai-training" | "ai-search" | "ai-assistant" | "search";

/** One known crawler. */
export interface Crawler {
  /** Stable, lower-case id used in price tables (`gptbot`). */
  id: string;
  /** The name its operator documents (`GPTBot`). */
  name: string;
  operator: string;
  category: CrawlerCategory;
  /**
   * User-Agent product tokens, matched case-insensitively as whole words: not inside a longer
   * token (`Googlebot` does not match `Googlebot-Image`). Empty for robots.txt-only tokens such
   * as `Google-Extended`, which never appear in a User-Agent.
   */
  userAgentTokens: readonly string[];
  /** Origins of the key directories this crawler signs with (`https://chatgpt.com`), when known. */
  directories?: readonly string[];
}

/** The built-in catalogue, in matching order. */
export const CRAWLERS: readonly Crawler[] = [
  entry("gptbot", "GPTBot", "OpenAI", "ai-training"),
  entry("chatgpt-user", "ChatGPT-User", "OpenAI", "ai-assistant"),
  entry("oai-searchbot", "OAI-SearchBot", "OpenAI", "ai-search"),
  {
    // ChatGPT agent browses with an ordinary Chrome User-Agent; only its signature names it.
    ...entry("chatgpt-agent", "ChatGPT agent", "OpenAI", "ai-assistant", []),
    directories: ["https://chatgpt.com"],
  },
  entry("claudebot", "ClaudeBot", "Anthropic", "ai-training"),
  entry("claude-user", "Claude-User", "Anthropic", "ai-assistant"),
  entry("claude-searchbot", "Claude-SearchBot", "Anthropic", "ai-search"),
  entry("anthropic-ai", "anthropic-ai", "Anthropic", "ai-training"),
  entry("perplexitybot", "PerplexityBot", "Perplexity", "ai-search"),
  entry("perplexity-user", "Perplexity-User", "Perplexity", "ai-assistant"),
  entry("ccbot", "CCBot", "Common Crawl", "ai-training"),
  entry("google-extended", "Google-Extended", "Google", "ai-training", []),
  entry("googlebot", "Googlebot", "Google", "search"),
  entry("bingbot", "Bingbot", "Microsoft", "search"),
  entry("bytespider", "Bytespider", "ByteDance", "ai-training"),
  entry("amazonbot", "Amazonbot", "Amazon", "ai-search"),
  entry("applebot", "Applebot", "Apple", "search"),
  entry("applebot-extended", "Applebot-Extended", "Apple", "ai-training", []),
  entry("meta-externalagent", "meta-externalagent", "Meta", "ai-training"),
  entry("meta-externalfetcher", "meta-externalfetcher", "Meta", "ai-assistant"),
  entry("duckassistbot", "DuckAssistBot", "DuckDuckGo", "ai-assistant"),
  entry("mistralai-user", "MistralAI-User", "Mistral AI", "ai-assistant"),
  entry("duckduckbot", "DuckDuckBot", "DuckDuckGo", "search"),
  entry("yandexbot", "YandexBot", "Yandex", "search"),
];

/** An entry whose only User-Agent token is its name, unless `tokens` says otherwise. */
function entry(
  id: string,
  name: string,
  operator: string,
  category: CrawlerCategory,
  tokens: readonly string[] = [name],
): Crawler {
  return { id, name, operator, category, userAgentTokens: tokens };
}
