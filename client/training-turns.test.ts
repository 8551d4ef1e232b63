import { describe, expect, it } from 'vitest';
import { TrainingTurns } from './training-turns.ts';

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('TrainingTurns', () => {
  it('runs tasks one after another, in order, even when each awaits', async () => {
    const turns = new TrainingTurns();
    const log: string[] = [];
    const task = (name: string) => async (): Promise<void> => {
      log.push(`${name} start`);
      await tick();
      await tick();
      log.push(`${name} end`);
    };
    await Promise.all([turns.run(task('a'), () => undefined), turns.run(task('b'), () => undefined), turns.run(task('c'), () => undefined)]);
    expect(log).toEqual(['a start', 'a end', 'b start', 'b end', 'c start', 'c end']);
  });

  it('reports a failing task and keeps taking turns', async () => {
    const turns = new TrainingTurns();
    const errors: unknown[] = [];
    const ran: string[] = [];
    const failing = turns.run(async () => {
      await tick();
      throw new Error('boom');
    }, (e) => errors.push(e));
    const next = turns.run(async () => {
      ran.push('next');
    }, (e) => errors.push(e));
    await Promise.all([failing, next]);
    expect(errors).toEqual([new Error('boom')]);
    expect(ran).toEqual(['next']);
  });

  it('is an object, not process state: two sets of turns do not wait for each other', async () => {
    const a = new TrainingTurns();
    const b = new TrainingTurns();
    const log: string[] = [];
    let release: () => void = () => undefined;
    const blocked = a.run(() => new Promise<void>((resolve) => (release = resolve)), () => undefined);
    await b.run(async () => {
      log.push('b ran while a was busy');
    }, () => undefined);
    release();
    await blocked;
    expect(log).toEqual(['b ran while a was busy']);
  });

  it('with two slots runs two tasks at once and starts the third when one of them ends, in queue order', async () => {
    const turns = new TrainingTurns(2);
    const log: string[] = [];
    const release = new Map<string, () => void>();
    const task = (name: string) => async (): Promise<void> => {
      log.push(`${name} start`);
      await new Promise<void>((resolve) => release.set(name, resolve));
      log.push(`${name} end`);
    };
    const all = ['a', 'b', 'c', 'd'].map((n) => turns.run(task(n), () => undefined));
    await tick();
    expect(log).toEqual(['a start', 'b start']);
    release.get('b')?.();
    await tick();
    expect(log).toEqual(['a start', 'b start', 'b end', 'c start']);
    release.get('a')?.();
    await tick();
    release.get('c')?.();
    await tick();
    release.get('d')?.();
    await Promise.all(all);
    expect(log).toEqual(['a start', 'b start', 'b end', 'c start', 'a end', 'd start', 'c end', 'd end']);
  });

  it('refuses zero slots', () => {
    expect(() => new TrainingTurns(0)).toThrow(RangeError);
  });
});
