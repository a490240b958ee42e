/**
 * An index over a table's rules, so matching a request costs about the depth of its path instead
 * of the length of the table. Each rule is filed under its exact host (or "any host") and the
 * leading literal segments of its pattern; a request gathers the rules filed along its own host
 * and leading segments. The index only narrows the candidates: the matcher still tests each one
 * with its full pattern, in table order, so the first matching rule still wins.
 */

interface Node {
  /** Rules whose literal prefix ends here, in table order. */
  rules: number[];
  children: Map<string, Node>;
}

const node = (): Node => ({ rules: [], children: new Map() });

/** Rule positions by host and literal path prefix; see the module comment. */
export class RuleIndex {
  private readonly anyHost = node();
  private readonly byHost = new Map<string, Node>();

  /**
   * Files rule `position` (positions must be added in ascending order). `pattern` is the rule's
   * path pattern already folded as the matcher compares it; `host` is set for an exact host only.
   */
  add(position: number, host: string | undefined, pattern: string): void {
    let at = this.anyHost;
    if (host !== undefined) {
      at = this.byHost.get(host) ?? node();
      this.byHost.set(host, at);
    }
    for (const segment of literalPrefix(pattern)) {
      let next = at.children.get(segment);
      if (!next) {
        next = node();
        at.children.set(segment, next);
      }
      at = next;
    }
    at.rules.push(position);
  }

  /** Positions of every rule that may match `host` and the folded `path`, ascending. */
  candidates(host: string, path: string): number[] {
    const segments = path.split("/");
    const lists: number[][] = [];
    collect(this.anyHost, segments, lists);
    const hostRoot = this.byHost.get(host);
    if (hostRoot) collect(hostRoot, segments, lists);
    if (lists.length === 1) return lists[0] ?? [];
    return lists.flat().sort((a, b) => a - b);
  }
}

/** Adds the non-empty rule lists met walking `segments` (index 0 is the empty root) down `root`. */
function collect(root: Node, segments: string[], lists: number[][]): void {
  let at: Node | undefined = root;
  for (let i = 1; at; i++) {
    if (at.rules.length > 0) lists.push(at.rules);
    const segment = segments[i];
    at = segment === undefined ? undefined : at.children.get(segment);
  }
}

/**
 * The whole segments a pattern's matches must start with: every literal segment before the first
 * `:param`; a trailing `*` makes its own segment partial, so that one is left out. A path the
 * pattern matches therefore splits on "/" into these segments first (they hold no "/").
 */
function literalPrefix(pattern: string): string[] {
  let body = pattern;
  let partialLast = false;
  if (body.endsWith("/*")) body = body.slice(0, -2);
  else if (body.endsWith("*")) {
    body = body.slice(0, -1);
    partialLast = true;
  } else if (body.length > 1 && body.endsWith("/")) body = body.slice(0, -1);
  const segments = body.split("/").slice(1);
  if (partialLast) segments.pop();
  const param = segments.findIndex((segment) => segment.startsWith(":"));
  return param === -1 ? segments : segments.slice(0, param);
}
