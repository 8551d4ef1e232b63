/**
 * `tessera privacy …`: the accountant for people. `epsilon` answers "what does this schedule cost?", `plan`
 * answers "how much noise do I need for this budget?" (the smallest σ whose ε stays within it). Both answer for a
 * JOB with that (ε, δ): the ledger converts at δ_acc = (1 − f)·δ, f·δ paying for short rounds
 * (privacy/dp/underfill.ts `accountedDelta`, the function the ledger and the clients use too); f is
 * `--underfill-delta-fraction`, default the job spec's default, and 0 gives the bare accountant at δ.
 */
import { type Command, InvalidArgumentError } from 'commander';
import type { Accountant, Conversion } from '../privacy/accountant/index.ts';
import { epsilonFor, planNoiseMultiplier } from '../privacy/accountant/index.ts';
import { DEFAULT_UNDERFILL_DELTA_FRACTION } from '../privacy/dp/config.ts';
import { accountedDelta } from '../privacy/dp/underfill.ts';
import { TesseraError } from '../protocol/errors.ts';
import { runDdgaussPlan } from './privacy-ddgauss.ts';
import { action, integerOption, numberOption, printJson, printLine } from './run.ts';

/**
 * run.ts's option parsers throw TesseraError from inside commander's parsing, which escapes `action()`; rethrown
 * as commander's InvalidArgumentError they become a usage error (exit 2) with the option named.
 */
function asUsageError<T>(parse: (v: string) => T): (v: string) => T {
  return (v) => {
    try {
      return parse(v);
    } catch (e) {
      throw new InvalidArgumentError(e instanceof Error ? e.message : String(e));
    }
  };
}
const num = (name: string, min?: number, max?: number) => asUsageError(numberOption(name, min, max));
const int = (name: string, min?: number) => asUsageError(integerOption(name, min));

interface CommonOptions {
  delta: number;
  samplingRate: number;
  steps: number;
  conversion: string;
  accountant: string;
  underfillDeltaFraction: number;
  json?: boolean;
}

/** δ_acc of the options, the same split as the ledger's. */
const deltaOf = (o: CommonOptions): number => accountedDelta(o.delta, o.underfillDeltaFraction);

function parseConversion(v: string): Conversion {
  if (v === 'improved' || v === 'classic') return v;
  throw new TesseraError('TESSERA_ERR_INVALID_ARGUMENT', `--conversion must be improved or classic, got "${v}"`);
}

function parseAccountant(v: string, samplingRate: number): Accountant {
  if (v !== 'rdp' && v !== 'analytic_gaussian' && v !== 'pld') throw new TesseraError('TESSERA_ERR_INVALID_ARGUMENT', `--accountant must be rdp, analytic_gaussian or pld, got "${v}"`);
  if (v === 'analytic_gaussian' && samplingRate !== 1) {
    throw new TesseraError('TESSERA_ERR_INVALID_ARGUMENT', `--accountant analytic_gaussian is exact only for --sampling-rate 1, got ${samplingRate}`);
  }
  return v;
}

function checkFraction(f: number): void {
  if (!(f >= 0 && f < 1)) throw new TesseraError('TESSERA_ERR_INVALID_ARGUMENT', `--underfill-delta-fraction must be in [0, 1), got ${f}`);
}

function reserveLine(o: CommonOptions, accounted: number): string {
  return o.underfillDeltaFraction === 0
    ? '(no δ reserved for short rounds: the bare accountant)'
    : `(converted at ${accounted} = ${1 - o.underfillDeltaFraction} × delta, as the ledger does; ${o.underfillDeltaFraction} of delta is reserved for short rounds)`;
}

function checkDelta(delta: number): void {
  if (!(delta > 0 && delta < 1)) throw new TesseraError('TESSERA_ERR_INVALID_ARGUMENT', `--delta must be in (0, 1), got ${delta}`);
}

