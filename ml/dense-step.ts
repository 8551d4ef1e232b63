/**
 * The training step for models that are stacks of Dense layers ending in a softmax (the logistic and mlp kinds,
 * and `layers` models made only of Dense layers), written out without tfjs's autodiff tape.
 *
 * Why: the tape's step costs far more than its matrix products on small batches. Measured on MNIST's
 * 784-128-10 MLP (wasm): 84 kernels per step (24 Identity, 12 Reshape, 4 Cast, the clip's five-op gradient…)
 * against 43 here; for a first layer without relu (logistic regression, tanh/sigmoid MLPs) the fused matMul's
 * custom gradient also forms the input gradient, as many FLOPs as the forward product, which nothing uses; and
 * the products' layout makes XNNPACK repack the 784×128 kernel every step (see forwardLayer). Here each step
 * runs only the kernels the gradient needs, in one tf.tidy, and the caller reads the loss back once per epoch.
 *
 * Same numbers: every expression below is the one tfjs's gradient functions evaluate (tfjs-core 4.22
 * gradients/*_grad.ts, ops/fused/mat_mul.ts; tfjs-layers Dense.call), with the same operands in the same order,
 * so the step gives the autodiff path's loss and weights (ml/dense-step.test.ts compares them on random stacks).
 * The one rewrite is the cross-entropy's gradient at the logits, which the tape builds as
 * softmax'ᵀ·clip'·log'·(−w_i/rows)·y and which, for one-hot y, reduces to a per-row expression:
 *   t = 1/rows, c_i = t·w_i, q_i = −c_i / clip(p_il) if ε ≤ p_il ≤ 1 − ε else 0 (the clip's zero gradient),
 *   S_i = q_i·p_il, ∂L/∂z_ij = y_ij·S_i − S_i·p_ij
 * (the softmax Jacobian-vector product ∂L/∂z = p ⊙ (g − ⟨g, p⟩), Bishop 2006, PRML eq. (4.106), with g nonzero
 * only at the label). Mathematically S_i = −c_i and ∂L/∂z_i = (p_i − y_i)·w_i/rows; the rounding of q_i·p_il is
 * kept so the float32 result equals the tape's bit for bit.
 */
import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import type { Batch } from './batches.ts';
import { EPSILON, withPenalties } from './autodiff-step.ts';
import type { Proximal, TrainStep } from './autodiff-step.ts';

const ACTIVATIONS = ['linear', 'relu', 'tanh', 'sigmoid', 'softmax'] as const;
export type DenseActivation = (typeof ACTIVATIONS)[number];

export interface DenseLayer {
  /** [inputs, units]. */
  readonly kernel: tf.Variable;
  /** [units], absent when the layer has useBias: false. */
  readonly bias: tf.Variable | undefined;
  readonly activation: DenseActivation;
  /** Coefficient of the kernel's L2 penalty l2·‖W‖² (0: none). */
  readonly l2: number;
}

/**
 * The parts of a Dense layer's serialised config the step depends on. Anything it would not reproduce (an L1
 * term, a bias or activity regulariser, a constraint, another activation) fails the parse, and the model
 * trains through the tape instead.
 */
const DenseConfig = z.object({
  activation: z.enum(ACTIVATIONS),
  kernelRegularizer: z.union([z.null(), z.object({ className: z.literal('L1L2'), config: z.object({ l1: z.literal(0), l2: z.number().min(0) }) })]),
  biasRegularizer: z.null(),
  activityRegularizer: z.null(),
  kernelConstraint: z.null(),
  biasConstraint: z.null(),
});

/**
 * The model as a list of Dense layers, or undefined when it is anything else: not a Sequential, an input that is
 * not [batch, features], a layer that is not Dense or is frozen, a config the step does not reproduce, or a
 * last layer without softmax.
 */
export function readDenseStack(model: tf.LayersModel): DenseLayer[] | undefined {
  if (!(model instanceof tf.Sequential) || model.inputs.length !== 1 || model.inputs[0]?.shape.length !== 2) return undefined;
  const layers = model.layers.filter((l) => l.getClassName() !== 'InputLayer');
  const stack: DenseLayer[] = [];
  let variables = 0;
  for (const layer of layers) {
    if (layer.getClassName() !== 'Dense' || !layer.trainable || layer.nonTrainableWeights.length > 0) return undefined;
    const config = DenseConfig.safeParse(layer.getConfig());
    if (!config.success) return undefined;
    const vars = layer.trainableWeights.map((w) => w.read());
    const kernel = vars.find((v) => v.rank === 2);
    const bias = vars.find((v) => v.rank === 1);
    if (!(kernel instanceof tf.Variable) || (bias !== undefined && !(bias instanceof tf.Variable)) || vars.length !== (bias ? 2 : 1)) return undefined;
    stack.push({ kernel, bias, activation: config.data.activation, l2: config.data.kernelRegularizer?.config.l2 ?? 0 });
    variables += vars.length;
  }
  if (stack.length === 0 || stack[stack.length - 1]?.activation !== 'softmax' || variables !== model.trainableWeights.length) return undefined;
  return stack;
}

