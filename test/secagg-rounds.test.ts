/**
 * Secure aggregation end to end, in process: the unmasked sum equals the plain sum of the survivors'
 * quantised inputs exactly, for n = 5, 20 and 100, with dropouts injected after each stage up to the most the
 * parameters tolerate, and a clean abort (no share revealed) one dropout beyond.
 */
import { describe, expect, it } from 'vitest';
import { neighbourGraph, neighboursOf } from '../privacy/secagg/graph.ts';
import { findSecAggParams } from '../privacy/secagg/params.ts';
import { seededRandom, shuffleInPlace } from '../privacy/random.ts';
import { isTesseraError } from '../protocol/errors.ts';
import { makeIdentities, makeInputs, plainSum, runRound, type DropPoint, type RoundOutcome } from './secagg-harness.ts';

const DIM = 64;

function survivorsOf(o: RoundOutcome): number[] {
  return (o.result?.survivors ?? []).map((id) => Number(id.slice('client-'.length)));
}

function expectExact(o: RoundOutcome): void {
  expect(o.error).toBeUndefined();
  expect(o.server.stage).toBe('done');
  const survivors = survivorsOf(o);
  expect(Array.from((o.result as { sum: Uint32Array }).sum)).toEqual(Array.from(plainSum(o.inputs, survivors, DIM)));
}

/**
 * What an aborted round may have revealed. Dropouts the coordinator can see before unmasking (up to and
 * including the masked input) abort before any share is asked for. Clients that vanish *after* sending their
 * masked input are only noticed when they fail to answer the unmask request, so the others have answered by
 * then: in a complete graph they are fewer than t, so no secret reaches t shares; in any graph, no client's
 * two secrets are ever both revealed (the invariant that keeps every individual input masked).
 */
function expectCleanAbort(o: RoundOutcome, revealed: 'nothing' | 'below-threshold' | 'one-kind-per-client', t: number): void {
  expect(o.server.stage).toBe('aborted');
  expect(o.error?.code).toBe('TESSERA_ERR_SECAGG_ABORT');
  expect(() => o.server.result()).toThrow(/aborted/);
  const reveals = o.sent.flatMap((s) => (s.message.type === 'secagg.unmask-shares' ? [s.message] : []));
  if (revealed === 'nothing') {
    expect(reveals).toEqual([]);
    expect(o.delivered.filter((d) => d.message.type === 'secagg.unmask')).toEqual([]);
    return;
  }
  const seedCount = new Map<number, number>();
  const keyCount = new Map<number, number>();
  for (const m of reveals) {
    for (const s of m.selfMaskShares) seedCount.set(s.of, (seedCount.get(s.of) ?? 0) + 1);
    for (const s of m.maskKeyShares) keyCount.set(s.of, (keyCount.get(s.of) ?? 0) + 1);
  }
  for (const v of seedCount.keys()) expect(keyCount.has(v), `both kinds of shares of client ${v} revealed`).toBe(false);
  if (revealed === 'below-threshold') for (const c of [...seedCount.values(), ...keyCount.values()]) expect(c).toBeLessThan(t);
}

/**
 * Whether the protocol can finish when `dropped` go silent (an independent restatement of the reconstruction
 * condition): every silent client whose masked input is in the sum needs t live neighbours holding shares of
 * its self-mask seed; every live client needs t live holders of its own seed, itself included.
 */
function survivableAfterMaskedInput(n: number, k: number, t: number, seedBytes: Uint8Array, dropped: ReadonlySet<number>): boolean {
  const g = neighbourGraph({ n, k, seed: seedBytes });
  for (let u = 0; u < n; u++) {
    const live = neighboursOf(g, u).filter((v) => !dropped.has(v)).length;
    if (live + (dropped.has(u) ? 0 : 1) < t) return false;
  }
  return true;
}

