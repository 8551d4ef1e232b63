/**
 * The console's one script: browser/main.ts and vega-embed (with vega, vega-lite and vega-interpreter) bundled
 * by esbuild into one ES module, built from node_modules on the first request and kept in memory — no CDN, so
 * the console works offline, and no build artifact in the repository. About 0.9 MB minified; building takes
 * about a second, once per coordinator process.
 */
import { createHash } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TesseraError } from '../../protocol/errors.ts';

export interface ConsoleBundle {
  readonly code: string;
  /** A strong ETag: the SHA-256 of the code. */
  readonly etag: string;
}

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
    platform: 'browser',
    target: 'es2022',
    minify: true,
    write: false,
    legalComments: 'none',
    logLevel: 'silent',
    absWorkingDir: join(HERE, '..', '..'),
  });
  const code = out.outputFiles[0]?.text;
  if (code === undefined) throw new TesseraError('TESSERA_ERR_INTERNAL', 'the console bundle produced no output');
  return { code, etag: `"${createHash('sha256').update(code).digest('hex').slice(0, 32)}"` };
}

/** The bundle, built once per process (a failed build is retried at the next request). */
export function consoleBundle(): Promise<ConsoleBundle> {
  building ??= build().catch((e: unknown) => {
    building = null;
    throw e;
  });
  return building;
}
