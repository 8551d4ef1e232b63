/**
 * FedYogi and FedAdagrad (Reddi et al. 2021, ICLR, Algorithm 2) on the split of test/strategy-heterogeneous-mnist
 * (MNIST, Dirichlet α = 0.1, 10 clients, logistic, 5 local epochs), against FedAvg on the same split, seed and
 * batches. Like FedAdam they normalise each coordinate's server step by √v_t, which on this heterogeneous split
 * reaches a better model than FedAvg's raw mean in the same rounds (Reddi et al., Table 2: the adaptive methods
 * beat FedAvg on their non-IID tasks). Compared: central test accuracy after 5 rounds, other settings default;
 * η = 0.03 for FedYogi (as FedAdam's test) and 0.3 for FedAdagrad, whose v_t SUMS the squared updates instead of
 * averaging them (no 1 − β₂ factor), so its first step is about (1 − β₁) = 0.1 times FedAdam's at equal η and
 * shrinks as the sum grows. (Measured at η = 0.03: 0.49 after 5 rounds, slower than FedAvg.)
 * Measured: FedAvg 0.740, FedYogi 0.780, FedAdagrad 0.795.
 * It fails if either second-moment rule is wrong (Yogi's sign term, Adagrad's accumulation) badly enough to cost
 * the adaptive step its advantage, or if the moments are not carried across rounds.
 */
import { describe, expect, it } from 'vitest';
import { runStrategyFederation } from './support/strategy-federation.ts';

function run(strategy: Record<string, unknown>) {
  return runStrategyFederation({
    dataset: 'mnist',
    clients: 10,
    partition: 'dirichlet:0.1',
    seed: 5,
    trainLimit: 3000,
    testLimit: 1000,
    job: { model: { kind: 'logistic', inputs: 784, classes: 10 }, rounds: 5, training: { epochs: 5, batchSize: 32, learningRate: 0.05, optimizer: 'sgd' }, strategy },
  });
}

describe('FedYogi and FedAdagrad on Dirichlet α = 0.1 MNIST', () => {
  it('each reaches a better model than FedAvg in 5 rounds', async () => {
    const fedavg = await run({});
    const yogi = await run({ name: 'fedyogi', serverLearningRate: 0.03 });
    const adagrad = await run({ name: 'fedadagrad', serverLearningRate: 0.3 });
    expect([fedavg.status, yogi.status, adagrad.status]).toEqual(['completed', 'completed', 'completed']);
    expect(yogi.final.accuracy ?? 0).toBeGreaterThan((fedavg.final.accuracy ?? 1) + 0.02);
    expect(adagrad.final.accuracy ?? 0).toBeGreaterThan((fedavg.final.accuracy ?? 1) + 0.02);
  }, 150_000);
});
