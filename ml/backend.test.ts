import { afterEach, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { BACKEND_ENV, activeBackend, initBackend, listAvailableBackends, parseBackendPreference, wasmDistDirectory } from './backend.ts';
import { TesseraError } from '../protocol/errors.ts';
import { existsSync } from 'node:fs';

async function tfjsNodeInstalled(): Promise<boolean> {
  const name: string = '@tensorflow/tfjs-node';
  try {
    await import(name);
    return true;
  } catch {
    return false;
  }
}

const savedEnv = process.env[BACKEND_ENV];
afterEach(() => {
  if (savedEnv === undefined) delete process.env[BACKEND_ENV];
  else process.env[BACKEND_ENV] = savedEnv;
});

describe('initBackend', () => {
  it('picks tensorflow if tfjs-node loads, else wasm with SIMD, and is idempotent', async () => {
    delete process.env[BACKEND_ENV];
    const hasNode = await tfjsNodeInstalled();
    const info = await initBackend();
    expect(info.name).toBe(hasNode ? 'tensorflow' : 'wasm');
    if (!hasNode) {
      // DESIGN.md, "Technical facts": SIMD works in Node 20 here; the wasm build runs one thread in Node.
      expect(info).toEqual({ name: 'wasm', simd: true, threads: 1 });
    }
    expect(tf.getBackend()).toBe(info.name);
    expect(await initBackend()).toBe(info);
    expect(activeBackend()).toBe(info);
  });

  it('finds the .wasm files in the package dist directory', () => {
    const dir = wasmDistDirectory();
    expect(dir.endsWith('/')).toBe(true);
    expect(existsSync(`${dir}tfjs-backend-wasm-simd.wasm`)).toBe(true);
    expect(existsSync(`${dir}tfjs-backend-wasm.wasm`)).toBe(true);
  });

  it('follows TESSERA_BACKEND, and an explicit preference wins over it', async () => {
    process.env[BACKEND_ENV] = 'cpu';
    expect((await initBackend()).name).toBe('cpu');
    expect(tf.getBackend()).toBe('cpu');
    expect((await initBackend('wasm')).name).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
    // The environment asks for cpu again on the next call without a preference.
    expect((await initBackend()).name).toBe('cpu');
  });

  it('refuses an unknown TESSERA_BACKEND value as unusable input', async () => {
    process.env[BACKEND_ENV] = 'gpu';
    const err = await initBackend().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TesseraError);
    expect((err as TesseraError).code).toBe('TESSERA_ERR_INVALID_ARGUMENT');
    expect((err as TesseraError).exitCode).toBe(2);
  });

  it('reports tfjs-node as unavailable when asked for by name and it is not installed', async () => {
    if (await tfjsNodeInstalled()) return; // the other branch is covered by the first test
    delete process.env[BACKEND_ENV];
    const err = await initBackend('node').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TesseraError);
    expect((err as TesseraError).code).toBe('TESSERA_ERR_BACKEND_UNAVAILABLE');
    expect((err as TesseraError).message).toContain('@tensorflow/tfjs-node');
  });

  it('lists available backends and restores the active one', async () => {
    delete process.env[BACKEND_ENV];
    const before = await initBackend('wasm');
    const list = await listAvailableBackends();
    const names = list.map((b) => b.name);
    expect(names).toContain('wasm');
    expect(names).toContain('cpu');
    expect(names.indexOf('wasm')).toBeLessThan(names.indexOf('cpu'));
    expect(activeBackend()).toBe(before);
    expect(tf.getBackend()).toBe('wasm');
  });
});

describe('parseBackendPreference', () => {
  it('maps node to tensorflow and treats auto or empty as no preference', () => {
    expect(parseBackendPreference('node')).toBe('tensorflow');
    expect(parseBackendPreference(' WASM ')).toBe('wasm');
    expect(parseBackendPreference('auto')).toBeUndefined();
    expect(parseBackendPreference('')).toBeUndefined();
    expect(parseBackendPreference(undefined)).toBeUndefined();
  });
});
