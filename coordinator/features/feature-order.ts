/**
 * Orders features from their declarations (issue 21 item 2): a feature runs after every provider of what it
 * `needs` or comes `after`. Kahn's algorithm (Kahn 1962, "Topological sorting of large networks", CACM 5(11)),
 * made stable: at each step the first ready feature in the given order is taken, so features that declare
 * nothing about each other keep their given order. A need no enabled feature provides, and a cycle, are refused
 * with coded errors naming the features and capabilities involved.
 */
import { TesseraError } from '../../protocol/errors.ts';
import type { Capability } from './capabilities.ts';
import type { FeatureDeclaration } from './feature.ts';

interface Edge {
  readonly from: number;
  readonly capability: Capability;
}

/** For each feature, the providers it must run after (with the capability that links them). */
function predecessors(features: readonly FeatureDeclaration[]): Edge[][] {
  const providers = new Map<Capability, number[]>();
  features.forEach((f, i) => {
    for (const c of f.provides ?? []) providers.set(c, [...(providers.get(c) ?? []), i]);
  });
  return features.map((f, i) => {
    const edges: Edge[] = [];
    for (const c of f.needs ?? []) {
      const p = providers.get(c) ?? [];
      if (p.every((j) => j === i)) {
        throw new TesseraError('TESSERA_ERR_FEATURE_MISSING', `feature '${f.name}' needs '${c}', which no enabled feature provides (enabled: ${features.map((x) => x.name).join(', ')})`, {
          details: { feature: f.name, capability: c },
        });
      }
      for (const j of p) if (j !== i) edges.push({ from: j, capability: c });
    }
    for (const c of f.after ?? []) for (const j of providers.get(c) ?? []) if (j !== i) edges.push({ from: j, capability: c });
    return edges;
  });
}

/** One cycle among the features left unordered, as "a –(capability)→ b → …" for the error message. */
function describeCycle(features: readonly FeatureDeclaration[], preds: readonly Edge[][], left: ReadonlySet<number>): string {
  const start = [...left][0] ?? 0;
  const path: Array<{ node: number; via: Capability | null }> = [{ node: start, via: null }];
  const seen = new Map<number, number>([[start, 0]]);
  for (;;) {
    const last = path[path.length - 1];
    const edge = last ? preds[last.node]?.find((e) => left.has(e.from)) : undefined;
    if (!last || !edge) return features[start]?.name ?? '?';
    const at = seen.get(edge.from);
    path.push({ node: edge.from, via: edge.capability });
    if (at !== undefined) {
      // Read backwards: each step goes from a provider to the feature that needs it.
      const cycle = path.slice(at).reverse();
      return cycle.map((s, k) => `${features[s.node]?.name ?? '?'}${k < cycle.length - 1 ? ` –(${cycle[k]?.via ?? '?'})→ ` : ''}`).join('');
    }
    seen.set(edge.from, path.length - 1);
  }
}

/** `features` in an order that satisfies every declaration; stable for features that declare nothing about each other. */
export function orderFeatures<F extends FeatureDeclaration>(features: readonly F[]): F[] {
  const preds = predecessors(features);
  const placed = new Set<number>();
  const out: F[] = [];
  while (out.length < features.length) {
    const next = features.findIndex((_, i) => !placed.has(i) && (preds[i] ?? []).every((e) => placed.has(e.from)));
    if (next < 0) {
      const left = new Set(features.map((_, i) => i).filter((i) => !placed.has(i)));
      const cycle = describeCycle(features, preds, left);
      throw new TesseraError('TESSERA_ERR_FEATURE_CYCLE', `the features' declared needs form a cycle: ${cycle}; no order satisfies them`, {
        details: { features: [...left].map((i) => features[i]?.name ?? '?') },
      });
    }
    placed.add(next);
    out.push(features[next] as F);
  }
  return out;
}
