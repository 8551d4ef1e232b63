/**
 * Where the audit checkpoint signing key lives (issue 13 §2). An insider who can write the state directory
 * and read a key kept inside it can rewrite the log and re-sign it, so the key belongs elsewhere:
 * `--checkpoint-key FILE` (commands that take it) or `$TESSERA_CHECKPOINT_KEY`, created with mode 0600 on
 * first use. The default stays `<state>/keys/coordinator.key` so existing states keep verifying, and every
 * command that signs or trusts a checkpoint warns when the key is inside the state directory.
 */
import { existsSync, realpathSync } from 'node:fs';
import { basename, dirname, join, resolve, sep } from 'node:path';
import type { Ed25519KeyPair } from '../identity/ed25519.ts';
import { coordinatorKeyPath, generateKeyFile, loadOrCreateCoordinatorKey, readPrivateKeyFile } from '../identity/key-file.ts';

export const CHECKPOINT_KEY_ENV = 'TESSERA_CHECKPOINT_KEY';

export interface CheckpointKeyLocation {
  readonly path: string;
  readonly source: 'flag' | 'env' | 'default';
  readonly insideState: boolean;
}

function real(p: string): string {
  try {
    return realpathSync(p);
  } catch {
    return existsSync(dirname(p)) ? join(realpathSync(dirname(p)), basename(p)) : resolve(p);
  }
}

/**
 * Where the key is: `keyFile` (a command's `--checkpoint-key`, passed down explicitly by the caller, never kept
 * in the module), else `$TESSERA_CHECKPOINT_KEY`, else the default inside the state directory.
 */
export function checkpointKeyLocation(stateDir: string, keyFile?: string): CheckpointKeyLocation {
  const env = process.env[CHECKPOINT_KEY_ENV];
  const [path, source] = keyFile !== undefined ? [resolve(keyFile), 'flag' as const] : env ? [resolve(env), 'env' as const] : [coordinatorKeyPath(stateDir), 'default' as const];
  const state = real(resolve(stateDir));
  return { path, source, insideState: real(path).startsWith(state + sep) };
}

const cache = new Map<string, Ed25519KeyPair>();

/** The checkpoint signing key, created (0600) on first use. */
export function loadCheckpointKey(stateDir: string, keyFile?: string): Ed25519KeyPair {
  const loc = checkpointKeyLocation(stateDir, keyFile);
  if (loc.source === 'default') return loadOrCreateCoordinatorKey(stateDir);
  const cached = cache.get(loc.path);
  if (cached) return cached;
  let pair: Ed25519KeyPair;
  if (existsSync(loc.path)) pair = readPrivateKeyFile(loc.path);
  else {
    try {
      pair = generateKeyFile(loc.path);
    } catch (e) {
      if (!existsSync(loc.path)) throw e;
      pair = readPrivateKeyFile(loc.path);
    }
  }
  cache.set(loc.path, pair);
  return pair;
}

/** The warning printed when the key is inside the state directory (undefined when it is not). */
export function checkpointKeyWarning(stateDir: string, keyFile?: string): string | undefined {
  const loc = checkpointKeyLocation(stateDir, keyFile);
  if (!loc.insideState) return undefined;
  return `warning: the audit checkpoint key ${loc.path} is inside the state directory (${loc.source === 'default' ? 'the default' : `from ${loc.source === 'env' ? `$${CHECKPOINT_KEY_ENV}` : '--checkpoint-key'}`}); whoever can write the state can re-sign a rewritten log. Keep it elsewhere (--checkpoint-key FILE or $${CHECKPOINT_KEY_ENV}) and give checkpoints to witnesses (tessera audit checkpoint --out FILE).`;
}
