/**
 * Injected faults are what the coordinator records (issue 18 §6): a seeded Adult simulation with 30 % dropout and
 * 20 % stragglers. Every client the simulation made drop out appears in its round's record as dropped with the
 * coordinator's own reason "disconnected during train task" (seen at once, not at the deadline), every straggler
 * as dropped with "did not answer … within" the deadline (its late reply discarded), the participants are the
 * rest, and a dropped-out client reconnects and takes part again in later rounds. It fails if a faulty client's
 * update reached the aggregate, if a fault went unrecorded, or if a dropout cost the client its place for good.
 */
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../lib/logger.ts';
import { runSimulation } from '../simulations/simulate.ts';
import { SHARED_DATA_DIR } from './paths.ts';

describe('--dropout and --stragglers', () => {
  it('records each injected dropout and straggler as dropped with its reason', async () => {
    const sim = await runSimulation(
      { dataset: 'adult', dataDir: SHARED_DATA_DIR, clients: 10, rounds: 3, seed: 11, trainLimit: 2000, testLimit: 300, checkContract: false, deadlineMs: 5000, dropoutRate: 0.3, stragglerRate: 0.2 },
      { logger: silentLogger() },
    );
    expect(sim.result.status).toBe('completed');
    const faults = sim.faults;
    expect(faults).toBeDefined();
    let dropouts = 0;
    let stragglers = 0;
    const participatedAfterDropout = new Set<string>();
    for (const r of sim.result.rounds) {
      const out = (faults?.droppedOut[String(r.round)] ?? []).map((c) => c.replace('client-', 'org-')).sort();
      const late = (faults?.straggled[String(r.round)] ?? []).map((c) => c.replace('client-', 'org-')).sort();
      const disconnected = r.dropped.filter((d) => / disconnected during train task/.test(d.reason)).map((d) => d.orgId).sort();
      const timedOut = r.dropped.filter((d) => / did not answer train task .* within 5000 ms/.test(d.reason)).map((d) => d.orgId).sort();
      expect(disconnected, `round ${r.round}`).toEqual(out);
      expect(timedOut, `round ${r.round}`).toEqual(late);
      expect(r.dropped.every((d) => d.code === 'TESSERA_ERR_TIMEOUT')).toBe(true);
      // Sampled are the clients connected when the round starts (a dropped-out client may still be reconnecting).
      expect(r.participants).toBe(r.selected - out.length - late.length);
      for (const o of r.participantOrgs) if (Object.entries(faults?.droppedOut ?? {}).some(([round, ids]) => Number(round) < r.round && ids.includes(o.replace('org-', 'client-')))) participatedAfterDropout.add(o);
      dropouts += out.length;
      stragglers += late.length;
    }
    // Not vacuous: the seed gives both kinds of fault, and a dropped-out client came back.
    expect(dropouts).toBeGreaterThan(0);
    expect(stragglers).toBeGreaterThan(0);
    expect(participatedAfterDropout.size).toBeGreaterThan(0);
  }, 90_000);
});
