/**
 * `npm run -s bench -- churn` (issue 14 §6): a 200-round DP simulation over real loopback sockets in which each
 * client's connection is cut with probability 0.1 per round at a random moment (`tessera simulate --churn`),
 * against the same run without churn as the same-run baseline. Reports whether any round was lost or counted
 * twice (committed rounds 1..N, one ledger row each), whether the ledger's ε equals the accountant's for the
 * rounds charged, and the process's resident memory at rounds 20 and 200 (goal: within 10 %).
 *
 *   TESSERA_BENCH_CHURN_ROUNDS=60 npm run -s bench -- churn    # a shorter soak
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../lib/logger.ts';
import { chargedRounds } from '../governance/ledger/index.ts';
import { openDatabase } from '../governance/state/database.ts';
import { roundRecords } from '../coordinator/state/job-store.ts';
import { epsilonFor } from '../privacy/accountant/index.ts';
import { DEFAULT_UNDERFILL_DELTA_FRACTION } from '../privacy/dp/config.ts';
import { runSimulation } from '../simulations/simulate.ts';

const CLIENTS = 50;
const Q = 0.5;
const SIGMA = 3;
const DELTA = 1e-5;
const MB = 1024 * 1024;
const round = (v: number, digits: number): number => Number(v.toFixed(digits));

async function soak(rounds: number, churn: number | undefined) {
  const stateDir = mkdtempSync(join(tmpdir(), 'tessera-bench-churn-'));
  const rss = new Map<number, number>();
  const started = performance.now();
  try {
    const sim = await runSimulation(
      {
        dataset: 'adult',
        clients: CLIENTS,
        rounds,
        seed: 7,
        transport: 'socket',
        samplingRate: Q,
        checkContract: false,
        stateDir,
        ...(churn !== undefined ? { churn } : {}),
        job: { training: { epochs: 1, batchSize: 64, learningRate: 0.1, optimizer: 'sgd' }, dp: { enabled: true, placement: 'distributed', epsilon: 1000, delta: DELTA, noiseMultiplier: SIGMA, clipNorm: 1 } },
      },
      { logger: silentLogger(), onRound: (r) => rss.set(r.round, process.memoryUsage().rss) },
    );
    const db = openDatabase(stateDir);
    try {
      const jobId = db.prepare('SELECT id FROM jobs').pluck().get() as string;
      const ledger = chargedRounds(db, jobId);
      const committed = roundRecords(db, jobId).map((r) => r.round);
      const expected = Array.from({ length: rounds }, (_, i) => i + 1);
      const accountant = epsilonFor({ samplingRate: Q, noiseMultiplier: SIGMA, steps: ledger.length, delta: DELTA * (1 - DEFAULT_UNDERFILL_DELTA_FRACTION) }).epsilon;
      const early = rss.get(Math.min(20, rounds)) ?? Number.NaN;
      const late = rss.get(rounds) ?? Number.NaN;
      return {
        churnRate: churn ?? 0,
        status: sim.result.status,
        drops: sim.churn?.drops ?? 0,
        roundsCommitted: committed.length,
        noRoundLostOrDoubled: JSON.stringify(committed) === JSON.stringify(expected) && JSON.stringify(ledger.map((r) => r.round)) === JSON.stringify(expected),
        ledgerEpsilon: ledger.at(-1)?.epsilonAfter ?? 0,
        accountantEpsilon: accountant,
        ledgerEqualsAccountant: ledger.at(-1)?.epsilonAfter === accountant,
        meanParticipants: round(sim.result.rounds.reduce((a, r) => a + r.participants, 0) / Math.max(1, sim.result.rounds.length), 1),
        roundsWithDrops: sim.result.rounds.filter((r) => r.dropped.length > 0).length,
        rssMbAtRound20: round(early / MB, 1),
        rssMbAtLastRound: round(late / MB, 1),
        rssGrowthPercent: round((100 * (late - early)) / early, 1),
        wallSeconds: round((performance.now() - started) / 1000, 1),
      };
    } finally {
      db.close();
    }
  } finally {
    rmSync(stateDir, { recursive: true, force: true });
  }
}

export async function benchChurn(): Promise<object> {
  const rounds = Number(process.env.TESSERA_BENCH_CHURN_ROUNDS ?? 200);
  const loadAtStart = round(loadavg()[0] ?? Number.NaN, 2);
  const churned = await soak(rounds, 0.1);
  const baseline = await soak(rounds, undefined);
  return {
    benchmark: 'churn',
    workload: `tessera simulate --dataset adult --clients ${CLIENTS} --rounds ${rounds} --transport socket --sampling-rate ${Q} (distributed DP, σ = ${SIGMA}) --churn 0.1, and the same without churn`,
    goals: { noRoundLostOrDoubled: true, ledgerEqualsAccountant: true, rssGrowthPercentAtMost: 10 },
    churn: churned,
    baseline,
    loadAtStart,
  };
}
