/**
 * `tessera <group> <command>`: one CLI, a thin file per command group (cli/<group>.ts), each exporting
 * `register(program)` that only parses options and calls into the modules. Only the group named on the command
 * line is loaded (cli/program.ts), so a call pays for its own modules and `tessera --help` for none.
 */
import { CommanderError } from 'commander';
import { registerCommands, tesseraProgram } from './program.ts';

// A closed pipe (`tessera … | head`) is not an error worth a stack trace.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw e;
});

const program = tesseraProgram();
await registerCommands(program, process.argv.slice(2));

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