/** Rounds up to `digits` significant digits, so a printed σ never falls below the computed one. */
function roundUp(x: number, digits: number): string {
  const p = 10 ** (digits - 1 - Math.floor(Math.log10(Math.abs(x))));
  return String(Math.ceil(x * p) / p);
}

function common(cmd: Command): Command {
  return cmd
    .requiredOption('--delta <d>', 'δ of the (ε, δ) guarantee, in (0, 1)', num('--delta', 0, 1))
    .requiredOption('--sampling-rate <q>', 'Poisson sampling rate of organisations per round, in (0, 1]', num('--sampling-rate', 0, 1))
    .requiredOption('--steps <t>', 'number of rounds', int('--steps', 0))
    .option('--conversion <kind>', 'RDP → (ε, δ): improved (Canonne–Kamath–Steinke 2020) | classic (Mironov 2017)', 'improved')
    .option('--accountant <kind>', 'rdp | pld (privacy-loss distribution: tighter, seconds per answer) | analytic_gaussian (exact, only with --sampling-rate 1)', 'rdp')
    .option(
      '--underfill-delta-fraction <f>',
      'share f of δ a job reserves for short rounds (dp.underfillDeltaFraction); ε is converted at (1 − f)·δ as the ledger does; 0 = the bare accountant at δ',
      num('--underfill-delta-fraction', 0, 1),
      DEFAULT_UNDERFILL_DELTA_FRACTION,
    )
    .option('--json', 'print one JSON document on stdout');
}

