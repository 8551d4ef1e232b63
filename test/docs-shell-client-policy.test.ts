/** Runs the ```sh blocks of the client-policy guide, in order, as test/support/docs-runner.ts describes. */
import { defineShellTests } from './support/docs-runner.ts';

defineShellTests('client-policy');
