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

/**
 * Robust aggregation of the individual updates (plain path only: under secure aggregation the coordinator sees
 * only their sum, so these are refused — coordinator/strategy-compat.ts). Each counts every participant once,
 * whatever its example count. Absent = the (example-weighted) mean. `median` is the coordinate-wise median and
 * `trimmed-mean` the coordinate-wise β-trimmed mean of Yin, Chen, Ramchandran & Bartlett (ICML 2018,
 * "Byzantine-Robust Distributed Learning"); `krum` is Krum / Multi-Krum (Blanchard et al., NeurIPS 2017).
 */
export const AggregatorSection = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('mean') }),
  z.object({ kind: z.literal('median') }),
  z.object({
    kind: z.literal('trimmed-mean'),
    /** β of Yin et al. 2018's coordinate-wise trimmed mean: ⌊β·n⌋ largest and ⌊β·n⌋ smallest values of each coordinate are dropped. */
    trimFraction: z.number().gt(0).lt(0.5),
  }),
  z.object({
    kind: z.literal('krum'),
    /** f of Krum (Blanchard, El Mhamdi, Guerraoui & Stainer, NeurIPS 2017): the Byzantine clients tolerated; a round needs n ≥ 2f + 3 participants. */
    byzantine: z.number().int().min(0),
    /** m of Multi-Krum: the m best-scored updates are averaged (m = 1 is Krum). */
    select: z.number().int().min(1).optional(),
  }),
]);
export type AggregatorSection = z.infer<typeof AggregatorSection>;

/** Server optimisers of Reddi et al. 2021, "Adaptive Federated Optimization" (ICLR), Algorithm 2, besides FedAvg. */
export const ADAPTIVE_SERVER_OPTIMIZERS = ['fedadam', 'fedyogi', 'fedadagrad'] as const;

/** Default server learning rate η: 1 for FedAvg (McMahan et al. 2017), 10⁻² for the adaptive optimisers (tune it: Reddi et al. 2021 grid-search η, App. D). */
export function defaultServerLearningRate(name: string): number {
  return name === 'fedavg' ? 1 : 0.01;
}

export const StrategySection = z
  .object({
    /**
     * The server's update rule from the round's mean update Δ: `fedavg` (x + η·Δ) or an adaptive optimiser of
     * Reddi et al. 2021 (Algorithm 2): `fedadam`, `fedyogi`, `fedadagrad`, whose moments are kept with each
     * committed round so a resumed job continues them.
     */
    name: z.enum(['fedavg', ...ADAPTIVE_SERVER_OPTIMIZERS]).default('fedavg'),
    /** Server learning rate η applied to the aggregated update (1 = plain FedAvg); default 1 for fedavg, 0.01 for the adaptive optimisers. */
    serverLearningRate: z.number().positive().optional(),
    /** β₁, the momentum of the adaptive optimisers (default 0.9, Reddi et al. 2021 §5). */
    beta1: z.number().min(0).lt(1).optional(),
    /** β₂, the second-moment decay of fedadam and fedyogi (default 0.99, Reddi et al. 2021 §5). */
    beta2: z.number().min(0).lt(1).optional(),
    /** τ, the adaptivity constant of the adaptive optimisers (default 1e-3; v starts at τ²). */
    tau: z.number().positive().optional(),
    /**
     * μ of FedProx (Li, Sahu, Zaheer, Sanjabi, Talwalkar & Smith, MLSys 2020): each client minimises its loss plus
     * μ/2·‖w − w_global‖². Absent or 0 = FedAvg's local objective.
     */
    proximalMu: z.number().min(0).optional(),
    /** How the coordinator combines the individual updates; plain path only. See the variants. */
    aggregator: AggregatorSection.optional(),
  })
  .transform((s) => ({ ...s, serverLearningRate: s.serverLearningRate ?? defaultServerLearningRate(s.name) }));
export type StrategySection = z.infer<typeof StrategySection>;

/** Distributed discrete Gaussian noise on the federated evaluation sums (privacy/dp/evaluation-noise.ts). */
export const EvaluationNoiseSection = z
  .object({
    /** z: the noise std on each coordinate of the released sum is z · Δ₂ (Δ₂: one client's largest vector norm). */
    noiseMultiplier: z.number().positive(),
    /** W: the most held-out examples one client evaluates (it evaluates its first W); bounds Δ₂. */
    maxExamplesPerClient: z.number().int().positive(),
  })
  .strict();

export const EvaluationSection = z.object({
  /** Federated evaluation every K rounds (0 = only at the end). */
  everyRounds: z.number().int().min(0).default(1),
  /**
   * Global feature importance (issue 20 §6): the FINAL federated evaluation also has each client count correct
   * predictions on its held-out split with each input column shuffled (seeded by the job seed, the client id and
   * the column); only the sums are decoded, and the registered model's lineage and card show the importance.
   * Costs one extra evaluation of the held-out split per input column on each client.
   */
  featureImportance: z.boolean().default(false),
  /**
   * Noise on the evaluation sums (evaldp area; privacy/dp/evaluation-noise.ts): with DP on, each evaluating
   * client evaluates at most `maxExamplesPerClient` held-out examples and adds its share of distributed discrete
   * Gaussian noise to every coordinate of its evaluation vector inside the secure sum; each release is charged to
   * the ledger (job and organisations) like a training round. Needs dp.enabled and secagg.enabled. Absent: the
   * sums are exact, and clients whose policy requires evaluation noise (the default with DP) decline the task.
   */
  noise: EvaluationNoiseSection.optional(),
});
