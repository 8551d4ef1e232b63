/**
 * The training objective and the general training step: tfjs's autodiff tape (optimizer.minimize) over any
 * layers model. ml/dense-step.ts computes the same step without the tape for stacks of Dense layers; both use
 * the penalties defined here, and ml/train.ts's `trainingPath` decides which step runs.
 *
 * Objective per batch (Keras's sample-weight convention): Σ_i w_i · CE_i / rows, CE_i = −Σ_c y_ic·log(clip(p_ic)),
 * clip to [ε, 1 − ε] as Keras does (ε = 1e-7), plus the model's L2 penalties and FedProx's proximal term.
 */
import * as tf from '@tensorflow/tfjs';
import { TesseraError } from '../protocol/errors.ts';
import type { Batch } from './batches.ts';

/** Probabilities are clipped away from 0 and 1 before the log, as Keras does (epsilon 1e-7). */
export const EPSILON = 1e-7;

/** One optimizer step on one batch; returns the batch's objective before the step (a scalar the caller disposes). */
export type TrainStep = (batch: Batch) => tf.Scalar;

/**
 * FedProx (Li, Sahu, Zaheer, Sanjabi, Talwalkar & Smith 2020, "Federated Optimization in Heterogeneous Networks",
 * MLSys, eq. (2)): the anchor w^t of each variable (the weights at the start of local training) and μ.
 */
export interface Proximal {
  readonly mu: number;
  /** Same order as the variables the step updates. */
  readonly anchors: readonly tf.Tensor[];
}

export function forward(model: tf.LayersModel, x: tf.Tensor, training: boolean): tf.Tensor2D {
  const out = model.apply(x, { training });
  if (!(out instanceof tf.Tensor) || out.rank !== 2) throw new TesseraError('TESSERA_ERR_INTERNAL', `model '${model.name}' did not return one rank-2 tensor`);
  return out as tf.Tensor2D;
}

/**
 * `loss` plus the regularisation penalties (the layers' L2 terms, in layer order) and, when μ > 0, FedProx's
 * μ/2 · Σ_layers ‖w − w^t‖² (Li et al. 2020, eq. (2)), whose gradient μ(w − w^t) pulls toward the global model.
 * The order of the additions is part of the definition: ml/dense-step.ts adds the gradients of these terms in
 * the order the tape does (last term first).
 */
export function withPenalties(loss: tf.Scalar, penalties: readonly tf.Scalar[], variables: readonly tf.Variable[], prox: Proximal | undefined): tf.Scalar {
  let total = loss;
  for (const penalty of penalties) total = tf.add(total, penalty);
  if (prox !== undefined && prox.mu > 0) {
    let sq: tf.Scalar = tf.scalar(0);
    variables.forEach((v, i) => {
      sq = tf.add(sq, tf.sum(tf.square(tf.sub(v, prox.anchors[i] as tf.Tensor))));
    });
    total = tf.add(total, tf.mul(prox.mu / 2, sq));
  }
  return total;
}

/** The step through tfjs's tape: works for every model ml/model.ts builds (CNNs, user layers, Dense stacks). */
export function autodiffStep(model: tf.LayersModel, variables: tf.Variable[], optimizer: tf.Optimizer, prox: Proximal | undefined): TrainStep {
  return (batch) => {
    const cost = optimizer.minimize(
      () => {
        const probs = tf.clipByValue(forward(model, batch.x, true), EPSILON, 1 - EPSILON);
        const perRow = tf.neg(tf.sum(tf.mul(batch.y, tf.log(probs)), 1));
        const weighted = batch.w ? tf.mul(perRow, batch.w) : perRow;
        // After the forward pass: a Sequential lists its layers' regulariser losses only once it has been applied.
        return withPenalties(tf.div(tf.sum(weighted), batch.rows), model.calculateLosses(), variables, prox);
      },
      true,
      variables,
    );
    if (cost === null) throw new TesseraError('TESSERA_ERR_INTERNAL', 'optimizer.minimize returned no cost');
    return cost;
  };
}
