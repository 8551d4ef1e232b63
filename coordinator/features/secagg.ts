/**
 * Secure aggregation as a coordinator feature: when `spec.secagg.enabled`, the round's training phase is the
 * SecAgg+ protocol (coordinator/secagg-round.ts), so is federated evaluation (coordinator/secagg-evaluation.ts:
 * the clients' integer evaluation vectors, summed exactly; the `secaggEvaluation` slot = {clients, k, t, dim,
 * survivors}), and each round record carries the chosen (k, t) and the survivor count in the `secagg` slot
 * (secagg-slot.ts). The feature needs the coordinator's OWN copy of the client identity roster
 * (privacy/secagg/identity-directory.ts): `tessera coordinator` reads it from `<state>/secagg-identities.json`;
 * simulations pass the roster they gave their clients (`withSecAggIdentities`).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { TesseraError } from '../../protocol/errors.ts';
import { readSecAggRoster } from '../../governance/identity/secagg-roster.ts';
import type { ResolveIdentity } from '../../privacy/secagg/identity-directory.ts';
import { secAggEvaluationProtocol, type SecAggEvaluationReport } from '../secagg-evaluation.ts';
import { secAggTrainingProtocol, type SecAggRoundReport } from '../secagg-round.ts';
import type { FeatureFactory } from './assemble.ts';
import type { CoordinatorFeature, FeatureContext } from './feature.ts';

export const SECAGG_ROSTER_FILE = 'secagg-identities.json';

/** The roster file in a state directory (written by the consortium's admission process, not by the coordinator). */
export function loadStateRoster(stateDir: string): ResolveIdentity {
  const path = join(stateDir, SECAGG_ROSTER_FILE);
  if (!existsSync(path)) {
    throw new TesseraError('TESSERA_ERR_INVALID_ARGUMENT', `secure aggregation needs the clients' identity roster at ${path} (tessera.secagg.identities/v1: clientId → Ed25519 public key)`);
  }
  return readSecAggRoster(path);
}

function build(ctx: FeatureContext, resolveIdentity: ResolveIdentity, onReport?: (r: SecAggRoundReport) => void): CoordinatorFeature {
  const reports = new Map<number, SecAggRoundReport>();
  const { dp, secagg } = ctx.spec;
  if (dp.enabled && secagg.clipRange < dp.clipNorm) {
    // Quantisation clips each coordinate to [−r, r]; clipping a noised coordinate shrinks its noise share.
    ctx.logger.warn({ clipRange: secagg.clipRange, clipNorm: dp.clipNorm }, 'secagg.clipRange is below the DP clip norm: noised coordinates may be clipped before masking; use r ≥ C plus a few noise standard deviations');
  }
  const protocol = secAggTrainingProtocol({
    resolveIdentity,
    onReport: (r) => {
      reports.set(r.round, r);
      if (r.abort) ctx.metrics?.inc('tessera_secagg_aborts_total', 'Secure-aggregation rounds aborted before unmasking', { job: ctx.jobId });
      onReport?.(r);
    },
  });
  // Federated evaluation (loss, accuracy, fairness counts) runs as a secure round too: integer vectors, exact sums.
  const evaluations = new Map<number, SecAggEvaluationReport>();
  const evaluationProtocol = secAggEvaluationProtocol({
    resolveIdentity,
    onReport: (r) => {
      evaluations.set(r.round, r);
      if (r.abort) ctx.metrics?.inc('tessera_secagg_evaluation_aborts_total', 'Secure federated evaluations aborted before unmasking', { job: ctx.jobId });
    },
  });
  return {
    name: 'secagg',
    provides: ['secure-aggregation'],
    protocol,
    evaluationProtocol,
    afterEvaluation(round) {
      const r = evaluations.get(round);
      evaluations.delete(round);
      return r === undefined ? {} : { secaggEvaluation: { clients: r.plan.clients, k: r.plan.k, t: r.plan.t, dim: r.plan.dim, survivors: r.survivors.length } };
    },
    hooks: {
      roundExtra(round) {
        const r = reports.get(round);
        if (r === undefined) return {};
        reports.delete(round);
        return { secagg: { clients: r.plan.clients, k: r.plan.k, t: r.plan.t, complete: r.plan.complete, weighting: r.plan.weighting, dim: r.plan.dim, survivors: r.survivors.length, serverUnmaskMs: Math.round(r.serverUnmaskMs) } };
      },
    },
  };
}

/** The default factory: the roster comes from the state directory. */
export const secAggFeature: FeatureFactory = (ctx) => {
  if (!ctx.spec.secagg.enabled) return null;
  if (ctx.stateDir === undefined) throw new TesseraError('TESSERA_ERR_INVALID_ARGUMENT', `secure aggregation needs a state directory holding ${SECAGG_ROSTER_FILE} (or a roster given by the simulation)`);
  return build(ctx, loadStateRoster(ctx.stateDir));
};

/** The same feature with a roster given in memory (simulations and tests: the same roster their clients hold). */
export function secAggFeatureWith(resolveIdentity: ResolveIdentity, onReport?: (r: SecAggRoundReport) => void): FeatureFactory {
  return (ctx) => (ctx.spec.secagg.enabled ? build(ctx, resolveIdentity, onReport) : null);
}

/** Replaces the default secagg factory in a factory list by one holding `resolveIdentity`. */
export function withSecAggIdentities(factories: readonly FeatureFactory[], resolveIdentity: ResolveIdentity, onReport?: (r: SecAggRoundReport) => void): FeatureFactory[] {
  return factories.map((f) => (f === secAggFeature ? secAggFeatureWith(resolveIdentity, onReport) : f));
}
