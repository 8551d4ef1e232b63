/** The debug memory probe (TESSERA_DEBUG_MEMORY=1): silent by default; when on, one peak record per stage, sizes only. */
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { memoryProbe } from './memory-probe.ts';

function capture(): { logger: pino.Logger; lines: () => Array<Record<string, unknown>> } {
  const out: string[] = [];
  const stream = new Writable({ write: (chunk: Buffer, _enc, cb) => (out.push(chunk.toString()), cb()) });
  return { logger: pino({ level: 'info' }, stream), lines: () => out.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

describe('memory probe', () => {
  const before = process.env.TESSERA_DEBUG_MEMORY;
  afterEach(() => {
    if (before === undefined) delete process.env.TESSERA_DEBUG_MEMORY;
    else process.env.TESSERA_DEBUG_MEMORY = before;
  });

  it('logs nothing unless TESSERA_DEBUG_MEMORY=1', () => {
    delete process.env.TESSERA_DEBUG_MEMORY;
    const c = capture();
    const p = memoryProbe(c.logger, 'r1');
    p.mark('advertise');
    p.stop();
    expect(c.lines()).toEqual([]);
  });

  it('records the peak of each stage, including memory allocated inside it', async () => {
    process.env.TESSERA_DEBUG_MEMORY = '1';
    const c = capture();
    const p = memoryProbe(c.logger, 'r1');
    p.mark('advertise');
    const held = new Uint8Array(64 * 1024 * 1024).fill(1); // 64 MB of array buffers during share-keys
    p.mark('share-keys');
    await new Promise((r) => setTimeout(r, 250));
    p.mark('masked-input');
    expect(held[0]).toBe(1);
    p.stop();
    const summary = c.lines().at(-1) as { stages: Record<string, { arrayBuffersMb: number; rssMb: number; samples: number }> };
    expect(Object.keys(summary.stages)).toEqual(['start', 'advertise', 'share-keys', 'masked-input']);
    expect(summary.stages['share-keys']?.arrayBuffersMb).toBeGreaterThanOrEqual(64);
    expect(summary.stages['share-keys']?.samples).toBeGreaterThanOrEqual(2);
    expect(c.lines().filter((l) => l.msg === 'memory probe: stage change')).toHaveLength(3);
  });
});
