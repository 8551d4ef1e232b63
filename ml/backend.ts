/**
 * Chooses and initialises the TensorFlow.js backend, once per process. Order when nothing is asked for:
 * `tensorflow` (libtensorflow through @tensorflow/tfjs-node, an optional dependency that cannot install on
 * machines without network access to its binaries), then `wasm` (XNNPACK with SIMD; about 3–4× `cpu` on an
 * MLP here), then `cpu` (pure JavaScript). `TESSERA_BACKEND=node|wasm|cpu` overrides the order; an explicit
 * `preferred` argument (e.g. from a CLI flag) overrides the environment.
 *
 * Every module imports tfjs as `import * as tf from '@tensorflow/tfjs'`: tfjs-node and tfjs-backend-wasm
 * register on that same tfjs-core, so there is one engine, one variable registry and one memory count.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { getThreadsCount, setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { TesseraError } from '../protocol/errors.ts';
import { registerWasmTrainingKernels } from './kernels/register-wasm.ts';

export type BackendName = 'tensorflow' | 'wasm' | 'cpu';
export type BackendPreference = 'node' | 'wasm' | 'cpu';

export interface BackendInfo {
  readonly name: BackendName;
  /** wasm only: whether the SIMD build of the module was loaded. */
  readonly simd?: boolean;
  /** wasm only: threads in its pool (1 in Node: the wasm build uses no worker threads there). */
  readonly threads?: number;
}

export const BACKEND_ENV = 'TESSERA_BACKEND';
const AUTO_ORDER: readonly BackendName[] = ['tensorflow', 'wasm', 'cpu'];
// A variable specifier: TypeScript does not resolve it (the package is usually absent) and types it unknown.
const TFJS_NODE: string = '@tensorflow/tfjs-node';

const PREFERENCE_TO_NAME: Readonly<Record<string, BackendName>> = {
  node: 'tensorflow',
  tensorflow: 'tensorflow',
  wasm: 'wasm',
  cpu: 'cpu',
};

let active: BackendInfo | undefined;
/** Backends whose initialisation was tried: the info when it worked, the failure reason otherwise. */
const tried = new Map<BackendName, BackendInfo | Error>();
/** Serialises initialisation: two concurrent callers must not both switch backends half-way. */
let queue: Promise<unknown> = Promise.resolve();
let wasmPathsSet = false;

function serial<T>(fn: () => Promise<T>): Promise<T> {
  const run = queue.then(fn, fn);
  queue = run.catch(() => undefined);
  return run;
}

/** Parses a backend preference (CLI flag or `TESSERA_BACKEND`); 'auto' and '' mean "no preference". */
export function parseBackendPreference(value: string | undefined, source = BACKEND_ENV): BackendName | undefined {
  if (value === undefined) return undefined;
  const v = value.trim().toLowerCase();
  if (v === '' || v === 'auto') return undefined;
  const name = PREFERENCE_TO_NAME[v];
  if (name === undefined) {
    throw new TesseraError('TESSERA_ERR_INVALID_ARGUMENT', `${source} must be one of node, wasm, cpu or auto; got '${value}'`);
  }
  return name;
}

/** The dist/ directory of tfjs-backend-wasm as a file path ending in '/', where its .wasm files lie. */
export function wasmDistDirectory(): string {
  const require = createRequire(import.meta.url);
  const wasmFile = require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm');
  return `${path.dirname(wasmFile)}/`;
}

async function loadTfjsNode(): Promise<void> {
  // Importing tfjs-node registers the 'tensorflow' backend on the shared tfjs-core as a side effect.
  const mod: unknown = await import(TFJS_NODE);
  if (mod === null || typeof mod !== 'object' || tf.findBackendFactory('tensorflow') === null) {
    throw new Error(`${TFJS_NODE} loaded but registered no 'tensorflow' backend on this tfjs-core (two tfjs-core copies?)`);
  }
}

async function prepare(name: BackendName): Promise<void> {
  if (name === 'tensorflow') await loadTfjsNode();
  if (name === 'wasm') {
    registerWasmTrainingKernels();
    if (!wasmPathsSet) {
      setWasmPaths(wasmDistDirectory());
      wasmPathsSet = true;
    }
  }
}

function describe(name: BackendName): BackendInfo {
  if (name !== 'wasm') return { name };
  return { name, simd: tf.env().getBool('WASM_HAS_SIMD_SUPPORT'), threads: getThreadsCount() };
}

/** Initialises `name` and makes it the active backend; the result of a failure is remembered. */
async function activate(name: BackendName): Promise<BackendInfo> {
  const previous = tried.get(name);
  if (previous instanceof Error) throw previous;
  try {
    await prepare(name);
    const ok = await tf.setBackend(name);
    if (!ok) throw new Error(`tf.setBackend('${name}') reported failure`);
    await tf.ready();
  } catch (err) {
    const error = err instanceof Error ? err : new Error(String(err));
    tried.set(name, error);
    throw error;
  }
  const info = previous ?? describe(name);
  tried.set(name, info);
  active = info;
  return info;
}

function unavailable(name: BackendName, cause: unknown): TesseraError {
  const hint = name === 'tensorflow' ? ' (install @tensorflow/tfjs-node, or choose wasm or cpu)' : '';
  return new TesseraError('TESSERA_ERR_BACKEND_UNAVAILABLE', `the TensorFlow.js backend '${name}' cannot be loaded here${hint}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
}

/**
 * Selects the backend. Without a preference (argument, then `TESSERA_BACKEND`) the first that loads of
 * tensorflow → wasm → cpu; a backend asked for by name that cannot load is an error, not a silent fallback.
 * Idempotent: once initialised, a call with no preference, or the same one, returns the same info; a call
 * naming another backend switches to it (tensors move between backends on demand).
 */
export function initBackend(preferred?: BackendPreference): Promise<BackendInfo> {
  return serial(async () => {
    // Production mode only silences tfjs's console warnings (e.g. the cpu backend's "install tfjs-node"
    // banner, which points at a package that cannot install here); operators read our pino logs instead.
    tf.enableProdMode();
    const wanted = preferred !== undefined ? parseBackendPreference(preferred, 'backend') : parseBackendPreference(process.env[BACKEND_ENV]);
    if (active !== undefined && (wanted === undefined || wanted === active.name)) {
      // Another module may have called tf.setBackend directly; put ours back so the answer stays true.
      if (tf.getBackend() !== active.name) await tf.setBackend(active.name);
      return active;
    }
    if (wanted !== undefined) {
      try {
        return await activate(wanted);
      } catch (err) {
        throw unavailable(wanted, err);
      }
    }
    const failures: string[] = [];
    for (const name of AUTO_ORDER) {
      try {
        return await activate(name);
      } catch (err) {
        failures.push(`${name}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    throw new TesseraError('TESSERA_ERR_BACKEND_UNAVAILABLE', `no TensorFlow.js backend could be loaded (${failures.join('; ')})`);
  });
}

/** The backend chosen by initBackend, if any. */
export function activeBackend(): BackendInfo | undefined {
  return active;
}

/**
 * Every backend that loads in this process, in preference order. Tries each once, then restores the backend
 * that was active before (if any), so benchmarks and diagnostics can call it at any time.
 */
export function listAvailableBackends(): Promise<BackendInfo[]> {
  return serial(async () => {
    const before = active;
    const found: BackendInfo[] = [];
    for (const name of AUTO_ORDER) {
      try {
        found.push(await activate(name));
      } catch {
        // Not available here; the reason stays in `tried` for initBackend's error message.
      }
    }
    if (before !== undefined) await activate(before.name);
    else active = undefined;
    return found;
  });
}
