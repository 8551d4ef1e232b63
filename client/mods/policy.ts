/**
 * The organisation's policy as a client mod (issue 10 §1–2): it runs FIRST, so a task the policy refuses is
 * declined before any data is read or checked, and it records each contribution right before the update
 * leaves the node (`beforeRelease`; an evaluation vector too, once per job and round), so that its once-per-round,
 * rounds-per-job and cumulative-ε rules hold
 * against a coordinator that repeats or lies. Each refusal is a coded decline naming the rule
 * (client/policy/rules.ts), logged here and listed by the coordinator among the round's declined clients.
 */
import { evaluatePolicy } from '../policy/rules.ts';
import { jobHistory, type ParticipationRecord } from '../policy/participation.ts';
import type { ClientPolicy } from '../policy/schema.ts';
import { TesseraError } from '../../protocol/errors.ts';
import type { ClientMod, TaskContext } from './mod.ts';

export const POLICY_MOD_NAME = 'policy';

export interface PolicyModOptions {
  readonly policy: ClientPolicy;
  /** The node's participation record; none only under the permissive research policy. */
  readonly record?: ParticipationRecord;
  readonly now?: () => Date;
}

export function policyMod(options: PolicyModOptions): ClientMod {
  const { policy } = options;
  const record = policy.researchSkipsParticipationRecord ? undefined : options.record;
  if (!policy.researchSkipsParticipationRecord && record === undefined) throw new TesseraError('TESSERA_ERR_INTERNAL', 'the policy mod needs a participation record (memory or file) unless the policy is the research one');
  const evaluate = (ctx: TaskContext) =>
    evaluatePolicy(policy, ctx.task.job, {
      task: ctx.task.type,
      round: ctx.task.round,
      jobId: ctx.task.jobId,
      coordinatorKey: ctx.coordinatorIdentity,
      ...(record ? { record } : {}),
    });
  return {
    name: POLICY_MOD_NAME,
    admit(ctx) {
      const e = evaluate(ctx);
      const first = e.violations[0];
      if (first === undefined) return { accept: true };
      ctx.logger.warn({ code: first.code, rule: first.rule, violations: e.violations.map((x) => x.rule) }, `declining ${ctx.task.type} task: ${first.message}`);
      const eps = e.jobEpsilon.epsilon;
      return {
        accept: false,
        reason: { code: first.code, message: first.message.slice(0, 500), counts: { violations: e.violations.length, ...(ctx.task.type === 'train' && Number.isFinite(eps) ? { recomputedEpsilon: eps } : {}) } },
      };
    },
    beforeRelease(ctx) {
      if (!record) return;
      // Checked again at the moment of release: the record may have changed since admission.
      const e = evaluate(ctx);
      const first = e.violations[0];
      if (first !== undefined) throw new TesseraError(first.code, first.message);
      const h = jobHistory(record, ctx.task.jobId);
      record.add({
        jobId: ctx.task.jobId,
        round: ctx.task.round,
        declaredRounds: h.declaredRounds ?? ctx.task.job.rounds,
        effectiveNoiseMultiplier: e.effectiveNoiseMultiplier,
        at: (options.now?.() ?? new Date()).toISOString(),
        task: ctx.task.type,
      });
      ctx.logger.info({ record: record.location, task: ctx.task.type, contributions: h.contributed + (ctx.task.type === 'train' ? 1 : 0), totalEpsilon: e.totalEpsilon }, `${ctx.task.type === 'train' ? 'contribution' : 'evaluation'} recorded before release`);
    },
  };
}