describe.each([
  { n: 5, k: 4, t: 3, consistencyCheck: false },
  { n: 20, k: 19, t: 11, consistencyCheck: true },
])('complete graph, n = $n, t = $t (consistency check: $consistencyCheck)', ({ n, k, t, consistencyCheck }) => {
  const identities = makeIdentities(n, `ids-${n}`);
  const inputs = makeInputs(n, DIM, `in-${n}`);
  const points: DropPoint[] = ['setup', 'advertise', 'share-keys', 'masked-input', ...(consistencyCheck ? (['consistency'] as const) : [])];
  const order = shuffleInPlace(seededRandom(`order-${n}`), Array.from({ length: n }, (_, i) => i));

  it('no dropouts: the sum is exact and every client is a survivor', () => {
    const o = runRound({ n, k, t, dim: DIM, seed: `none-${n}`, consistencyCheck, identities, inputs });
    expectExact(o);
    expect(survivorsOf(o)).toHaveLength(n);
  });

  for (const point of points) {
    it(`n − t = ${n - t} dropouts after ${point}: exact sum`, () => {
      const drops = new Map(order.slice(0, n - t).map((u) => [u, point] as const));
      const o = runRound({ n, k, t, dim: DIM, seed: `max-${n}-${point}`, consistencyCheck, identities, inputs, drops });
      expectExact(o);
      // Clients that sent their masked input are in the sum even if they vanished afterwards.
      const inSum = point === 'masked-input' || point === 'consistency';
      expect(survivorsOf(o)).toHaveLength(inSum ? n : t);
    });

    it(`n − t + 1 dropouts after ${point}: clean abort`, () => {
      const drops = new Map(order.slice(0, n - t + 1).map((u) => [u, point] as const));
      const late = point === 'masked-input' || point === 'consistency';
      // With the consistency check, clients vanishing after masked input are caught before unmasking.
      const revealed = late && !(consistencyCheck && point === 'masked-input') ? 'below-threshold' : 'nothing';
      expectCleanAbort(runRound({ n, k, t, dim: DIM, seed: `over-${n}-${point}`, consistencyCheck, identities, inputs, drops }), revealed, t);
    });
  }

  it(`n − t dropouts spread over every stage: exact sum`, () => {
    const drops = new Map(order.slice(0, n - t).map((u, i) => [u, points[i % points.length] as DropPoint] as const));
    expectExact(runRound({ n, k, t, dim: DIM, seed: `mixed-${n}`, consistencyCheck, identities, inputs, drops }));
  });
});

describe('SecAgg+ sparse graph from the parameter finder, n = 100', () => {
  const n = 100;
  // Semi-malicious (the default threat model): the default client policy refuses the semi-honest (26, 6).
  const params = findSecAggParams({ clients: n, dropoutRate: 0.3, corruptRate: 0.05, threatModel: 'semi-malicious' });
  const { k, t } = params;
  const identities = makeIdentities(n, 'ids-100');
  const inputs = makeInputs(n, DIM, 'in-100');

  it('the finder picks a sparse graph', () => {
    expect(params.complete).toBe(false);
    expect(k).toBeLessThan(n - 1);
    expect([k, t]).toEqual([68, 38]);
  });

  for (const point of ['advertise', 'share-keys', 'masked-input'] as const) {
    it(`30% dropouts (the finder's δ) after ${point}: exact sum`, () => {
      const dropped = shuffleInPlace(seededRandom(`d30-${point}`), Array.from({ length: n }, (_, i) => i)).slice(0, 30);
      expectExact(runRound({ n, k, t, dim: DIM, seed: `d30-${point}`, identities, inputs, drops: new Map(dropped.map((u) => [u, point])) }));
    });
  }

  it('the most dropouts the graph tolerates after masked input (greedy, well beyond δ): exact; one more: clean abort', () => {
    const seed = 'greedy';
    const graphSeed = new Uint8Array(32).fill(42);
    const dropped = new Set<number>();
    let breaker: number | undefined;
    for (const u of shuffleInPlace(seededRandom('greedy-order'), Array.from({ length: n }, (_, i) => i))) {
      dropped.add(u);
      if (!survivableAfterMaskedInput(n, k, t, graphSeed, dropped)) {
        dropped.delete(u);
        breaker ??= u;
      }
    }
    expect(dropped.size).toBeGreaterThan(30);
    const drops = new Map([...dropped].map((u) => [u, 'masked-input' as DropPoint]));
    // Dropping after masked input: those clients' inputs are in the sum, their seeds come from neighbours.
    expectExact(runRound({ n, k, t, dim: DIM, seed, identities, inputs, drops, graphSeed }));
    drops.set(breaker as number, 'masked-input');
    const over = runRound({ n, k, t, dim: DIM, seed, identities, inputs, drops, graphSeed });
    expectCleanAbort(over, 'one-kind-per-client', t);
    expect(isTesseraError(over.error)).toBe(true);
  });
});
