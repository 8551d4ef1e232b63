/**
 * The console's script: browser/main.ts bundled by esbuild into ES modules — the entry `console.js` (the pages,
 * a few tens of kB) and a chunk with vega-embed, vega, vega-lite and vega-interpreter (about 0.9 MB minified)
 * that the first chart imports, so a page without charts never parses it. Built from node_modules on the first
 * request and kept in memory: no CDN (the console works offline) and no build artifact in the repository.
 * Building takes about a second, once per coordinator process.
 */
import { createHash } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TesseraError } from '../../protocol/errors.ts';

export interface BundleFile {
  readonly code: string;
  /** A strong ETag: the SHA-256 of the code. */
  readonly etag: string;
}

/** File name (`console.js`, `chunk-<hash>.js`) → file, as served under /console/assets/. */
export type ConsoleBundle = ReadonlyMap<string, BundleFile>;

const HERE = dirname(fileURLToPath(import.meta.url));
const ENTRY = join(HERE, 'browser', 'main.ts');
let building: Promise<ConsoleBundle> | null = null;

async function build(): Promise<ConsoleBundle> {
  // Loaded on use: esbuild is only needed by a coordinator whose console is opened.
  const esbuild = await import('esbuild');
  const out = await esbuild.build({
    entryPoints: [ENTRY],
    bundle: true,
    format: 'esm',
    splitting: true,
    outdir: 'assets',
    entryNames: 'console',
    chunkNames: 'chunk-[hash]',
    platform: 'browser',
    target: 'es2022',
    minify: true,
    write: false,
    legalComments: 'none',
    logLevel: 'silent',
    absWorkingDir: join(HERE, '..', '..'),
  });
  const files = new Map<string, BundleFile>();
  for (const f of out.outputFiles) files.set(basename(f.path), { code: f.text, etag: `"${createHash('sha256').update(f.text).digest('hex').slice(0, 32)}"` });
  if (!files.has('console.js')) throw new TesseraError('TESSERA_ERR_INTERNAL', 'the console bundle produced no console.js');
  return files;
}

/** The bundle, built once per process (a failed build is retried at the next request). */
export function consoleBundle(): Promise<ConsoleBundle> {
  building ??= build().catch((e: unknown) => {
    building = null;
    throw e;
  });
  return building;
}
