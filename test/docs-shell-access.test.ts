/** Runs the ```sh blocks of the identity and access page — keys, the consortium roster with organisations, trial certificates, a three-organisation federation over mutual TLS with secure aggregation under the clients' default policy, operator tokens — in order, as test/support/docs-runner.ts describes. */
import { defineShellTests } from './support/docs-runner.ts';

defineShellTests('access');