export function registerPrivacy(program: Command): void {
  const privacy = program.command('privacy').description('Differential-privacy accounting: ε of a schedule, σ for a budget.');

  common(
    privacy
      .command('epsilon')
      .description('ε after T rounds of the Poisson-subsampled Gaussian mechanism (RDP accountant, Mironov–Talwar–Zhang 2019; or --accountant pld).')
      .requiredOption('--noise-multiplier <s>', 'noise multiplier σ (noise std / clip norm), ≥ 0 (0 or vanishing noise gives ε = ∞)', num('--noise-multiplier', 0)),
  ).action(
    action((o: CommonOptions & { noiseMultiplier: number }) => {
      checkDelta(o.delta);
      if (!(o.noiseMultiplier >= 0)) throw new TesseraError('TESSERA_ERR_INVALID_ARGUMENT', `--noise-multiplier must be ≥ 0, got ${o.noiseMultiplier}`);
      const conversion = parseConversion(o.conversion);
      const accountant = parseAccountant(o.accountant, o.samplingRate);
      checkFraction(o.underfillDeltaFraction);
      const r = epsilonFor({ samplingRate: o.samplingRate, noiseMultiplier: o.noiseMultiplier, steps: o.steps, delta: deltaOf(o), conversion, accountant });
      // No noise (or too little for any finite bound): no privacy at this δ. JSON has no ∞, so it says so in words.
      const infinite = !Number.isFinite(r.epsilon);
      if (o.json) {
        printJson({ epsilon: infinite ? null : r.epsilon, infinite, order: infinite ? null : r.order, delta: o.delta, accountedDelta: r.delta, accountant: r.accountant, conversion: r.conversion });
      } else if (infinite) {
        printLine(`epsilon = ∞ at delta = ${o.delta}: noise multiplier ${o.noiseMultiplier} gives no finite guarantee`);
        printLine(`for ${o.steps} rounds with sampling rate ${o.samplingRate}`);
      } else {
        const how =
          r.accountant === 'rdp'
            ? `RDP accountant, ${r.conversion} conversion, optimal order ${r.order}`
            : r.accountant === 'pld'
              ? 'privacy-loss-distribution accountant, add/remove or zero-out neighbours (both directions), pessimistic connect-the-dots grid h = 1e-4'
              : 'analytic Gaussian mechanism (exact)';
        printLine(`epsilon = ${r.epsilon} at delta = ${o.delta} (${how})`);
        printLine(`for ${o.steps} rounds with sampling rate ${o.samplingRate} and noise multiplier ${o.noiseMultiplier}`);
        printLine(reserveLine(o, r.delta));
      }
    }),
  );

  common(
    privacy
      .command('plan')
      .description('The smallest noise multiplier σ whose ε after T rounds stays within the target (never above it).')
      .requiredOption('--epsilon <e>', 'target ε (the budget), > 0', num('--epsilon', 0))
      .option('--mechanism <kind>', 'gaussian (continuous noise) | ddgauss (distributed discrete Gaussian under secure aggregation: prints the dp.ddgauss section)', 'gaussian')
      .option('--dimension <d>', 'ddgauss: the model’s parameter count', int('--dimension', 1))
      .option('--min-survivors <m>', 'ddgauss: the fewest clients whose noise is in a sum, max(minClients, secagg threshold)', int('--min-survivors', 1))
      .option('--clients <n>', 'ddgauss: the most clients in one sum (the modulus must hold it); default --min-survivors', int('--clients', 1))
      .option('--bits <b>', 'ddgauss: bits per coordinate, 2–32 (default 32, the secure-aggregation word)', int('--bits', 2))
      .option('--clip-norm <c>', 'ddgauss: the L2 clip norm C', num('--clip-norm', 0), 1)
      .option('--overflow-probability <p>', 'ddgauss: per-round chance that any coordinate of the sum wraps', num('--overflow-probability', 0, 1), 1e-6),
  ).action(
    action((o: CommonOptions & { epsilon: number; mechanism: string; dimension?: number; minSurvivors?: number; clients?: number; bits?: number; clipNorm: number; overflowProbability: number }) => {
      checkDelta(o.delta);
      if (o.mechanism !== 'gaussian' && o.mechanism !== 'ddgauss') throw new TesseraError('TESSERA_ERR_INVALID_ARGUMENT', `--mechanism must be gaussian or ddgauss, got "${o.mechanism}"`);
      if (o.mechanism === 'ddgauss') {
        if (o.accountant !== 'rdp') throw new TesseraError('TESSERA_ERR_INVALID_ARGUMENT', '--mechanism ddgauss is accounted in RDP (Kairouz et al. 2021, Prop. 14); omit --accountant');
        checkFraction(o.underfillDeltaFraction);
        runDdgaussPlan({ ...o, accountedDelta: deltaOf(o), ...(o.json ? { json: true } : {}) });
        return;
      }
      if (!(o.epsilon > 0)) throw new TesseraError('TESSERA_ERR_INVALID_ARGUMENT', `--epsilon must be > 0, got ${o.epsilon}`);
      if (!(o.samplingRate > 0)) throw new TesseraError('TESSERA_ERR_INVALID_ARGUMENT', '--sampling-rate must be > 0');
      if (o.steps < 1) throw new TesseraError('TESSERA_ERR_INVALID_ARGUMENT', '--steps must be ≥ 1');
      const conversion = parseConversion(o.conversion);
      const accountant = parseAccountant(o.accountant, o.samplingRate);
      checkFraction(o.underfillDeltaFraction);
      const plan = planNoiseMultiplier({ epsilon: o.epsilon, delta: deltaOf(o), samplingRate: o.samplingRate, steps: o.steps, conversion, accountant });
      if (o.json) {
        printJson({ noiseMultiplier: plan.noiseMultiplier, epsilon: plan.epsilon, delta: o.delta, accountedDelta: deltaOf(o) });
      } else {
        printLine(`noise multiplier = ${roundUp(plan.noiseMultiplier, 6)}`);
        printLine(`gives epsilon = ${plan.epsilon} ≤ ${o.epsilon} at delta = ${o.delta} after ${o.steps} rounds with sampling rate ${o.samplingRate}`);
        printLine(reserveLine(o, deltaOf(o)));
        printLine('(printed σ rounded up; use --json for the exact value)');
      }
    }),
  );
}
