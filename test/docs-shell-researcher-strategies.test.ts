/** Runs the ```sh blocks of the researcher's guide on strategies and faults, as test/support/docs-runner.ts describes. */
import { defineShellTests } from './support/docs-runner.ts';

defineShellTests('researcher-strategies');
