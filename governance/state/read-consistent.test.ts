/**
 * readConsistent: a view assembled from several reads sees one snapshot, however another connection (another
 * process: `tessera approve` beside a running coordinator) commits between those reads. The control shows the
 * torn read it prevents — the console's governance page once showed a satisfied gate beside one of its two
 * approvals, because the approvals and the gate were read on either side of a commit.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { appendAudit, readAuditEntries } from '../audit/log.ts';
import { openDatabase, readConsistent, type Db } from './database.ts';

const opened: Db[] = [];
const dirs: string[] = [];
afterEach(() => {
  for (const db of opened.splice(0)) db.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** Two connections to one fresh state database: the reader (the coordinator's) and the writer (a CLI process's). */
function twoConnections(): { reader: Db; writer: Db } {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-snapshot-'));
  dirs.push(dir);
  const reader = openDatabase(dir);
  const writer = openDatabase(dir);
  opened.push(reader, writer);
  appendAudit(writer, { actor: 'cli:test', action: 'job.started', subject: 'job-1' });
  return { reader, writer };
}

const commitBetween = (reader: Db, writer: Db): [number, number] => {
  const first = readAuditEntries(reader).length;
  appendAudit(writer, { actor: 'cli:test', action: 'job.started', subject: 'job-2' }); // committed by the other connection
  return [first, readAuditEntries(reader).length];
};

describe('readConsistent', () => {
  it('keeps every read of a view on the snapshot of its first read', () => {
    const { reader, writer } = twoConnections();
    expect(readConsistent(reader, () => commitBetween(reader, writer))).toEqual([1, 1]);
    // The commit was not lost: the next view sees it.
    expect(readAuditEntries(reader)).toHaveLength(2);
  });

  it('control: without it, a commit between two reads tears the view', () => {
    const { reader, writer } = twoConnections();
    expect(commitBetween(reader, writer)).toEqual([1, 2]);
  });

  it('runs inside a transaction the caller already holds', () => {
    const { reader } = twoConnections();
    expect(reader.transaction(() => readConsistent(reader, () => reader.inTransaction))()).toBe(true);
  });
});
