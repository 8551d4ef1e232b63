/** Runs the ```sh blocks of the README and the data-contracts guide, in order, as test/support/docs-runner.ts describes. */
import { defineShellTests } from './support/docs-runner.ts';

defineShellTests('readme');
