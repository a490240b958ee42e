import { describe, expect, it } from "vitest";
import {
  anchorsOf,
  checkDocLinks,
  formatBroken,
  githubSlug,
  linksOf,
} from "../../../scripts/doc-links.ts";

/** A file system of a few Markdown files (and one source file). */
function docs(files: Record<string, string>) {
  return {
    exists: (path: string) =>
      path in files || Object.keys(files).some((f) => f.startsWith(`${path}/`)),
    read: (path: string) => files[path],
  };
}

const GUIDE = [
  "# Guide",
  "",
  "## Metered APIs (`upto`)",
  "",
  "## Changing prices: `npm run prices`",
  "",
  "## Notes",
  "",
  "## Notes",
  "",
].join("\n");

describe("doc link check", () => {
  it("should report a link to a file that does not exist, naming its file and line", () => {
    const files = docs({
      "README.md": "# Title\n\nSee [the guide](docs/guide.md) and\n[gone](docs/missing.md).\n",
      "docs/guide.md": GUIDE,
    });
    const broken = checkDocLinks(["README.md", "docs/guide.md"], files);
    expect(broken).toEqual([
      {
        file: "README.md",
        line: 4,
        link: "docs/missing.md",
        reason: "no such file: docs/missing.md",
      },
    ]);
    expect(formatBroken(broken[0]!)).toBe(
      'README.md:4: broken link "docs/missing.md": no such file: docs/missing.md',
    );
  });

  it("should report an anchor that matches no heading of its target, in another file or its own", () => {
    const files = docs({
      "README.md": "# Title\n\n[ok](docs/guide.md#notes)\n[bad](docs/guide.md#metered-apis)\n",
      "docs/guide.md": `${GUIDE}\n[self](#no-such-heading)\n`,
    });
    const broken = checkDocLinks(["README.md", "docs/guide.md"], files).map(formatBroken);
    expect(broken).toEqual([
      'README.md:4: broken link "docs/guide.md#metered-apis": no heading #metered-apis in docs/guide.md',
      'docs/guide.md:11: broken link "#no-such-heading": no heading #no-such-heading in docs/guide.md',
    ]);
  });

  it("should accept files, directories and headings as GitHub slugs them", () => {
    const files = docs({
      "README.md": [
        "# Title",
        "[a](docs/guide.md#metered-apis-upto) [b](./docs/guide.md#changing-prices-npm-run-prices)",
        "[c](docs/guide.md#notes-1) [d](#title) [e](src/kv/keys.ts) [f](src/kv)",
        "[g]: docs/guide.md#guide",
      ].join("\n"),
      "docs/guide.md": `${GUIDE}\n[up](../README.md#title) [src](../src/kv/keys.ts#L12)\n`,
      "src/kv/keys.ts": "export {};",
    });
    expect(checkDocLinks(["README.md", "docs/guide.md"], files)).toEqual([]);
  });

  it("should not read links in code blocks or code spans, nor check external links", () => {
    const text = [
      "```md",
      "[in a block](missing.md)",
      "# not a heading",
      "```",
      "`[in a span](missing.md)` [web](https://example.com/x) [mail](mailto:a@example.com)",
    ].join("\n");
    expect(linksOf(text)).toEqual([
      { line: 5, target: "https://example.com/x" },
      { line: 5, target: "mailto:a@example.com" },
    ]);
    expect(anchorsOf(text).has("not-a-heading")).toBe(false);
    expect(checkDocLinks(["a.md"], docs({ "a.md": text }))).toEqual([]);
  });

  it("should refuse a link that leaves the repository", () => {
    const broken = checkDocLinks(["README.md"], docs({ "README.md": "[x](../outside.md)\n" }));
    expect(broken.map((b) => b.reason)).toEqual(["it leads outside the repository"]);
  });

  it("should slug headings as GitHub does", () => {
    expect(githubSlug("Metered APIs (`upto`)")).toBe("metered-apis-upto");
    expect(githubSlug("Facilitators: preferences and failover")).toBe(
      "facilitators-preferences-and-failover",
    );
    expect(githubSlug("KV `PRICES` and FACILITATOR_URLS")).toBe("kv-prices-and-facilitator_urls");
    expect(githubSlug("Who is asking?")).toBe("who-is-asking");
  });
});