/**
 * One layer's forward pass as tfjs-layers' Dense.call runs it under a gradient tape: relu unfused
 * (matMul, add, relu: fused.matMul does not fuse non-linear activations while recording gradients), linear
 * fused with its bias, the other activations after a bias add. `aT`, when given, is aᵀ: the product is then
 * formed as (Wᵀ·aᵀ)ᵀ, the same sums in the same order (XNNPACK accumulates each output over k in order; the
 * dense-step tests check the equality), which on wasm avoids repacking W as the product's weight operand
 * every step (784×128: ~0.5 ms, twice the 32-row product itself) at the price of two cheap transposes.
 */
function forwardLayer(a: tf.Tensor2D, aT: tf.Tensor2D | undefined, layer: DenseLayer): tf.Tensor2D {
  const { kernel, bias } = layer;
  const w = kernel as tf.Tensor2D;
  // fused.matMul is typed to return a Tensor of any rank; a 2-D product of 2-D operands is 2-D.
  if (layer.activation === 'linear') return tf.fused.matMul({ a, b: w, ...(bias ? { bias } : {}), activation: 'linear' }) as tf.Tensor2D;
  let pre: tf.Tensor2D;
  if (aT !== undefined) pre = tf.transpose(tf.matMul(w, aT, true, false)) as tf.Tensor2D;
  else pre = (layer.activation === 'relu' ? tf.matMul(a, w) : tf.fused.matMul({ a, b: w })) as tf.Tensor2D;
  if (bias) pre = tf.add(pre, bias);
  switch (layer.activation) {
    case 'relu':
      return tf.relu(pre);
    case 'tanh':
      return tf.tanh(pre);
    case 'sigmoid':
      return tf.sigmoid(pre);
    case 'softmax':
      return tf.softmax(pre);
  }
}

/** ∂L/∂(pre-activation) from ∂L/∂(output) `dy` and the output `y`: tfjs-core's Relu/Tanh/Sigmoid/Softmax gradients. */
function activationGradient(activation: DenseActivation, dy: tf.Tensor2D, y: tf.Tensor2D): tf.Tensor2D {
  switch (activation) {
    case 'linear':
      return dy;
    case 'relu':
      return tf.mul(dy, tf.step(y)); // step(relu(x)) = step(x): 1 where x > 0
    case 'tanh':
      return tf.mul(tf.sub(tf.scalar(1), tf.square(y)), dy); // 1 − tanh²
    case 'sigmoid':
      return tf.mul(dy, tf.mul(y, tf.sub(tf.scalar(1), y))); // σ(1 − σ)
    case 'softmax': {
      const dyTimesY = tf.mul(dy, y);
      return tf.sub(dyTimesY, tf.mul(tf.sum(dyTimesY, [1], true), y));
    }
  }
}

/**
 * The objective's data term and its gradient at the last layer's logits. `p` is the softmax output. The loss is
 * computed on each row's label probability p_il = Σ_c p_ic·y_ic: for one-hot y the other terms of the tape's
 * Σ_c y_c·log(clip(p_c)) are 0·log(…) = −0 and change no sum, so the value is the same.
 */
function crossEntropyHead(p: tf.Tensor2D, batch: Batch): { loss: tf.Scalar; dLogits: tf.Tensor2D } {
  const pl = tf.sum(tf.mul(p, batch.y), 1);
  const pc = tf.clipByValue(pl, EPSILON, 1 - EPSILON);
  const perRow = tf.neg(tf.log(pc));
  const weighted = batch.w ? tf.mul(perRow, batch.w) : perRow;
  const loss: tf.Scalar = tf.div(tf.sum(weighted), batch.rows);
  // Gradient, in the tape's order: t = ∂/∂Σ of Σ/rows; c_i = t·w_i; e_i = −c_i (neg); q_i = e_i / clip(p_il) (log);
  // zero outside [ε, 1 − ε] (clip; clip(x) = x exactly when x is inside, so equality is the tape's range test).
  // t in JavaScript: float32 division is correctly rounded, and so is rounding the double quotient to float32
  // (53 ≥ 2·24 + 2 bits: double rounding is innocuous for division — S. A. Figueroa, "When is double rounding
  // innocuous?", ACM SIGNUM Newsletter 30(3), 1995), so fround(1/rows) is the tape's float32 1/rows; likewise
  // −(t·w_i) = (−t)·w_i exactly, rounding being symmetric.
  const t = Math.fround(1 / batch.rows);
  const e = batch.w ? tf.mul(batch.w, tf.scalar(-t)) : tf.scalar(-t);
  const q = tf.mul(tf.div(e, pc), tf.cast(tf.equal(pl, pc), 'float32'));
  const s = tf.reshape(tf.mul(q, pl), [batch.rows, 1]);
  return { loss, dLogits: tf.sub(tf.mul(batch.y, s), tf.mul(s, p)) };
}

