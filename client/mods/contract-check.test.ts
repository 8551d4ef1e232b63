/**
 * The data-contract check's outcome is cached per (data fingerprint, contract hash): repeated tasks on the
 * same data and contract do not re-run it, and a change to either re-runs it and changes the answer. Real UCI
 * Heart data (Cleveland passes the built-in contract, Switzerland fails it; Janosi et al. 1988, ../shared/data)
 * and the real admission path.
 */
import { join } from 'node:path';
import { createHash, randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { admit } from './mod.ts';
import { contractCheckMod, contractChecksRun, tableFingerprint } from './contract-check.ts';
import { loadBuiltinContract } from '../../datasets/contracts/index.ts';
import { readContractTable } from '../../governance/contract/load.ts';
import { contractHash, type Contract } from '../../governance/contract/schema.ts';
import type { CsvTable } from '../../lib/csv.ts';
import { encodeFloat32 } from '../../protocol/tensor.ts';
import { logger, logisticJob } from '../../test/support/federation-fixtures.ts';
import { SHARED_DATA_DIR } from '../../test/paths.ts';

const contract = loadBuiltinContract('heart');
const heart = (file: string): CsvTable => readContractTable(contract, join(SHARED_DATA_DIR, 'heart', file));

function trainTask(hash: string): Parameters<typeof admit>[1]['task'] {
  const job = logisticJob({ data: { dataset: 'heart', contractHash: hash } });
  return { type: 'train', jobId: 'contract-cache', round: 1, taskId: randomUUID(), job, weights: encodeFloat32(new Float32Array(1)), deadlineMs: 30_000 };
}

async function decision(c: Contract, table: CsvTable, hash = contractHash(c)): Promise<string> {
  const a = await admit([contractCheckMod({ contract: c, table, declineDetail: false })], { task: trainTask(hash), clientId: 'c', orgId: 'o', logger });
  // A passing check contributes its counts and drift sums (the dataContract extension); equal vectors, equal outcome.
  return a.accept ? `accepted ${JSON.stringify(a.extensions?.dataContract ?? null)}` : a.reason.code;
}

describe('the contract check cache', () => {
  it('runs the check once per (data, contract) over many tasks and clients', async () => {
    const cleveland = heart('processed.cleveland.data');
    const before = contractChecksRun();
    const first = await decision(contract, cleveland);
    expect(first).toMatch(/^accepted \[1,1,/); // checked 1, passed 1, then the drift sums
    for (let i = 0; i < 5; i++) expect(await decision(contract, cleveland)).toBe(first);
    // Another client reading the same file gets a different table object with the same fingerprint.
    const again = heart('processed.cleveland.data');
    expect(again).not.toBe(cleveland);
    expect(tableFingerprint(again)).toBe(tableFingerprint(cleveland));
    expect(await decision(contract, again)).toBe(first);
    expect(contractChecksRun() - before).toBe(1);
  });

  it('re-runs the check when the data changes, and answers for the new data', async () => {
    const cleveland = heart('processed.cleveland.data');
    await decision(contract, cleveland);
    const before = contractChecksRun();
    // Switzerland's rows fail the contract (cholesterol recorded as 0, among others).
    expect(await decision(contract, heart('processed.switzerland.data'))).toBe('TESSERA_ERR_CONTRACT_VIOLATION');
    // One cell changed in an otherwise identical table: a new fingerprint, a new check.
    const edited: CsvTable = { ...cleveland, rows: cleveland.rows.map((r, i) => (i === 0 ? r.map((v, j) => (j === 0 ? '-5' : v)) : r)) };
    expect(tableFingerprint(edited)).not.toBe(tableFingerprint(cleveland));
    expect(await decision(contract, edited)).toBe('TESSERA_ERR_CONTRACT_VIOLATION');
    expect(contractChecksRun() - before).toBe(2);
  });

  it('re-runs the check when the contract changes', async () => {
    const cleveland = heart('processed.cleveland.data');
    await decision(contract, cleveland);
    const before = contractChecksRun();
    const next: Contract = { ...contract, version: `${contract.version}-next` };
    expect(contractHash(next)).not.toBe(contractHash(contract));
    expect(await decision(next, cleveland)).toMatch(/^accepted \[1,1,/);
    expect(contractChecksRun() - before).toBe(1);
    // The job naming the old contract is refused by the client holding the new one, without a check.
    expect(await decision(next, cleveland, contractHash(contract))).toBe('TESSERA_ERR_CONTRACT_MISMATCH');
    expect(contractChecksRun() - before).toBe(1);
  });

  it('fingerprints are unambiguous about cell boundaries', () => {
    const base = { header: ['a', 'b'], hasHeader: true, lines: [2], source: 'test' } as const;
    const t1: CsvTable = { ...base, rows: [['ab', 'c']] };
    const t2: CsvTable = { ...base, rows: [['a', 'bc']] };
    expect(tableFingerprint(t1)).not.toBe(tableFingerprint(t2));
  });

  it('the fingerprint is SHA-256 over the length-prefixed header and cells (hashed a row at a time, the same bytes)', () => {
    const table: CsvTable = { header: ['a', 'b'], hasHeader: true, lines: [2, 3], source: 'test', rows: [['x', 'Köln'], ['', '🙂,1']] };
    const h = createHash('sha256');
    for (const part of ['header 2|', '1:', 'a', '1:', 'b', 'rows 2|', '2|', '1:', 'x', '4:', 'Köln', '2|', '0:', '', '4:', '🙂,1']) h.update(part);
    expect(tableFingerprint(table)).toBe(h.digest('hex'));
  });
});
