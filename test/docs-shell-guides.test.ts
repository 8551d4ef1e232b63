/** Runs the ```sh blocks of the README and the guides for privacy officers, data teams and ML leads (support/docs-runner.ts). */
import { defineShellTests } from './support/docs-runner.ts';

defineShellTests(['README.md', 'docs/data-contracts.md', 'docs/privacy-officer.md', 'docs/ml-lead.md']);