/**
 * The step for `stack` (readDenseStack of `model`). `variables` is the model's trainable variables in the order
 * optimizer.minimize would see them (kernel, bias per layer); `prox.anchors` follows the same order.
 */
export function denseStep(stack: readonly DenseLayer[], variables: readonly tf.Variable[], optimizer: tf.Optimizer, prox: Proximal | undefined): TrainStep {
  const index = new Map(variables.map((v, i) => [v, i]));
  return (batch) => {
    const inputs: tf.Tensor2D[] = [];
    const outputs: tf.Tensor2D[] = [];
    // The batch transposed once, for the first layer's weight gradient xᵀ·dPre and, when the batch has fewer
    // rows than the layer has units, for its forward product too: XNNPACK then packs xᵀ (features × rows) as
    // the product's weights instead of W (features × units), less memory to move. Not for a linear first layer,
    // whose product carries the bias inside (fused) and so must keep the tape's layout.
    const first = stack[0] as DenseLayer;
    const xT = tf.transpose(batch.x as tf.Tensor2D);
    const transposedForward = first.activation !== 'linear' && batch.rows < (first.kernel.shape[1] ?? 0);
    let a = batch.x as tf.Tensor2D;
    stack.forEach((layer, l) => {
      inputs.push(a);
      a = forwardLayer(a, l === 0 && transposedForward ? xT : undefined, layer);
      outputs.push(a);
    });
    const head = crossEntropyHead(a, batch);
    // tfjs-layers' L1L2 regulariser with l1 = 0, Σ l2·(W⊙W) as it computes it (model.calculateLosses() lists it
    // only after a forward pass through model.apply, which this step never makes).
    const penalties = stack.filter((l) => l.l2 > 0).map((l): tf.Scalar => tf.sum(tf.mul(l.l2, tf.mul(l.kernel, l.kernel))));
    const loss = withPenalties(head.loss, penalties, variables, prox);

    const grads = new Array<tf.Tensor>(variables.length);
    // The tape adds a variable's gradients in reverse order of recording: FedProx's term, then the L2 penalty,
    // then the data term. Floating-point addition is not associative, so the same order is kept here.
    const addGradient = (v: tf.Variable, data: tf.Tensor, l2: number): void => {
      const i = index.get(v) ?? -1;
      let extra: tf.Tensor | undefined;
      // d/dw of μ/2·‖w − w^t‖² = μ(w − w^t) (the tape: (μ/2)·2(w − w^t), the same float32 product).
      if (prox !== undefined && prox.mu > 0) extra = tf.mul(tf.sub(v, prox.anchors[i] as tf.Tensor), tf.scalar(prox.mu));
      // d/dW of l2·(W⊙W): tfjs-layers squares by mul(W, W), so the tape adds l2·W once per operand.
      if (l2 > 0) {
        const half = tf.mul(v, tf.scalar(l2));
        extra = tf.add(extra ? tf.add(extra, half) : half, half);
      }
      grads[i] = extra ? tf.add(extra, data) : data;
    };
    let dy = head.dLogits;
    for (let l = stack.length - 1; l >= 0; l--) {
      const layer = stack[l] as DenseLayer;
      const dPre = l === stack.length - 1 ? dy : activationGradient(layer.activation, dy, outputs[l] as tf.Tensor2D);
      // dW = xᵀ·dPre and dx = dPre·Wᵀ (ml/kernels/transposed-matmul.ts makes both layouts fast on wasm);
      // db = Σ_rows dPre; the first layer's dx is never formed.
      addGradient(layer.kernel, l === 0 ? tf.matMul(xT, dPre) : tf.matMul(inputs[l] as tf.Tensor2D, dPre, true, false), layer.l2);
      if (layer.bias) addGradient(layer.bias, tf.sum(dPre, 0), 0);
      if (l > 0) dy = tf.matMul(dPre, layer.kernel as tf.Tensor2D, false, true);
    }
    optimizer.applyGradients(variables.map((v, i) => ({ name: v.name, tensor: grads[i] as tf.Tensor })));
    return loss;
  };
}
