/**
 * The sections of the one job spec that belong to the round itself (data, sampling, training, strategy,
 * evaluation). Feature sections (dp, secagg, fairness, deployment) live in their own files beside this one.
 */
import { z } from 'zod';

export const DataSection = z.object({
  /** Built-in data set the clients load (each client from its own files), or `csv` for a user file. */
  dataset: z.enum(['mnist', 'adult', 'heart', 'csv']),
  /** SHA-256 of the canonical data contract the clients must check their data against. */
  contractHash: z.string().regex(/^[0-9a-f]{64}$/).optional(),
});

export const SamplingSection = z.discriminatedUnion('mode', [
  /** Each eligible client joins independently with probability `rate` (Poisson sampling; what the DP accountant assumes). */
  z.object({ mode: z.literal('poisson'), rate: z.number().gt(0).max(1) }),
  /** Exactly `clientsPerRound` clients chosen uniformly without replacement (or all, when fewer are eligible). */
  z.object({ mode: z.literal('fixed'), clientsPerRound: z.number().int().positive() }),
]);

export const TrainingSection = z.object({
  epochs: z.number().int().positive().default(1),
  batchSize: z.number().int().positive().default(32),
  learningRate: z.number().positive().default(0.05),
  optimizer: z.enum(['sgd', 'adam']).default('sgd'),
});

export const StrategySection = z.object({
  name: z.enum(['fedavg']).default('fedavg'),
  /** Server learning rate applied to the aggregated update (1 = plain FedAvg). */
  serverLearningRate: z.number().positive().default(1),
});

export const EvaluationSection = z.object({
  /** Federated evaluation every K rounds (0 = only at the end). */
  everyRounds: z.number().int().min(0).default(1),
});
