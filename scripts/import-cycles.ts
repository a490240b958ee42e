/**
 * Import cycles in a module graph: the strongly connected components (Tarjan) of more than one
 * node, or of one node that imports itself. Pure; scripts/check-cycles.ts builds the graph of
 * src/ with TypeScript's own module resolution and runs this over files and over folders.
 */

/** Module (or folder) name → the names it imports. */
export type ImportGraph = ReadonlyMap<string, ReadonlySet<string>>;

/** Every cycle in `graph`, each as its members sorted, the cycles sorted by their first member. */
export function cyclesOf(graph: ImportGraph): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];

  const visit = (node: string): void => {
    index.set(node, index.size);
    low.set(node, index.get(node)!);
    stack.push(node);
    onStack.add(node);
    for (const next of graph.get(node) ?? []) {
      if (!index.has(next)) {
        visit(next);
        low.set(node, Math.min(low.get(node)!, low.get(next)!));
      } else if (onStack.has(next)) {
        low.set(node, Math.min(low.get(node)!, index.get(next)!));
      }
    }
    if (low.get(node) !== index.get(node)) return;
    const members: string[] = [];
    let member: string;
    do {
      member = stack.pop()!;
      onStack.delete(member);
      members.push(member);
    } while (member !== node);
    if (members.length > 1 || graph.get(node)?.has(node)) cycles.push(members.sort());
  };

  for (const node of [...graph.keys()].sort()) if (!index.has(node)) visit(node);
  return cycles.sort((a, b) => (a[0]! < b[0]! ? -1 : 1));
}

/** The graph of `graph`'s groups (`groupOf` each node), without a group's edges to itself. */
export function groupGraph(graph: ImportGraph, groupOf: (node: string) => string): ImportGraph {
  const groups = new Map<string, Set<string>>();
  for (const [from, targets] of graph) {
    const group = groupOf(from);
    const edges = groups.get(group) ?? new Set<string>();
    groups.set(group, edges);
    for (const to of targets) if (groupOf(to) !== group) edges.add(groupOf(to));
  }
  return groups;
}
