/** Runs the ```sh blocks of the researcher's guide on secure aggregation and fairness, as test/support/docs-runner.ts describes. */
import { defineShellTests } from './support/docs-runner.ts';

defineShellTests('researcher-secagg-fairness');
