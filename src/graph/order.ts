/**
 * Graph algorithms on a built DependencyGraph: test order, blast radius, cycles. Pure.
 * Only edges at or above a confidence threshold count: a hunch from a log line must not reorder a run.
 */
import { TargetNotFoundError } from "../errors.js";
import type { DependencyGraph, TestOrder } from "./types.js";

export const DEFAULT_MIN_CONFIDENCE = 0.5;

export const TEST_ORDERS: readonly TestOrder[] = ["leaves-first", "roots-first", "random"];

/** Adjacency of the edges that count: id -> the ids it depends on (client -> servers). */
export interface Adjacency {
  ids: string[];
  dependsOn: Map<string, Set<string>>;
  dependents: Map<string, Set<string>>;
}

export function adjacency(graph: DependencyGraph, minConfidence = DEFAULT_MIN_CONFIDENCE): Adjacency {
  const ids = graph.nodes.map((n) => n.id).sort(compare);
  const dependsOn = new Map(ids.map((id) => [id, new Set<string>()]));
  const dependents = new Map(ids.map((id) => [id, new Set<string>()]));
  for (const e of graph.edges) {
    if (e.confidence < minConfidence || e.from === e.to) continue;
    if (!dependsOn.has(e.from) || !dependsOn.has(e.to)) continue;
    dependsOn.get(e.from)!.add(e.to);
    dependents.get(e.to)!.add(e.from);
  }
  return { ids, dependsOn, dependents };
}

/** Who is hurt if `id` fails: every service that reaches it through counted edges (sorted, without `id`). */
export function blastRadius(
  graph: DependencyGraph,
  id: string,
  minConfidence = DEFAULT_MIN_CONFIDENCE,
): string[] {
  const adj = adjacency(graph, minConfidence);
  if (!adj.dependsOn.has(id)) {
    throw new TargetNotFoundError(
      `no service "${id}" in the graph`,
      `known: ${adj.ids.join(", ") || "none"}`,
    );
  }
  return [...reach(id, adj.dependents)].sort(compare);
}

/** Every node's blast radius at once. */
export function blastRadii(
  graph: DependencyGraph,
  minConfidence = DEFAULT_MIN_CONFIDENCE,
): Map<string, string[]> {
  const adj = adjacency(graph, minConfidence);
  return new Map(adj.ids.map((id) => [id, [...reach(id, adj.dependents)].sort(compare)]));
}

/** Nodes reachable from `start` along `next`, excluding `start` itself. */
function reach(start: string, next: Map<string, Set<string>>): Set<string> {
  const seen = new Set<string>([start]);
  const stack = [start];
  while (stack.length) {
    for (const n of next.get(stack.pop()!) ?? []) {
      if (!seen.has(n)) {
        seen.add(n);
        stack.push(n);
      }
    }
  }
  seen.delete(start);
  return seen;
}

/** Strongly connected components (Tarjan, iterative so deep chains cannot overflow the stack). */
export function stronglyConnectedComponents(ids: string[], next: Map<string, Set<string>>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const components: string[][] = [];
  let counter = 0;
  for (const root of ids) {
    if (index.has(root)) continue;
    const work: { id: string; children: string[]; i: number }[] = [];
    const open = (id: string) => {
      index.set(id, counter);
      low.set(id, counter);
      counter++;
      stack.push(id);
      onStack.add(id);
      work.push({ id, children: [...(next.get(id) ?? [])].sort(compare), i: 0 });
    };
    open(root);
    while (work.length) {
      const frame = work[work.length - 1]!;
      if (frame.i < frame.children.length) {
        const child = frame.children[frame.i++]!;
        if (!index.has(child)) open(child);
        else if (onStack.has(child)) low.set(frame.id, Math.min(low.get(frame.id)!, index.get(child)!));
        continue;
      }
      work.pop();
      const parent = work[work.length - 1];
      if (parent) low.set(parent.id, Math.min(low.get(parent.id)!, low.get(frame.id)!));
      if (low.get(frame.id) === index.get(frame.id)) {
        const component: string[] = [];
        let member: string;
        do {
          member = stack.pop()!;
          onStack.delete(member);
          component.push(member);
        } while (member !== frame.id);
        components.push(component.sort(compare));
      }
    }
  }
  return components;
}

/** Groups of two or more services that depend on each other in a loop (counted edges only). */
export function findCycles(graph: DependencyGraph, minConfidence = DEFAULT_MIN_CONFIDENCE): string[][] {
  const adj = adjacency(graph, minConfidence);
  return stronglyConnectedComponents(adj.ids, adj.dependsOn).filter((c) => c.length > 1);
}

/**
 * The order to test services in.
 * - leaves-first: most depended-on first. A service comes after everything it depends on; among the
 *   services that are ready, more transitive dependents first, then id.
 * - roots-first: the mirror: entry points (nothing depends on them) first; among ready ones, more
 *   transitive dependencies first, then id.
 * - random: a seeded shuffle (same seed, same order).
 * Cycles are condensed: the members of a loop are placed together, none is dropped.
 */
export function orderForTesting(
  graph: DependencyGraph,
  order: TestOrder = "leaves-first",
  seed?: number,
  minConfidence = DEFAULT_MIN_CONFIDENCE,
): string[] {
  const adj = adjacency(graph, minConfidence);
  if (order === "random") return shuffle(adj.ids, seed ?? Math.floor(Math.random() * 2 ** 32));
  const [before, after] =
    order === "leaves-first" ? [adj.dependsOn, adj.dependents] : [adj.dependents, adj.dependsOn];
  // `before`: what must be emitted first; rank by how much waits on a node (its `after` closure).
  const weight = new Map(adj.ids.map((id) => [id, reach(id, after).size]));
  const byRank = (a: string, b: string) => weight.get(b)! - weight.get(a)! || compare(a, b);

  const components = stronglyConnectedComponents(adj.ids, before);
  const componentOf = new Map<string, number>();
  components.forEach((c, i) => c.forEach((id) => componentOf.set(id, i)));
  const pending = components.map((c) => {
    const deps = new Set<number>();
    for (const id of c) for (const d of before.get(id)!) deps.add(componentOf.get(d)!);
    deps.delete(componentOf.get(c[0]!)!);
    return deps;
  });
  const members = components.map((c) => [...c].sort(byRank));
  const lead = (i: number) => members[i]![0]!;

  const result: string[] = [];
  const done = new Set<number>();
  while (done.size < components.length) {
    let best = -1;
    for (let i = 0; i < components.length; i++) {
      if (done.has(i) || [...pending[i]!].some((d) => !done.has(d))) continue;
      if (best < 0 || byRank(lead(i), lead(best)) < 0) best = i;
    }
    // The condensation is acyclic, so something is always ready; guard anyway rather than spin.
    if (best < 0) best = components.findIndex((_, i) => !done.has(i));
    done.add(best);
    result.push(...members[best]!);
  }
  return result;
}

/** Deterministic Fisher-Yates with mulberry32. */
export function shuffle(ids: string[], seed: number): string[] {
  const out = [...ids].sort(compare);
  let state = seed >>> 0;
  const rand = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
