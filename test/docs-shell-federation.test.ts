/**
 * Runs the ```sh blocks of the operator's guide — a real federation of three client processes and a coordinator
 * with DP, secure aggregation and consent, started from the guide's own text — and the researcher's guide.
 */
import { defineShellTests } from './support/docs-runner.ts';

defineShellTests(['docs/operator.md', 'docs/researcher.md']);
