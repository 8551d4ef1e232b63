/**
 * Local consent enforcement on the client node (issue 6 §6): an organisation configured with its own consent
 * file declines any task of a job whose purpose, data set, expiry or ε its consent does not cover — even if
 * the coordinator (misbehaving, or without consent records) sampled it. The decline carries the consent code
 * and reason only; the coordinator lists it among the round's declined clients and audits it.
 */
import { localConsentDecision } from '../../governance/consent/local-consent.ts';
import type { ClientMod, TaskContext } from './mod.ts';

export interface ConsentModOptions {
  /** The parsed JSON of the local consent file (validated on every decision: in doubt, it declines). */
  readonly consent: unknown;
  /** The local name of the data set, when it differs from the job's `data.dataset`. */
  readonly dataset?: string;
  /** The job's ε as this client recomputes it (client/policy/epsilon.ts) — never the declared `dp.epsilon`. */
  readonly epsilonOf: (ctx: TaskContext) => number;
  /** The clock (tests). */
  readonly now?: () => Date;
}

export function consentMod(options: ConsentModOptions): ClientMod {
  return {
    name: 'consent',
    admit(ctx) {
      const decision = localConsentDecision(options.consent, ctx.task.job, {
        at: options.now?.() ?? new Date(),
        epsilon: options.epsilonOf(ctx),
        ...(options.dataset !== undefined ? { dataset: options.dataset } : {}),
      });
      if (decision.accept) return { accept: true };
      ctx.logger.warn({ code: decision.code }, `local consent does not cover the job: ${decision.reason}`);
      return { accept: false, reason: { code: decision.code, message: decision.reason.slice(0, 500) } };
    },
  };
}
