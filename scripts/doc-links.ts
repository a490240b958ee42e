/**
 * Checks the relative links of Markdown documents: every `[text](path)`, `[text](path#anchor)`,
 * `[text](#anchor)` and reference definition `[label]: path` must name a file or directory that
 * exists, and an anchor must match a heading of the target document as GitHub slugs it (or an
 * explicit `<a id>`/`<a name>`). Links in code blocks and code spans are text, not links;
 * external links (`https:`, `mailto:` …) are not fetched. Pure: the file system is passed in, so
 * unit tests need none (the command is scripts/check-links.ts).
 */

/** What the checker may read, by repository-relative POSIX path. */
export interface DocSource {
  exists(path: string): boolean;
  /** The text of a Markdown file, undefined when there is none. */
  read(path: string): string | undefined;
}

/** One link that does not resolve. */
export interface BrokenLink {
  file: string;
  line: number;
  link: string;
  reason: string;
}

/** A link as written, with its 1-based line. */
export interface DocLink {
  line: number;
  target: string;
}

const EXTERNAL = /^(?:[a-z][a-z0-9+.-]*:|\/\/)/i;
const INLINE_LINK = /!?\[(?:[^\]\\]|\\.)*\]\(\s*(<[^>]*>|[^\s)]+)(?:\s+(?:"[^"]*"|'[^']*'))?\s*\)/g;
const REFERENCE = /^ {0,3}\[[^\]]+\]:\s*(<[^>]*>|\S+)/;
const FENCE = /^ {0,3}(`{3,}|~{3,})/;
const HEADING = /^ {0,3}(#{1,6})\s+(.*?)(?:\s+#+\s*)?$/;
const HTML_ANCHOR = /<a\s[^>]*\b(?:id|name)\s*=\s*["']([^"']+)["']/gi;

/** The lines of `text` outside fenced code blocks, with their 1-based numbers. */
function proseLines(text: string): Array<{ line: number; text: string }> {
  const out: Array<{ line: number; text: string }> = [];
  let fence: string | undefined;
  text.split(/\r?\n/).forEach((line, i) => {
    const opened = FENCE.exec(line);
    if (fence !== undefined) {
      if (opened && opened[1]![0] === fence[0] && opened[1]!.length >= fence.length) {
        fence = undefined;
      }
      return;
    }
    if (opened) {
      fence = opened[1]!;
      return;
    }
    out.push({ line: i + 1, text: line });
  });
  return out;
}

/** `line` with its code spans blanked, so what they show is never read as a link. */
function withoutCodeSpans(line: string): string {
  return line.replace(/(`+)(?:(?!\1)[\s\S])*?\1/g, (span) => " ".repeat(span.length));
}

/** The links of a Markdown text, code excluded. */
export function linksOf(text: string): DocLink[] {
  const links: DocLink[] = [];
  for (const { line, text: raw } of proseLines(text)) {
    const prose = withoutCodeSpans(raw);
    for (const found of prose.matchAll(INLINE_LINK))
      links.push({ line, target: unwrap(found[1]!) });
    const reference = REFERENCE.exec(prose);
    if (reference) links.push({ line, target: unwrap(reference[1]!) });
  }
  return links;
}

function unwrap(target: string): string {
  return target.startsWith("<") && target.endsWith(">") ? target.slice(1, -1) : target;
}

/**
 * The anchor GitHub gives a heading: its text without Markdown syntax, lower case, with every
 * character that is not a letter, mark, number, connector (`_`), space or hyphen removed and
 * each space made a hyphen.
 */
export function githubSlug(heading: string): string {
  const text = heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, "$1") // links and images: their text
    .replace(/<[^>]+>/g, "") // inline HTML
    .replace(/`/g, "")
    .replace(/\*/g, "");
  return text
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, "")
    .replace(/ /g, "-");
}

/** Every anchor a Markdown text defines: heading slugs (repeats numbered as GitHub does) and HTML ids. */
export function anchorsOf(text: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const { text: line } of proseLines(text)) {
    const heading = HEADING.exec(line);
    if (heading) {
      const slug = githubSlug(heading[2]!);
      const count = seen.get(slug) ?? 0;
      seen.set(slug, count + 1);
      anchors.add(count === 0 ? slug : `${slug}-${count}`);
    }
    for (const found of line.matchAll(HTML_ANCHOR)) anchors.add(found[1]!);
  }
  return anchors;
}

/** `target` resolved against the directory of `from` (both repository-relative, POSIX). */
export function resolvePath(from: string, target: string): string {
  const parts = from.split("/").slice(0, -1);
  for (const part of target.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") {
      if (parts.length === 0) return `../${target}`; // outside the repository
      parts.pop();
    } else parts.push(part);
  }
  return parts.join("/");
}

/** The broken links of `files` (repository-relative paths), in file and line order. */
export function checkDocLinks(files: readonly string[], source: DocSource): BrokenLink[] {
  const broken: BrokenLink[] = [];
  const anchorCache = new Map<string, Set<string> | undefined>();
  const anchors = (path: string) => {
    if (!anchorCache.has(path)) {
      const text = source.read(path);
      anchorCache.set(path, text === undefined ? undefined : anchorsOf(text));
    }
    return anchorCache.get(path);
  };
  for (const file of files) {
    const text = source.read(file);
    if (text === undefined) {
      broken.push({ file, line: 0, link: file, reason: "the file cannot be read" });
      continue;
    }
    for (const { line, target } of linksOf(text)) {
      if (EXTERNAL.test(target)) continue;
      const hash = target.indexOf("#");
      const pathPart = hash === -1 ? target : target.slice(0, hash);
      const anchor = hash === -1 ? undefined : target.slice(hash + 1);
      let decoded: string;
      try {
        decoded = decodeURIComponent(pathPart);
      } catch {
        broken.push({ file, line, link: target, reason: "malformed percent-encoding" });
        continue;
      }
      const path = decoded === "" ? file : resolvePath(file, decoded);
      if (decoded !== "" && path.startsWith("../")) {
        broken.push({ file, line, link: target, reason: "it leads outside the repository" });
        continue;
      }
      if (decoded !== "" && !source.exists(path)) {
        broken.push({ file, line, link: target, reason: `no such file: ${path}` });
        continue;
      }
      if (anchor === undefined || anchor === "") continue;
      if (!path.toLowerCase().endsWith(".md")) continue; // anchors of other files are line refs etc.
      const defined = anchors(path);
      if (!defined?.has(safeDecode(anchor).toLowerCase())) {
        broken.push({ file, line, link: target, reason: `no heading #${anchor} in ${path}` });
      }
    }
  }
  return broken;
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** One line per broken link: `file:line: broken link "target": reason`. */
export function formatBroken(link: BrokenLink): string {
  return `${link.file}:${link.line}: broken link "${link.link}": ${link.reason}`;
}
