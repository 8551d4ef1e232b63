/** Runs the ```sh blocks of docs/console.md: a coordinator with tokens, and the console's routes and headers read with curl, as test/support/docs-runner.ts describes. */
import { defineShellTests } from './support/docs-runner.ts';

defineShellTests('console');
