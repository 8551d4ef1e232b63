/** Runs the ```sh blocks of the bring-your-own guide (your own model, data and strategy), in order, as test/support/docs-runner.ts describes. */
import { defineShellTests } from './support/docs-runner.ts';

defineShellTests('bring-your-own');
