/**
 * The SecAgg client's checks on the survivor set and the unmask request against an actively malicious
 * coordinator (issue 10 item 2), apart from the state machine in client.ts. Each check throws a TesseraError
 * naming the violated rule; nothing is revealed when any check fails. Bounds: acceptance.ts.
 */
import { TesseraError, type ErrorCode } from '../../protocol/errors.ts';
import type { SecAggUnmaskRequest } from '../../protocol/secagg.ts';
import { ed25519Verify } from './crypto/ed25519.ts';
import * as T from './transcripts.ts';

export type ShareKind = 'seed' | 'key';

/** What the checks need to know about the client's round. */
export interface CheckContext {
  readonly index: number;
  readonly n: number;
  readonly binding: T.RoundBinding;
  readonly clients: ReadonlyArray<string>;
  /** Neighbours whose shares this client holds (U2 ∩ N(u)): the only clients it can reveal shares of. */
  readonly partners: ReadonlySet<number>;
  readonly resolveIdentity: (clientId: string) => Uint8Array | undefined;
  /** Signers of the same U3, this client included, before anything is revealed (0: no consistency check). */
  readonly certifyFloor: number;
  readonly minSurvivors: number;
  readonly fail: (code: ErrorCode, message: string) => never;
}

/** Sorted, duplicate-free, inside the roster. */
export function checkIndexList(c: Pick<CheckContext, 'n' | 'fail'>, list: ReadonlyArray<number>, what: string): number[] {
  const sorted = [...list].sort((a, b) => a - b);
  sorted.forEach((v, i) => {
    if (v >= c.n) c.fail('TESSERA_ERR_SECAGG_PROTOCOL', `${what} names client ${v}, outside the roster`);
    if (i > 0 && sorted[i - 1] === v) c.fail('TESSERA_ERR_SECAGG_PROTOCOL', `${what} names client ${v} twice`);
  });
  return sorted;
}

/** Before signing U3 (Bonawitz et al. 2017, round 3): it holds this client, is large enough, and could be certified. */
export function checkSurvivorSet(c: CheckContext, survivors: ReadonlyArray<number>, t: number): void {
  if (!survivors.includes(c.index)) c.fail('TESSERA_ERR_SECAGG_PROTOCOL', 'survivor set omits this client, which sent its masked input');
  if (survivors.length < c.minSurvivors) {
    c.fail('TESSERA_ERR_SECAGG_DP_SURVIVORS', `the survivor set has ${survivors.length} clients; the job's DP noise assumes at least m = ${c.minSurvivors} in any released sum`);
  }
  const alive = survivors.filter((v) => c.partners.has(v)).length;
  if (alive + 1 < t) c.fail('TESSERA_ERR_SECAGG_ABORT', `only ${alive} neighbours survived; threshold ${t} needs ${t - 1}`);
  if (alive + 1 < c.certifyFloor) c.fail('TESSERA_ERR_SECAGG_CERTIFICATION', `only ${alive} neighbours survived; certifying the survivor set needs ${c.certifyFloor - 1}`);
}

/**
 * The unmask request (round 4): one kind of share per client, only for partners (and itself), never a kind
 * other than one already revealed for that client in this round; with the consistency check, consistent with
 * the U3 this client signed and certified by ≥ certifyFloor − 1 partners' signatures on that same U3.
 */
export function checkUnmaskRequest(c: CheckContext, msg: SecAggUnmaskRequest, signed: ReadonlyArray<number> | undefined, revealed: ReadonlyMap<number, ShareKind>): { selfFor: number[]; keyFor: number[] } {
  const selfFor = checkIndexList(c, msg.selfMaskFor, 'selfMaskFor');
  const keyFor = checkIndexList(c, msg.maskKeyFor, 'maskKeyFor');
  const both = selfFor.filter((v) => keyFor.includes(v));
  // The heart of SecAgg's security (Bonawitz et al. §4, round 4): never reveal both shares of one client.
  if (both.length > 0) c.fail('TESSERA_ERR_SECAGG_PROTOCOL', `coordinator asked for both the self-mask and the mask-key share of client(s) ${both.join(', ')}`);
  if (keyFor.includes(c.index)) c.fail('TESSERA_ERR_SECAGG_PROTOCOL', 'coordinator asked for this client’s own mask-key share');
  for (const v of [...selfFor, ...keyFor]) {
    if (v !== c.index && !c.partners.has(v)) c.fail('TESSERA_ERR_SECAGG_PROTOCOL', `asked for shares of client ${v}, which did not share keys with this client`);
  }
  // Across the whole round, whatever sequence of requests arrives: one kind per client.
  for (const [list, kind] of [[selfFor, 'seed'], [keyFor, 'key']] as const) {
    for (const v of list) {
      const before = revealed.get(v);
      if (before !== undefined && before !== kind) c.fail('TESSERA_ERR_SECAGG_PROTOCOL', `client ${v}'s ${before} share was already revealed this round; its ${kind} share is refused`);
    }
  }
  if (c.certifyFloor > 0) {
    if (signed === undefined) c.fail('TESSERA_ERR_SECAGG_PROTOCOL', 'unmask requested before the consistency check');
    checkCertificate(c, msg, signed, selfFor, keyFor);
  }
  return { selfFor, keyFor };
}

function checkCertificate(c: CheckContext, msg: SecAggUnmaskRequest, survivors: ReadonlyArray<number>, selfFor: number[], keyFor: number[]): void {
  if (msg.survivors === undefined || msg.survivorSignatures === undefined) c.fail('TESSERA_ERR_SECAGG_PROTOCOL', 'unmask request lacks the survivor signatures');
  if (msg.survivors.length !== survivors.length || msg.survivors.some((v, i) => v !== survivors[i])) {
    c.fail('TESSERA_ERR_SECAGG_PROTOCOL', 'unmask request names a survivor set other than the one this client signed');
  }
  const inU3 = new Set(survivors);
  // Survivors give seed shares, dropped partners give key shares: the two sets are disjoint and match U3.
  if (selfFor.some((v) => !inU3.has(v)) || keyFor.some((v) => inU3.has(v))) c.fail('TESSERA_ERR_SECAGG_PROTOCOL', 'unmask request contradicts the signed survivor set');
  const signers = new Set<number>();
  for (const { index: v, signature } of msg.survivorSignatures) {
    if (!c.partners.has(v) || !inU3.has(v) || signers.has(v)) c.fail('TESSERA_ERR_SECAGG_PROTOCOL', `unexpected survivor signature from client ${v}`);
    const owner = c.resolveIdentity(c.clients[v] as string);
    if (owner === undefined || !ed25519Verify(owner, T.survivorsTranscript(c.binding, v, survivors), signature)) {
      throw new TesseraError('TESSERA_ERR_SECAGG_CRYPTO', `survivor signature of client ${c.clients[v]} does not verify for this survivor set and setup`);
    }
    signers.add(v);
  }
  // Bell et al. 2020's split bound (acceptance.ts): ≥ c signers of the same U3 in this closed neighbourhood.
  if (signers.size + 1 < c.certifyFloor) {
    c.fail('TESSERA_ERR_SECAGG_CERTIFICATION', `only ${signers.size} neighbours signed this survivor set; ${c.certifyFloor - 1} are needed so that no conflicting survivor set can also be certified`);
  }
}
