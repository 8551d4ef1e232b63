/**
 * `tessera <group> <command>`: one CLI, a thin file per command group (cli/<group>.ts), each exporting
 * `register(program)` that only parses options and calls into the modules.
 */
import { Command, CommanderError } from 'commander';
import { COMMAND_GROUPS } from './groups.ts';

// A closed pipe (`tessera … | head`) is not an error worth a stack trace.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw e;
});

const program = new Command('tessera')
  .description('Privacy-preserving federated learning: secure aggregation, differential privacy, data contracts, fairness and governance.')
  .version('0.1.0')
  .showHelpAfterError()
  .exitOverride();

for (const register of COMMAND_GROUPS) register(program);

try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof CommanderError) {
    // Help and version exit 0; usage errors are unusable input (exit 2).
    process.exitCode = e.exitCode === 0 ? 0 : 2;
  } else {
    throw e;
  }
}
