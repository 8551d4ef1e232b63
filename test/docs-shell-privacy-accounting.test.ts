/** Runs the ```sh blocks of the privacy-accounting guide, in order, as test/support/docs-runner.ts describes. */
import { defineShellTests } from './support/docs-runner.ts';

defineShellTests('privacy-accounting');
