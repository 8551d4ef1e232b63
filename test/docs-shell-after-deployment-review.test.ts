/** Runs the ```sh blocks of docs/after-deployment-review.md (a served model, human review, explanations, retention, an int8 version), in order, as test/support/docs-runner.ts describes. */
import { defineShellTests } from './support/docs-runner.ts';

defineShellTests('after-deployment-review');
