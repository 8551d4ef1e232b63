/**
 * The attacker's last step in the attack tests: from everything a deviating coordinator collected, try to
 * rebuild one victim's quantised input x_V = y_V − PRG(b_V) ∓ Σ_p PRG(s_{V,p}) (Bonawitz et al. 2017 §4). It is
 * generous: it uses every share any client revealed for any purpose, any t of them that verify (robust
 * reconstruction), and removes the pairwise mask with partner p through p's mask key or V's, whichever it can
 * rebuild. The attack tests assert that it fails, and say why.
 */
import { bytesToUint32 } from '../privacy/secagg/crypto/bytes.ts';
import { applyMasks, pairwiseMaskKey, selfMaskKey, type MaskSpec } from '../privacy/secagg/crypto/prg.ts';
import { x25519, x25519KeyPairFromSecret } from '../privacy/secagg/crypto/x25519.ts';
import { bytesEqual } from '../privacy/secagg/crypto/bytes.ts';
import { reconstructVerified } from '../privacy/secagg/robust-reconstruct.ts';
import type { ShamirShare } from '../privacy/secagg/shamir.ts';
import { seedCommitment } from '../privacy/secagg/transcripts.ts';
import type { DeviatingRun } from './secagg-deviating-coordinator.ts';

export type Recovery = { recovered: Uint32Array } | { failed: string };

function sharesOf(run: DeviatingRun, of: number, kind: 'seed' | 'key'): ShamirShare[] {
  const out: ShamirShare[] = [];
  for (const [holder, m] of run.unmasked) {
    for (const s of kind === 'seed' ? m.selfMaskShares : m.maskKeyShares) if (s.of === of) out.push({ x: holder + 1, y: s.share });
  }
  return out;
}

function rebuild(run: DeviatingRun, of: number, kind: 'seed' | 'key'): Uint8Array | undefined {
  const adv = run.adverts.get(of);
  if (adv === undefined) return undefined;
  const verify = kind === 'seed' ? (s: Uint8Array): boolean => bytesEqual(seedCommitment(run.roundId, of, s), adv.commitment) : (s: Uint8Array): boolean => bytesEqual(x25519KeyPairFromSecret(s).publicKey, adv.sPk);
  try {
    return reconstructVerified(sharesOf(run, of, kind), run.t, verify, `${kind} of ${of}`).secret;
  } catch {
    return undefined;
  }
}

export function tryRecover(run: DeviatingRun, victim: number): Recovery {
  const masked = run.masked.get(victim);
  if (masked === undefined) return { failed: 'the victim never sent a masked input' };
  const seed = rebuild(run, victim, 'seed');
  if (seed === undefined) return { failed: `fewer than t = ${run.t} valid shares of the victim's self-mask seed (${sharesOf(run, victim, 'seed').length} revealed)` };
  const y = bytesToUint32(new Uint8Array(masked.vector)).slice();
  const masks: MaskSpec[] = [{ key: selfMaskKey(seed, run.roundId, victim), sign: -1 }];
  // The victim masked with every neighbour whose keys it got and whose shares reached it.
  const partners = (run.sharesTo.get(victim) ?? []).filter((v) => (run.keyedTo.get(victim) ?? []).includes(v));
  const victimKey = rebuild(run, victim, 'key');
  for (const p of partners) {
    const pKey = rebuild(run, p, 'key');
    const mine = run.adverts.get(victim)?.sPk as Uint8Array;
    const theirs = run.adverts.get(p)?.sPk as Uint8Array;
    let agreed: Uint8Array;
    if (pKey !== undefined) agreed = x25519(x25519KeyPairFromSecret(pKey).keyObject, mine);
    else if (victimKey !== undefined) agreed = x25519(x25519KeyPairFromSecret(victimKey).keyObject, theirs);
    else return { failed: `the pairwise mask with partner ${p} stays: neither its mask key nor the victim's reached t valid shares` };
    // The victim added +PRG if victim > p, else −PRG (client.ts); remove it.
    masks.push({ key: pairwiseMaskKey(agreed, run.roundId, victim, p), sign: victim > p ? -1 : 1 });
  }
  applyMasks(y, masks);
  return { recovered: y };
}
