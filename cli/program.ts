/**
 * The `tessera` program and the registration of its commands, lazily (cli/groups.ts): the command named on the
 * command line loads its group's module; anything else — `tessera`, `tessera --help`, `--version`, an unknown
 * command — is answered from the listing without importing any command module (issue 18 §2: `--help` loads
 * commander and nothing else). cli/main.ts runs it; the test of the listing builds both kinds of program here.
 */
import { Command, Help } from 'commander';
import { COMMAND_GROUPS, type CommandGroup } from './groups.ts';

export function tesseraProgram(): Command {
  return new Command('tessera')
    .description('Privacy-preserving federated learning: secure aggregation, differential privacy, data contracts, fairness and governance.')
    .version('0.1.0')
    .showHelpAfterError()
    .exitOverride();
}

/**
 * The group whose module must run for these arguments (those after `tessera`): the command is the FIRST
 * argument — commander reads the program's own options (-h, -V) before a command, so `tessera -h simulate` is
 * the program's help — or, after `help`, the command asked about.
 */
export function groupFor(args: readonly string[]): CommandGroup | undefined {
  const name = args[0] === 'help' ? args[1] : args[0];
  if (name === undefined || name.startsWith('-')) return undefined;
  return COMMAND_GROUPS.find((g) => g.commands.some((c) => c.name === name));
}

/** Adds every command as the listing describes it, without loading its module: enough for the program's help. */
export function registerListing(program: Command): void {
  const optionsOf = new Map<string, boolean>();
  for (const g of COMMAND_GROUPS) {
    for (const c of g.commands) {
      program.command(c.name).description(c.description);
      optionsOf.set(c.name, c.options);
    }
  }
  // commander writes `name [options]` for a command that has options; the listing's entries have none of their own
  // (commander's own `help [command]` keeps its term).
  const standard = new Help();
  program.configureHelp({
    subcommandTerm: (cmd: Command): string => {
      const options = optionsOf.get(cmd.name());
      return options === undefined ? standard.subcommandTerm(cmd) : `${cmd.name()}${options ? ' [options]' : ''}`;
    },
  });
}

/** Registers what `args` need: the named command's group, else the listing. */
export async function registerCommands(program: Command, args: readonly string[]): Promise<void> {
  const group = groupFor(args);
  if (group) (await group.load())(program);
  else registerListing(program);
}
