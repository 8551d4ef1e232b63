/**
 * The SecAgg+ neighbour graph: a Harary graph H(n, k) — clients on a ring, each joined to the k/2 nearest on
 * either side — with clients placed on the ring by a uniformly random permutation (Bell et al., CCS 2020 §4.1:
 * the random placement makes each neighbourhood a uniform k-subset, which their bounds and params.ts assume).
 * k = n − 1 is the complete graph, i.e. the original SecAgg of Bonawitz et al. (CCS 2017).
 *
 * The permutation comes from a public 32-byte seed the coordinator chooses and announces in the round setup;
 * every client rebuilds the graph from (seed, n, k) itself, so the coordinator cannot give clients different
 * neighbourhoods without the clients noticing (a forwarded key from a non-neighbour is refused).
 */
import { TesseraError } from '../../protocol/errors.ts';
import { shuffleInPlace, type RandomSource } from '../random.ts';
import { Transcript } from './crypto/bytes.ts';
import { hkdfSha256 } from './crypto/hkdf.ts';
import { prgWords } from './crypto/prg.ts';

export interface NeighbourGraph {
  readonly n: number;
  readonly k: number;
  readonly complete: boolean;
  /** position[u] = ring position of client u. */
  readonly position: Uint32Array;
  /** client[p] = client at ring position p. */
  readonly client: Uint32Array;
}

/** Structural checks on (n, k): k = n − 1 (complete), or an even k with 2 ≤ k ≤ n − 2. */
export function checkDegree(n: number, k: number): void {
  if (!Number.isInteger(n) || n < 2) throw new TesseraError('TESSERA_ERR_SECAGG_PARAMS', `a SecAgg round needs at least 2 clients, got ${n}`);
  if (k === n - 1) return;
  if (!Number.isInteger(k) || k < 2 || k > n - 2 || k % 2 !== 0) {
    throw new TesseraError('TESSERA_ERR_SECAGG_PARAMS', `neighbour degree k must be n − 1 = ${n - 1} or an even number in [2, ${n - 2}], got ${k}`);
  }
}

/** A RandomSource reading AES-256-CTR output: public coins, reproducible by anyone holding the seed. */
function publicCoins(seed: Uint8Array, n: number, k: number): RandomSource {
  const key = hkdfSha256(seed, new Uint8Array(0), new Transcript('tessera-secagg/v1/graph').u32(n).u32(k).finish(), 32);
  let block = prgWords(key, 4 * n + 64);
  let pos = 0;
  let refills = 0;
  const next = (): number => {
    if (pos >= block.length) {
      // Rejection sampling may (very rarely) need more words: continue the stream under a derived key.
      refills++;
      block = prgWords(hkdfSha256(key, new Uint8Array(0), new Transcript('refill').u32(refills).finish(), 32), 4 * n + 64);
      pos = 0;
    }
    return block[pos++] as number;
  };
  return {
    isPrivate: false,
    nextUint32: next,
    nextFloat: () => ((next() >>> 5) * 67108864 + (next() >>> 6)) / 9007199254740992,
    fillBytes(out) {
      for (let i = 0; i < out.length; i += 4) {
        const v = next();
        for (let j = 0; j < 4 && i + j < out.length; j++) out[i + j] = (v >>> (8 * j)) & 0xff;
      }
    },
  };
}

export function neighbourGraph(options: { n: number; k: number; seed: Uint8Array }): NeighbourGraph {
  const { n, k, seed } = options;
  checkDegree(n, k);
  if (seed.length !== 32) throw new TesseraError('TESSERA_ERR_SECAGG_PARAMS', `graph seed must be 32 bytes, got ${seed.length}`);
  const order = Array.from({ length: n }, (_, i) => i);
  shuffleInPlace(publicCoins(seed, n, k), order);
  const client = Uint32Array.from(order);
  const position = new Uint32Array(n);
  client.forEach((u, p) => {
    position[u] = p;
  });
  return { n, k, complete: k === n - 1, position, client };
}

/** Neighbours of client u (excluding u), ascending. */
export function neighboursOf(graph: NeighbourGraph, u: number): number[] {
  const { n, k } = graph;
  if (!Number.isInteger(u) || u < 0 || u >= n) throw new RangeError(`neighboursOf: client ${u} is not in [0, ${n})`);
  if (graph.complete) return Array.from({ length: n - 1 }, (_, i) => (i < u ? i : i + 1));
  const p = graph.position[u] as number;
  const out: number[] = [];
  for (let j = 1; j <= k / 2; j++) {
    out.push(graph.client[(p + j) % n] as number, graph.client[(p - j + n) % n] as number);
  }
  return out.sort((a, b) => a - b);
}

export function areNeighbours(graph: NeighbourGraph, u: number, v: number): boolean {
  if (u === v) return false;
  if (graph.complete) return true;
  const d = Math.abs((graph.position[u] as number) - (graph.position[v] as number));
  return Math.min(d, graph.n - d) <= graph.k / 2;
}
