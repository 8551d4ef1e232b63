/**
 * Model specs in JSON (the `model` section of the job spec). Every model ends in a softmax over `classes`,
 * so a binary task has classes = 2 and the positive-class probability is output[1].
 */
import { z } from 'zod';

const positiveInt = z.number().int().positive();

export const LogisticModelSpec = z.object({
  kind: z.literal('logistic'),
  inputs: positiveInt,
  classes: z.number().int().min(2),
  l2: z.number().min(0).default(0),
});

export const MlpModelSpec = z.object({
  kind: z.literal('mlp'),
  inputs: positiveInt,
  hidden: z.array(positiveInt).min(1),
  classes: z.number().int().min(2),
  activation: z.enum(['relu', 'tanh', 'sigmoid']).default('relu'),
  l2: z.number().min(0).default(0),
});

export const CnnModelSpec = z.object({
  kind: z.literal('cnn'),
  /** Height, width, channels; 28×28×1 for MNIST-like images. */
  inputShape: z.tuple([positiveInt, positiveInt, positiveInt]).default([28, 28, 1]),
  /** Filters per convolution block (3×3 conv, ReLU, 2×2 max-pool). */
  filters: z.array(positiveInt).min(1).default([8, 16]),
  dense: z.array(positiveInt).default([64]),
  classes: z.number().int().min(2),
});

/**
 * Your own model (docs/bring-your-own.md): the `modelTopology` of a tfjs layers `model.json`, checked and read by
 * protocol/job/layers-topology.ts (supported layers only; TESSERA_ERR_MODEL_LAYER_UNSUPPORTED otherwise). Initial
 * weights come from the job's seed, like every other kind; weights in the file are not used.
 */
export const LayersModelSpec = z.object({
  kind: z.literal('layers'),
  /** The modelTopology object of a tfjs model.json (Keras JSON: a Sequential of Dense, Conv2D, MaxPooling2D, Flatten). */
  topology: z.record(z.string(), z.unknown()),
  /** Outputs of the last layer (Dense, softmax). */
  classes: z.number().int().min(2),
});

export const ModelSpec = z.discriminatedUnion('kind', [LogisticModelSpec, MlpModelSpec, CnnModelSpec, LayersModelSpec]);
export type ModelSpec = z.infer<typeof ModelSpec>;
export type ModelSpecInput = z.input<typeof ModelSpec>;
