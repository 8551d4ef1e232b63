/**
 * The charged evaluation releases of a job (ledger-006, governance/state/migrations/ledger.ts), read as the
 * accountant composes them: one group per release, q = 1, with the parameters of its Proposition 14 bound
 * (Kairouz et al. 2021). Kept apart from store.ts so that the store (which composes a job's ε from its training
 * rounds AND these releases) and evaluations.ts (which charges them) share one reader.
 */
import { z } from 'zod';
import type { DdgaussRdpParams } from '../../privacy/accountant/ddgauss.ts';
import type { Db } from '../state/database.ts';

export interface ChargedEvaluation {
  jobId: string;
  round: number;
  /** Organisations whose vectors (and noise) were in the released sum. */
  participants: number;
  /** 1/(Δ₂/σ_sum): informational; the RDP bound is `ddgauss`. */
  noiseMultiplier: number;
  ddgauss: DdgaussRdpParams;
  epsilonAfter: number;
  delta: number;
  privateNoise: boolean;
  chargedAt: string;
}

const Row = z.object({
  job_id: z.string(),
  round: z.number().int(),
  participants: z.number().int(),
  noise_multiplier: z.number(),
  ddgauss: z.string(),
  epsilon_after: z.number(),
  delta: z.number(),
  private_noise: z.number(),
  charged_at: z.string(),
});
const DdgaussJson = z.object({ l2Scale: z.number().min(0), l1Scale: z.number().min(0), tau: z.number().min(0), dim: z.number().int().positive() });

export function chargedEvaluations(db: Db, jobId: string): ChargedEvaluation[] {
  const rows = db.prepare('SELECT * FROM ledger_evaluations WHERE job_id = ? ORDER BY round').all(jobId);
  return rows.map((raw) => {
    const r = Row.parse(raw);
    return {
      jobId: r.job_id,
      round: r.round,
      participants: r.participants,
      noiseMultiplier: r.noise_multiplier,
      ddgauss: DdgaussJson.parse(JSON.parse(r.ddgauss)),
      epsilonAfter: r.epsilon_after,
      delta: r.delta,
      privateNoise: r.private_noise === 1,
      chargedAt: r.charged_at,
    };
  });
}

/** The releases as the accountant's rounds (q = 1). */
export function evaluationRounds(db: Db, jobId: string): Array<{ samplingRate: number; noiseMultiplier: number; ddgauss: DdgaussRdpParams }> {
  return chargedEvaluations(db, jobId).map((e) => ({ samplingRate: 1, noiseMultiplier: e.noiseMultiplier, ddgauss: e.ddgauss }));
}
