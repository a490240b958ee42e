/**
 * Reading a price-table file (JSON or YAML) so that every problem can be shown at its line: the
 * text is parsed into a YAML document (JSON is YAML too) with positions, and a JSON path from the
 * schema (`rules[2].price`) is mapped back to the line and column where that value is written.
 */
import { readFileSync } from "node:fs";
import { LineCounter, isMap, isSeq, parseDocument } from "yaml";
import type { Document, Node } from "yaml";

/** A parsed table file, or where its syntax is broken. */
export type TableSource =
  | { ok: true; file: string; value: unknown; locate(path: string): string }
  | { ok: false; file: string; errors: string[] };

/** Reads and parses `file`; `.yaml`/`.yml` as YAML, anything else as strict JSON. */
export function readTable(file: string): TableSource {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    return { ok: false, file, errors: [`${file}: cannot read: ${(error as Error).message}`] };
  }
  return parseTable(file, text);
}

/** Parses table text; `file` names it in messages and decides JSON or YAML. */
export function parseTable(file: string, text: string): TableSource {
  const yaml = /\.ya?ml$/i.test(file);
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const at = (offset: number) => {
    const { line, col } = lines.linePos(offset);
    return `${file}:${line}:${col}`;
  };
  if (!yaml) {
    try {
      JSON.parse(text);
    } catch (error) {
      const message = (error as Error).message;
      const where = /line (\d+) column (\d+)/.exec(message);
      const position = /position (\d+)/.exec(message);
      const offset = position
        ? Number(position[1])
        : /end of JSON input/.test(message)
          ? text.length
          : doc.errors[0]?.pos[0];
      const place = where
        ? `${file}:${where[1]}:${where[2]}`
        : offset === undefined
          ? file
          : at(offset);
      return { ok: false, file, errors: [`${place}: not valid JSON: ${message}`] };
    }
  }
  if (doc.errors.length > 0) {
    return { ok: false, file, errors: doc.errors.map((e) => `${at(e.pos[0])}: ${e.message}`) };
  }
  const locate = (path: string) => {
    const node = deepestNode(doc, segmentsOf(path));
    return node?.range ? at(node.range[0]) : `${file}:1:1`;
  };
  return { ok: true, file, value: doc.toJS() as unknown, locate };
}

/** `rules[2].price` → ["rules", 2, "price"]; `(table)` → []. */
export function segmentsOf(path: string): Array<string | number> {
  if (path === "(table)") return [];
  const segments: Array<string | number> = [];
  for (const match of path.matchAll(/([^.[\]]+)|\[(\d+)\]/g)) {
    segments.push(match[2] !== undefined ? Number(match[2]) : match[1]!);
  }
  return segments;
}

/** The node at `path`, or its deepest ancestor that exists (a missing key points at its object). */
function deepestNode(doc: Document, path: Array<string | number>): Node | undefined {
  let node = doc.contents as Node | null;
  for (const segment of path) {
    if (isMap(node)) {
      const pair = node.items.find((item) => (item.key as { value?: unknown })?.value === segment);
      if (!pair) break;
      node = (pair.value as Node | null) ?? (pair.key as Node);
    } else if (isSeq(node) && typeof segment === "number" && node.items[segment]) {
      node = node.items[segment] as Node;
    } else {
      break;
    }
  }
  return node ?? undefined;
}

/** Splits a checker message `rules[2].price: must …` into its path and text. */
export function splitProblem(problem: string): { path: string; message: string } {
  const match = /^((?:\(table\)|[A-Za-z_$][\w$]*)(?:\[\d+\]|\.[\w$]+)*): (.*)$/s.exec(problem);
  return match ? { path: match[1]!, message: match[2]! } : { path: "(table)", message: problem };
}
