/** Where tests find the shared data sets and reference vectors (never copied into the repo). */
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const SHARED_DATA_DIR = process.env.TESSERA_DATA_DIR ?? resolve(REPO_ROOT, '../shared/data');
export const SHARED_VECTORS_DIR = process.env.TESSERA_VECTORS_DIR ?? resolve(REPO_ROOT, '../shared/vectors');
