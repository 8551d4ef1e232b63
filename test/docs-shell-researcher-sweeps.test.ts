/** Runs the ```sh blocks of the researcher's guide on baselines, replays and sweeps, as test/support/docs-runner.ts describes. */
import { defineShellTests } from './support/docs-runner.ts';

defineShellTests('researcher-sweeps');
