/**
 * A secure round that aborts because more clients declined or dropped than its plan expected gets advice that
 * matches the cause: raise `secagg.dropoutRate` to the share that was gone when a plan under the job's threat
 * model survives that (checked with the real parameter finder), say that none does when the survivors would be
 * too few for security, and say to unpin `degree`/`threshold` when the job pinned them. Found on Heart: two of
 * its four hospitals fail the data contract and decline every round, the default plan expects no dropout among
 * four, and a round then unmasked only when the random neighbour graph made the other two neighbours.
 *
 * End to end through `tessera simulate` on the real Heart data: a pinned complete graph (k = 3, t = 3) can never
 * unmask the two remaining hospitals' inputs, so every attempt aborts and the job fails with that advice on stderr.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { explainShortRound } from '../coordinator/shortfall.ts';
import type { ExcludedClient } from '../coordinator/round-records.ts';
import { cli } from './support/cli.ts';
import { SHARED_DATA_DIR } from './paths.ts';

const dir = mkdtempSync(join(tmpdir(), 'tessera-secagg-advice-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const lost = (declined: number, aborted: number): ExcludedClient[] => [
  ...Array.from({ length: declined }, (_, i) => ({ clientId: `d${i}`, orgId: `declining-${i}`, code: 'TESSERA_ERR_CONTRACT_VIOLATION', reason: 'local data fails the contract' })),
  ...Array.from({ length: aborted }, (_, i) => ({ clientId: `a${i}`, orgId: `surviving-${i}`, code: 'TESSERA_ERR_SECAGG_ABORT', reason: 'aborted' })),
];

describe('advice after a secure round aborted', () => {
  it('names the dropout rate that would have planned for the losses, when a plan under the threat model exists', () => {
    const semiHonest = explainShortRound(1, 0, 1, lost(2, 2), { selected: 4, finder: { dropoutRate: 0.1, corruptRate: 0.05, threatModel: 'semi-honest' } });
    expect(semiHonest).toContain('secure aggregation aborted: 2 of 4 client(s) declined or dropped, and the plan tolerates 0 (secagg.dropoutRate 0.1); set secagg.dropoutRate to at least 0.5 (tessera simulate: --secagg-dropout 0.5)');
    // The contract advice still follows: the declines have their own cause.
    expect(semiHonest).toContain("Also: the organisations' data fails the job's data contract");
    // 3 of 20 gone where the plan expected 2: 0.15 covers them (⌊0.15 · 20⌋ = 3).
    const twenty = explainShortRound(4, 0, 5, lost(3, 17), { selected: 20, finder: { dropoutRate: 0.1, corruptRate: 0.05, threatModel: 'semi-malicious' } });
    expect(twenty).toContain('3 of 20 client(s) declined or dropped, and the plan tolerates 2 (secagg.dropoutRate 0.1); set secagg.dropoutRate to at least 0.15');
  });

  it('says no plan survives when security needs more survivors than remain (semi-malicious, 2 of 4 gone)', () => {
    const text = explainShortRound(1, 0, 1, lost(2, 2), { selected: 4, finder: { dropoutRate: 0.1, corruptRate: 0.05, threatModel: 'semi-malicious' } });
    expect(text).toContain('no semi-malicious plan over 4 clients survives that many gone (security needs more survivors), so fix why they declined or add organisations');
    expect(text).not.toContain('--secagg-dropout');
  });

  it('gives no secure-aggregation advice when the round did not abort, or lost no more than planned', () => {
    expect(explainShortRound(1, 1, 2, lost(1, 0), { selected: 2, finder: { dropoutRate: 0.1, corruptRate: 0.05, threatModel: 'semi-malicious' } })).not.toContain('secure aggregation');
    expect(explainShortRound(1, 0, 1, lost(1, 9), { selected: 10, finder: { dropoutRate: 0.1, corruptRate: 0.05, threatModel: 'semi-malicious' } })).not.toContain('secure aggregation aborted');
    expect(explainShortRound(1, 0, 1, lost(2, 2))).not.toContain('secure aggregation');
  });

  it('tessera simulate on Heart with a pinned complete graph (t = 3): every attempt aborts, and stderr says to unpin', async () => {
    const job = join(dir, 'pinned.json');
    writeFileSync(job, JSON.stringify({ name: 'pinned-secagg', rounds: 1, secagg: { degree: 3, threshold: 3 } }));
    const r = await cli('simulate', '--dataset', 'heart', '--data-dir', SHARED_DATA_DIR, '--secagg', '--job', job, '--seed', '1');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('job failed: Round 1 failed after 3 attempt(s).');
    expect(r.stderr).toMatch(/TESSERA_ERR_CONTRACT_VIOLATION ×2 \(switzerland, va\)/);
    expect(r.stderr).toContain("secure aggregation aborted: 2 of 4 client(s) declined or dropped, more than the job's pinned secagg.degree and secagg.threshold survive; unpin them");
  }, 120_000);
});
