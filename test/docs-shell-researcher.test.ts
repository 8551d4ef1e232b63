/** Runs the ```sh blocks of the researcher's guide (simulations, a DP sweep, secure aggregation, fairness), in order, as test/support/docs-runner.ts describes. */
import { defineShellTests } from './support/docs-runner.ts';

defineShellTests(['docs/researcher.md']);
