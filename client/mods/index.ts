/**
 * The standard mods of a client node, in the order they run: admission checks first (the organisation's
 * policy, consent, then the data contract), then training-data preparation (fairness reweighing), then the update transforms (DP clipping
 * and noise must come last, so nothing changes the update after its noise is added).
 */
import type { CsvTable } from '../../lib/csv.ts';
import type { Contract } from '../../governance/contract/schema.ts';
import type { RandomSource } from '../../privacy/random.ts';
import { contractCheckMod } from './contract-check.ts';
import { consentMod } from './consent.ts';
import { DP_MOD_NAME, dpClientMod } from './dp.ts';
import { fairnessMod } from './fairness.ts';
import type { ClientMod } from './mod.ts';
import { policyMod } from './policy.ts';
import type { ParticipationRecord } from '../policy/participation.ts';
import { coordinatorTrusted } from '../policy/rules.ts';
import { recomputeJobEpsilon } from '../policy/epsilon.ts';
import type { ClientPolicy } from '../policy/schema.ts';

export interface LocalSetup {
  /**
   * The organisation's policy (client/policy/schema.ts): DEFAULT_CLIENT_POLICY for a real node without a
   * file, PERMISSIVE_RESEARCH_POLICY for simulations. Required, so that no caller forgets it.
   */
  readonly policy: ClientPolicy;
  /** The node's participation record (file under --state, or memory); required unless the policy is the research one. */
  readonly record?: ParticipationRecord;
  /**
   * The data contract this organisation agreed to, and its local rows to check against it. The contract
   * alone (without rows) still gives fairness evaluation its sensitive categories and positive label.
   */
  readonly contract?: Contract;
  readonly table?: CsvTable;
  /** Noise source for DP; default a CSPRNG. Seeded only in simulations that ask for it (then not private). */
  readonly rng?: RandomSource;
  /** The organisation's local consent file (parsed JSON; governance/consent/local-consent.ts): declines jobs it does not cover. */
  readonly consent?: unknown;
}

export function standardClientMods(setup: LocalSetup): ClientMod[] {
  // The policy first: a refused task is declined before any local data is read or checked.
  const mods: ClientMod[] = [policyMod({ policy: setup.policy, ...(setup.record ? { record: setup.record } : {}) })];
  if (setup.consent !== undefined) {
    // The consent file's ε cap is checked against the same ε the policy recomputes, never the declared one.
    const policy = setup.policy;
    mods.push(consentMod({ consent: setup.consent, epsilonOf: (ctx) => recomputeJobEpsilon(ctx.task.job, { centralTrusted: coordinatorTrusted(policy, ctx.coordinatorIdentity) }).epsilon }));
  }
  if (setup.contract && setup.table) mods.push(contractCheckMod({ contract: setup.contract, table: setup.table, declineDetail: setup.policy.disclose.declineDetail }));
  // Reweighing (training data) and the fairness counts (evaluation); a no-op unless the job asks for them.
  mods.push(fairnessMod(setup.contract ? { contract: setup.contract } : {}));
  // DP last (a no-op unless the job has dp.enabled): nothing may change the update after its noise.
  mods.push(dpClientMod(setup.rng ? { rng: setup.rng } : {}));
  assertDpLast(mods);
  return mods;
}

/** Nothing may transform the update after DP clipping and noise (it could undo the clip or shrink the noise). */
export function assertDpLast(mods: readonly ClientMod[]): void {
  const dp = mods.findIndex((m) => m.name === DP_MOD_NAME);
  const after = dp < 0 ? [] : mods.slice(dp + 1).filter((m) => m.transformUpdate !== undefined);
  if (after.length > 0) throw new Error(`client mods: ${after.map((m) => m.name).join(', ')} would transform the update after DP clipping and noise`);
}
