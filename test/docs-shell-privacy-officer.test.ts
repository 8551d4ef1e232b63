/** Runs the ```sh blocks of the privacy officer's guide (consent, a budget-exhausted job, the ledger, a tampered audit export), in order, as test/support/docs-runner.ts describes. */
import { defineShellTests } from './support/docs-runner.ts';

defineShellTests('privacy-officer');
