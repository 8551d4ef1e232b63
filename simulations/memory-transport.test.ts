/**
 * The in-memory transport isolates the two sides as a socket does: what arrives is a deep copy (copyMessage), so
 * neither side can change what the other holds, and a binary field arrives as exactly its bytes.
 */
import { describe, expect, it } from 'vitest';
import { PROTOCOL_VERSION } from '../protocol/version.ts';
import { copyMessage, createMemoryHub } from './memory-transport.ts';

describe('copyMessage', () => {
  it('copies plain data deeply: changing the copy leaves the original as it was', () => {
    const original = { type: 'update', nested: { list: [1, 2.5, { deep: 'x' }], flag: true, none: null, missing: undefined }, data: new Uint8Array([1, 2, 3]) };
    const copy = copyMessage(original) as typeof original;
    expect(copy).toEqual(original);
    expect('missing' in copy.nested).toBe(true);
    (copy.nested.list[2] as { deep: string }).deep = 'changed';
    copy.nested.list.push(9);
    copy.data[0] = 99;
    expect(original.nested.list).toEqual([1, 2.5, { deep: 'x' }]);
    expect(original.data[0]).toBe(1);
  });

  it('copies only the bytes a binary field views, as a plain Uint8Array', () => {
    const big = new Uint8Array(4096).map((_, i) => i % 251);
    const view = big.subarray(100, 108);
    const copy = copyMessage({ view, buffer: Buffer.from([7, 8]) }) as { view: Uint8Array; buffer: Uint8Array };
    expect(copy.view.buffer.byteLength).toBe(8);
    expect([...copy.view]).toEqual([...view]);
    expect(copy.buffer).toBeInstanceOf(Uint8Array);
    expect([...copy.buffer]).toEqual([7, 8]);
  });

  it('leaves values that are not plain data to structuredClone', () => {
    const at = new Date(5);
    const floats = new Float32Array([1.5, 2]);
    const copy = copyMessage({ at, floats, map: new Map([['k', 1]]) }) as { at: Date; floats: Float32Array; map: Map<string, number> };
    expect(copy.at).toBeInstanceOf(Date);
    expect(copy.at).not.toBe(at);
    expect(copy.at.getTime()).toBe(5);
    expect(copy.floats).toBeInstanceOf(Float32Array);
    expect(copy.floats).not.toBe(floats);
    expect(copy.map.get('k')).toBe(1);
  });
});

describe('the in-memory hub', () => {
  it('delivers a copy each way: the receiver cannot reach into the sender’s message', async () => {
    const hub = createMemoryHub();
    const atServer: unknown[] = [];
    let connection: { send(m: unknown): void } | undefined;
    hub.server.onConnection((c) => {
      connection = c as unknown as { send(m: unknown): void };
      c.onMessage((m) => atServer.push(m));
    });
    const client = hub.connect({ protocolVersion: PROTOCOL_VERSION, clientId: 'c', orgId: 'o' });
    const atClient: unknown[] = [];
    client.onMessage((m) => atClient.push(m));
    await new Promise<void>((r) => client.onConnect(r));
    const sent = { type: 'decline', jobId: 'j', round: 1, taskId: 't', reason: { code: 'X', message: 'm' } } as const;
    client.send(sent);
    const toClient = { type: 'welcome', protocolVersion: PROTOCOL_VERSION, clientId: 'c' };
    connection?.send(toClient);
    await new Promise((r) => setImmediate(r));
    expect(atServer).toEqual([sent]);
    expect(atServer[0]).not.toBe(sent);
    expect((atServer[0] as typeof sent).reason).not.toBe(sent.reason);
    expect(atClient).toEqual([toClient]);
    expect(atClient[0]).not.toBe(toClient);
    client.close();
    await hub.server.close();
  });
});
