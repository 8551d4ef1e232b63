/**
 * Built-in job settings per data set, chosen so that the README's figures are reached: the model and the
 * local training hyperparameters. Everything here can be overridden from the command line.
 */
import type { JobSpecInput } from '../protocol/job/spec.ts';
import type { ModelSpecInput } from '../protocol/job/model.ts';
import type { DatasetName } from '../datasets/index.ts';

export interface DatasetDefaults {
  readonly model: (features: number, classes: number) => ModelSpecInput;
  readonly training: NonNullable<JobSpecInput['training']>;
  readonly rounds: number;
  readonly clients: number;
  readonly partition: string;
}

export const DATASET_DEFAULTS: Readonly<Record<DatasetName, DatasetDefaults>> = {
  mnist: {
    model: (features, classes) => ({ kind: 'mlp', inputs: features, hidden: [128], classes }),
    training: { epochs: 1, batchSize: 32, learningRate: 0.1, optimizer: 'sgd' },
    rounds: 5,
    clients: 10,
    partition: 'dirichlet:0.5',
  },
  adult: {
    model: (features, classes) => ({ kind: 'logistic', inputs: features, classes }),
    training: { epochs: 1, batchSize: 32, learningRate: 0.1, optimizer: 'sgd' },
    rounds: 10,
    clients: 20,
    partition: 'iid',
  },
  heart: {
    model: (features, classes) => ({ kind: 'logistic', inputs: features, classes }),
    training: { epochs: 5, batchSize: 16, learningRate: 0.1, optimizer: 'sgd' },
    rounds: 10,
    clients: 4,
    partition: 'natural',
  },
};
