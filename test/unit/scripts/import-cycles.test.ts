import { describe, expect, it } from "vitest";
import { cyclesOf, groupGraph } from "../../../scripts/import-cycles.ts";

/** A graph from `from: to to …` lines. */
function graph(edges: Record<string, string[]>): Map<string, Set<string>> {
  return new Map(Object.entries(edges).map(([from, to]) => [from, new Set(to)]));
}

describe("cyclesOf", () => {
  it("should find no cycle in imports that run one way", () => {
    expect(cyclesOf(graph({ a: ["b", "c"], b: ["c"], c: [] }))).toEqual([]);
  });

  it("should name every module of a cycle, however long", () => {
    const found = cyclesOf(graph({ a: ["b"], b: ["c"], c: ["a"], d: ["a"] }));
    expect(found).toEqual([["a", "b", "c"]]);
  });

  it("should find a module that imports itself and separate cycles apart", () => {
    const found = cyclesOf(graph({ a: ["a"], b: ["c"], c: ["b"], d: [] }));
    expect(found).toEqual([["a"], ["b", "c"]]);
  });
});

describe("groupGraph", () => {
  const folder = (file: string) => file.slice(0, file.lastIndexOf("/"));

  it("should find a cycle between folders whose files import one way", () => {
    const files = graph({
      "pricing/a.ts": ["crawlers/b.ts"],
      "crawlers/b.ts": [],
      "crawlers/c.ts": ["pricing/d.ts"],
      "pricing/d.ts": [],
    });
    expect(cyclesOf(files)).toEqual([]);
    expect(cyclesOf(groupGraph(files, folder))).toEqual([["crawlers", "pricing"]]);
  });

  it("should not count imports inside a folder", () => {
    const files = graph({ "pricing/a.ts": ["pricing/b.ts"], "pricing/b.ts": ["pricing/a.ts"] });
    expect(cyclesOf(groupGraph(files, folder))).toEqual([]);
  });
});
