/** Runs the ```sh blocks of the ML lead's guide (two registered versions, approvals, the gate, canary, a serving coordinator, rollback), in order, as test/support/docs-runner.ts describes. */
import { defineShellTests } from './support/docs-runner.ts';

defineShellTests('ml-lead');
