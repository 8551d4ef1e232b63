/** Runs the ```sh blocks of the operator's guide — a real federation: a coordinator and three client processes with DP, secure aggregation and consent, started from the guide's own text, in order, as test/support/docs-runner.ts describes. */
import { defineShellTests } from './support/docs-runner.ts';

defineShellTests('operator');
