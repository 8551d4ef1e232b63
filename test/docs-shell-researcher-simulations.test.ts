/** Runs the ```sh blocks of the researcher's guide on simulations and a DP sweep, as test/support/docs-runner.ts describes. */
import { defineShellTests } from './support/docs-runner.ts';

defineShellTests('researcher-simulations');
