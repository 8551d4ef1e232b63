/** Runs the ```sh blocks of "After deployment" (contract-checked predictions, feedback, tessera monitor, canary criteria and rollback), in order, as test/support/docs-runner.ts describes. */
import { defineShellTests } from './support/docs-runner.ts';

defineShellTests('after-deployment');
