/**
 * `tessera coordinator --contract FILE` on a coordinator that hosts many jobs: the contract it holds goes to the
 * job that names it by hash (data.contractHash), and only to that job. Under secure aggregation a coordinator
 * must hold the job's contract to lay out the clients' contract-check sums, so assembly refuses a job whose
 * contract it does not hold (TESSERA_ERR_CONTRACT_UNAVAILABLE) — and a held contract that another job does not
 * name must not turn that job's refusal into a different one or let it run. Real coordinator on 127.0.0.1; the
 * jobs wait for clients that never come, which is all the assembly needs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCoordinator, type CoordinatorServer } from '../coordinator/server.ts';
import { loadBuiltinContract } from '../datasets/contracts/index.ts';
import { contractHash, type Contract } from '../governance/contract/schema.ts';
import { rosterDirectory, rosterDocument } from '../privacy/secagg/identity-directory.ts';
import { keyPairFromSeed } from '../governance/identity/ed25519.ts';
import { consortium, logger } from './support/federation-fixtures.ts';

/** The site's own contract: the built-in Heart contract under another version (so another hash, not built in). */
const held: Contract = { ...loadBuiltinContract('heart'), version: '9.0.0-site' };
const notHeld: Contract = { ...loadBuiltinContract('heart'), version: '9.0.1-site' };
const identities = rosterDirectory(rosterDocument(['a', 'b', 'c'].map((clientId, i) => ({ clientId, publicKey: keyPairFromSeed(new Uint8Array(32).fill(i + 1)).publicKey }))));

const job = (name: string, contract: Contract): Record<string, unknown> => ({
  name,
  model: { kind: 'logistic', inputs: 13, classes: 2 },
  data: { dataset: 'heart', contractHash: contractHash(contract) },
  rounds: 1,
  minClients: 3,
  sampling: { mode: 'poisson', rate: 1 },
  consent: { required: false },
  secagg: { enabled: true, weighting: 'uniform' },
});

let server: CoordinatorServer;

beforeAll(async () => {
  server = await startCoordinator({ logger, port: 0, roster: consortium.roster, jobs: { contracts: [held], secAggIdentities: () => identities, waitClientsMs: 60_000 } });
  server.jobs.start();
}, 60_000);

afterAll(async () => {
  await server.close();
});

describe('hosted jobs and the contracts the coordinator holds', () => {
  it('a job naming a contract the coordinator does not hold is refused at assembly, coded; one naming the held contract runs', async () => {
    const refused = server.jobs.submit(job('site-unheld', notHeld));
    const ended = await server.jobs.waitFor(refused.jobId);
    expect([ended.state, ended.reason.code]).toEqual(['failed', 'TESSERA_ERR_CONTRACT_UNAVAILABLE']);

    const running = server.jobs.submit(job('site-held', held));
    // Assembly with the held contract succeeds: the job is running (waiting for its three clients) and stays so.
    await expect.poll(() => server.jobs.get(running.jobId)?.view.state, { timeout: 10_000 }).toBe('running');
    await new Promise((r) => setTimeout(r, 1500));
    expect(server.jobs.get(running.jobId)?.view).toMatchObject({ state: 'running', reason: { code: null } });
    expect(server.jobs.cancel(running.jobId).state).toMatch(/^(cancelled|running)$/);
    expect((await server.jobs.waitFor(running.jobId)).state).toBe('cancelled');
  }, 60_000);
});
