/**
 * Client mods wrap the client's task handling (house rule 8: "mods wrap the client handler"): each may
 * refuse a task before any work is done (consent, data contract) and may transform the update before it
 * leaves the organisation (clipping, noise). Mods run in the order given.
 */
import type { Logger } from 'pino';
import type { DeclineReason, EvaluateTask, TrainTask } from '../protocol/messages.ts';

export interface TaskContext {
  readonly task: TrainTask | EvaluateTask;
  readonly clientId: string;
  readonly orgId: string;
  readonly logger: Logger;
}

export type Admission = { readonly accept: true } | { readonly accept: false; readonly reason: DeclineReason };

export interface UpdateTransform {
  readonly update: Float32Array;
  /** True when clipping changed the update. */
  readonly clipped?: boolean;
}

export interface ClientMod {
  readonly name: string;
  admit?(ctx: TaskContext): Admission | Promise<Admission>;
  transformUpdate?(update: Float32Array, ctx: TaskContext & { readonly task: TrainTask }): UpdateTransform;
}

/** Runs every mod's admission check; the first refusal wins. */
export async function admit(mods: readonly ClientMod[], ctx: TaskContext): Promise<Admission> {
  for (const m of mods) {
    const a = (await m.admit?.(ctx)) ?? { accept: true as const };
    if (!a.accept) return a;
  }
  return { accept: true };
}

/** Applies every mod's update transform in order. */
export function transformUpdate(mods: readonly ClientMod[], update: Float32Array, ctx: TaskContext & { readonly task: TrainTask }): UpdateTransform {
  let current: UpdateTransform = { update };
  for (const m of mods) {
    if (!m.transformUpdate) continue;
    const next = m.transformUpdate(current.update, ctx);
    current = { update: next.update, clipped: (current.clipped ?? false) || (next.clipped ?? false) };
  }
  return current;
}
