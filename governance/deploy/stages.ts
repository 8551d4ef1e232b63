/**
 * Deployment stages as an explicit transition table (house rule 7). A version is a `candidate` once
 * registered; it may score traffic in `shadow` (answers never returned), take a share of traffic as the
 * `canary`, and become `production`; a production version replaced by another (or rolled back from) is
 * `retired` and may come back only through rollback or a fresh, gated deployment.
 */
import { TesseraError } from '../../protocol/errors.ts';

export const STAGES = ['candidate', 'shadow', 'canary', 'production', 'retired'] as const;
export type Stage = (typeof STAGES)[number];

/** Target stages a deploy command may move a version to, from each stage. */
export const STAGE_TRANSITIONS: Readonly<Record<Stage, readonly Stage[]>> = {
  candidate: ['shadow', 'canary', 'production'],
  shadow: ['canary', 'production'],
  canary: ['production'],
  production: [],
  retired: ['shadow', 'canary', 'production'],
};

/** Stages that put a version in front of users, and so need the gate. */
export const GATED_STAGES: ReadonlySet<Stage> = new Set<Stage>(['canary', 'production']);

export function assertStageTransition(version: string, from: Stage, to: Stage): void {
  if (!STAGE_TRANSITIONS[from].includes(to)) {
    const hint = from === to ? `it is already in ${to}` : `allowed from ${from}: ${STAGE_TRANSITIONS[from].join(', ') || 'none (use rollback or deploy another version)'}`;
    throw new TesseraError('TESSERA_ERR_INVALID_ARGUMENT', `Model ${version} cannot move from ${from} to ${to}: ${hint}`);
  }
}
