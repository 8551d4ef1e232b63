/** Runs the ```sh blocks of the governance-integrity guide, in order, as test/support/docs-runner.ts describes. */
import { defineShellTests } from './support/docs-runner.ts';

defineShellTests('governance-integrity');
