// The compiled CLI (issue 18 §2): `tessera` runs JavaScript that esbuild built from this checkout's TypeScript,
// not a TypeScript transform at every start (tsx spends about 0.4 s of CPU per call compiling the CLI's modules).
//
// Design — stale compiled code never runs:
// - The build lives in <checkout>/.tessera-build/ (git-ignored) and is made lazily, on the first run that finds
//   none or a stale one, and by `npm ci` / `npm install` (the `prepare` script) so a fresh clone starts compiled.
//   Lazily because a checkout changes under `git pull` and edits without any install step in between.
// - The build's manifest lists every source file esbuild read (its metafile's inputs) and a SHA-256 over their
//   contents plus the build settings. Every start re-hashes those files (a few milliseconds) and runs the build
//   only when the hash matches; otherwise it rebuilds first. A changed file that no input imports cannot change
//   the program, and a newly imported file changes its importer, so the input list is exactly what matters.
// - One process builds at a time (a lock directory); a process that finds another one building runs the sources
//   through tsx instead of waiting, as does any process whose build fails (e.g. a read-only checkout) — never an
//   old build. TESSERA_CLI_SOURCES=1 always runs the sources.
// - esbuild bundles our code only (packages stay external and resolve from the checkout's node_modules), with
//   code splitting so the heavy modules load on use, as under tsx. The exception is TensorFlow.js (with what it
//   imports): Node lexes a CommonJS package for its exports each time an ES module imports it, in every thread —
//   about 1 s for tfjs in the CLI and again in each training worker of a parallel simulation — while bundled it is
//   only parsed. Its files are inputs like ours (an `npm ci` that changes them makes the build stale). It stays
//   external when @tensorflow/tfjs-node is installed: that package registers its backend on the tfjs-core it
//   requires itself, which must then be the only one (ml/backend.ts); installing or removing it makes the build
//   stale. `import.meta.url` in each source module is
//   replaced by that module's own source URL, so files found beside a module (the data contracts' JSON, the
//   secure-aggregation mask worker, package.json) are found where they are. The worker threads of a parallel
//   simulation (training) and of a parallel sweep (whole runs) are entry points too; the build tells their pools
//   where they are (__TESSERA_COMPILED_DIR__).
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { builtinModules, createRequire } from 'node:module';
import { join, relative, resolve } from 'node:path';
import process from 'node:process';
import { fileURLToPath, pathToFileURL, URL } from 'node:url';
import { promisify } from 'node:util';

/** Bump when the build settings below change: every existing build becomes stale. */
const BUILD_FORMAT = 4;
const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
const ENTRIES = { main: 'cli/main.ts', 'training-worker': 'simulations/training-worker.ts', 'sweep-run-worker': 'simulations/sweep/run-worker.ts' };
/** A lock older than this belongs to a process that died while building. */
const STALE_LOCK_MS = 120_000;
/** Builds no manifest points to are removed once this old (a running process may still load their chunks). */
const KEEP_OLD_BUILDS_MS = 3_600_000;

function buildRoot(root) {
  return join(root, '.tessera-build');
}

/** Whether the build bundles TensorFlow.js: unless @tensorflow/tfjs-node resolves from the checkout (see above). */
export function bundlesTensorflow(root = ROOT) {
  try {
    createRequire(join(root, 'package.json')).resolve('@tensorflow/tfjs-node');
    return false;
  } catch {
    return true;
  }
}

/** The TensorFlow.js packages the build may bundle (tfjs-node never: it is native and optional). */
const TFJS_PACKAGE = /^@tensorflow\/tfjs(-(core|layers|converter|data|backend-cpu|backend-webgl|backend-wasm))?(\/|$)/;
const BUILTINS = new Set(builtinModules);

/**
 * The names Node's export detection gives an ES module importing this CommonJS file. Asked of a separate Node
 * process: importing the package here would load a second TensorFlow.js into the process that goes on to run the
 * bundled one (two tfjs-cores each registering their kernels and backends, the wasm backend lost to cpu).
 */
async function exportNames(file) {
  const script = `const m = await import(${JSON.stringify(pathToFileURL(file).href)}); process.stdout.write(JSON.stringify(Object.keys(m)));`;
  const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], { maxBuffer: 16 * 1024 * 1024 });
  return JSON.parse(stdout);
}

/**
 * esbuild plugin: which imports stay external. Node's own modules and every package do — resolved at run time from
 * the checkout's node_modules — except, when `tensorflow`, TensorFlow.js and whatever a bundled package imports in
 * turn (so a bundled package gets the versions it would have resolved itself, nested node_modules included).
 *
 * Our modules import a bundled tfjs package through a facade, an ES module that re-exports the names Node itself
 * gives that CommonJS package (found by importing it here, through Node's own export detection): esbuild alone
 * would give a dynamic `import('@tensorflow/tfjs')` nothing but `default`, where Node gives every export.
 */
function externalsPlugin(root, tensorflow) {
  const FACADE = 'tessera-cjs-facade';
  return {
    name: 'tessera-externals',
    setup(build) {
      build.onResolve({ filter: /^[^./]/ }, (args) => {
        if (args.kind === 'entry-point') return undefined;
        const bare = args.path.startsWith('node:') ? args.path.slice(5) : args.path;
        if (args.path.startsWith('node:') || BUILTINS.has(bare.split('/')[0] ?? bare) || BUILTINS.has(bare)) return { path: args.path, external: true };
        if (!tensorflow) return { path: args.path, external: true };
        if (args.namespace === FACADE || args.importer.includes(`${'/'}node_modules${'/'}`)) return undefined;
        if (TFJS_PACKAGE.test(args.path)) return { path: args.path, namespace: FACADE };
        return { path: args.path, external: true };
      });
      build.onLoad({ filter: /.*/, namespace: FACADE }, async (args) => {
        const file = createRequire(join(root, 'package.json')).resolve(args.path);
        const names = (await exportNames(file)).filter((n) => n !== 'default');
        const lines = [`import __cjs from ${JSON.stringify(args.path)};`, 'export default __cjs;'];
        names.forEach((n, i) => lines.push(`const __v${i} = __cjs[${JSON.stringify(n)}];`));
        lines.push(`export { ${names.map((n, i) => `__v${i} as ${JSON.stringify(n)}`).join(', ')} };`);
        return { contents: lines.join('\n'), loader: 'js', resolveDir: root };
      });
    },
  };
}

/**
 * Bundled CommonJS code calls `require` and reads `__dirname` (tfjs-backend-wasm's Emscripten loader does), which
 * an ES module lacks: every output file defines them, for its own location.
 */
const COMMONJS_GLOBALS = [
  "import { createRequire as __tesseraCreateRequire } from 'node:module';",
  "import { dirname as __tesseraDirname } from 'node:path';",
  "import { fileURLToPath as __tesseraFileURLToPath } from 'node:url';",
  'const require = __tesseraCreateRequire(import.meta.url);',
  'const __filename = __tesseraFileURLToPath(import.meta.url);',
  'const __dirname = __tesseraDirname(__filename);',
].join('\n');

/**
 * SHA-256 over the build settings and each input's path and contents; null when an input is gone. `read` gives
 * a file's bytes: from disk at a check, the very bytes esbuild compiled at a build.
 */
export function inputsHash(root, inputs, read = (file) => readFileSync(join(root, file))) {
  const h = createHash('sha256');
  h.update(`tessera-cli-build ${BUILD_FORMAT} node ${process.versions.node.split('.')[0]}\n`);
  for (const file of inputs) {
    let content;
    try {
      content = read(file);
    } catch {
      return null;
    }
    h.update(`${file}\0${content.length}\0`);
    h.update(content);
  }
  return h.digest('hex');
}

function readManifest(root) {
  try {
    const m = JSON.parse(readFileSync(join(buildRoot(root), 'manifest.json'), 'utf8'));
    if (m && m.format === BUILD_FORMAT && typeof m.dir === 'string' && typeof m.hash === 'string' && typeof m.tensorflow === 'boolean' && Array.isArray(m.inputs) && m.inputs.every((f) => typeof f === 'string')) return m;
  } catch {
    // No build yet, or a torn/garbled manifest: treated as stale.
  }
  return null;
}

/** [size, mtime] of each input, the quick test of whether any changed (null when one is gone). */
function inputStats(root, inputs) {
  const out = [];
  for (const file of inputs) {
    try {
      const st = statSync(join(root, file));
      out.push([st.size, st.mtimeMs]);
    } catch {
      return null;
    }
  }
  return out;
}

function sameStats(a, b) {
  return Array.isArray(b) && a.length === b.length && a.every((s, i) => Array.isArray(b[i]) && s[0] === b[i][0] && s[1] === b[i][1]);
}

function writeManifest(root, manifest) {
  const tmp = join(buildRoot(root), `manifest.${randomBytes(6).toString('hex')}.tmp`);
  writeFileSync(tmp, `${JSON.stringify(manifest)}\n`);
  renameSync(tmp, join(buildRoot(root), 'manifest.json'));
}

/**
 * The compiled build's directory when it matches the sources exactly, else null. When every input has the size
 * and modification time recorded at the last check, its contents are taken as unchanged (stat is ~100× cheaper
 * than reading ~300 files); when any differs, the contents are hashed, and a match (a checkout or touch that
 * rewrote identical bytes) records the new times.
 */
export function freshBuild(root = ROOT) {
  const m = readManifest(root);
  if (!m) return null;
  const dir = join(buildRoot(root), m.dir);
  try {
    statSync(join(dir, 'main.js'));
  } catch {
    return null;
  }
  // tfjs-node installed or removed since the build: the other kind of build is needed (see above).
  if (m.tensorflow !== bundlesTensorflow(root)) return null;
  const stats = inputStats(root, m.inputs);
  if (stats === null) return null;
  if (sameStats(stats, m.stats)) return dir;
  if (inputsHash(root, m.inputs) !== m.hash) return null;
  try {
    writeManifest(root, { ...m, stats });
  } catch {
    // A read-only checkout: the hash is checked on every start instead.
  }
  return dir;
}

/**
 * esbuild plugin: `import.meta.url` in a source module becomes that module's own file URL (see above). It also
 * records what it read (`loaded`: bytes and the [size, mtime] taken BEFORE reading), so the manifest describes
 * the bytes compiled: a file edited during the build fails the next start's check. Bundled packages' files are
 * read and recorded the same way, and compiled as they are.
 */
function sourceUrlPlugin(root, loaded) {
  return {
    name: 'tessera-source-url',
    setup(build) {
      build.onLoad({ filter: /\.(ts|mjs|cjs|js|json)$/ }, (args) => {
        const st = statSync(args.path);
        const bytes = readFileSync(args.path);
        loaded.set(relative(root, args.path), { bytes, stat: [st.size, st.mtimeMs] });
        if (args.path.endsWith('.json')) return { contents: bytes, loader: 'json' };
        if (!args.path.startsWith(root) || args.path.includes(`${'/'}node_modules${'/'}`)) return { contents: bytes, loader: 'js' };
        const text = bytes.toString('utf8');
        const contents = text.replaceAll('import.meta.url', JSON.stringify(pathToFileURL(args.path).href));
        return { contents, loader: args.path.endsWith('.ts') ? 'ts' : 'js' };
      });
    },
  };
}

function takeLock(root) {
  const lock = join(buildRoot(root), 'build.lock');
  mkdirSync(buildRoot(root), { recursive: true });
  try {
    mkdirSync(lock);
    return lock;
  } catch (e) {
    if (e.code !== 'EEXIST') throw e;
  }
  try {
    if (Date.now() - statSync(lock).mtimeMs < STALE_LOCK_MS) return null;
    rmSync(lock, { recursive: true, force: true });
    mkdirSync(lock);
    return lock;
  } catch {
    return null;
  }
}

function pruneOldBuilds(root, keep) {
  for (const name of readdirSync(buildRoot(root))) {
    if (!name.startsWith('cli-') || name === keep) continue;
    const dir = join(buildRoot(root), name);
    try {
      if (Date.now() - statSync(dir).mtimeMs > KEEP_OLD_BUILDS_MS) rmSync(dir, { recursive: true, force: true });
    } catch {
      // Another process pruned it first.
    }
  }
}

/**
 * Builds the CLI into a new directory and publishes it (the manifest is replaced by a rename, so a reader sees
 * the old build or the new one, never half of one). Returns the new directory, or null when another process
 * holds the build lock. Throws when esbuild fails.
 */
export async function buildCli(root = ROOT) {
  const lock = takeLock(root);
  if (lock === null) return null;
  try {
    const { build } = await import('esbuild');
    const loaded = new Map();
    const tensorflow = bundlesTensorflow(root);
    const name = `cli-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
    const dir = join(buildRoot(root), name);
    const result = await build({
      absWorkingDir: root,
      entryPoints: ENTRIES,
      outdir: dir,
      bundle: true,
      splitting: true,
      format: 'esm',
      platform: 'node',
      target: 'node20',
      chunkNames: '[name]-[hash]',
      metafile: true,
      logLevel: 'silent',
      define: { __TESSERA_COMPILED_DIR__: JSON.stringify(dir) },
      banner: { js: COMMONJS_GLOBALS },
      plugins: [externalsPlugin(root, tensorflow), sourceUrlPlugin(root, loaded)],
    });
    const inputs = Object.keys(result.metafile.inputs)
      // The facades are generated from their packages, whose files are inputs themselves.
      .filter((f) => !f.startsWith('tessera-cjs-facade:'))
      .map((f) => relative(root, resolve(root, f)))
      .sort();
    const missing = inputs.filter((f) => !loaded.has(f));
    if (missing.length > 0) throw new Error(`esbuild read inputs the build cannot vouch for: ${missing.join(', ')}`);
    const hash = inputsHash(root, inputs, (f) => loaded.get(f).bytes);
    const stats = inputs.map((f) => loaded.get(f).stat);
    writeManifest(root, { format: BUILD_FORMAT, dir: name, tensorflow, hash, inputs, stats, builtAt: new Date().toISOString() });
    pruneOldBuilds(root, name);
    return dir;
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

/** The compiled CLI's entry file to import, building it first if stale; null means: run the sources. */
export async function compiledMain(root = ROOT) {
  if (process.env.TESSERA_CLI_SOURCES === '1') return null;
  let dir = freshBuild(root);
  if (dir === null) {
    try {
      dir = await buildCli(root);
    } catch (e) {
      if (process.env.TESSERA_CLI_DEBUG === '1') process.stderr.write(`tessera: the compiled CLI could not be built, running the sources: ${e instanceof Error ? e.message : String(e)}\n`);
      return null;
    }
  }
  return dir === null ? null : join(dir, 'main.js');
}

// `node bin/compiled-cli.mjs --build` (the `prepare` script): build now if stale. Never fails an install: the
// first `tessera` run retries, and the sources run meanwhile.
if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url) && process.argv[2] === '--build') {
  try {
    const dir = freshBuild() ?? (await buildCli());
    process.stdout.write(dir === null ? 'tessera: another process is building the compiled CLI\n' : `tessera: compiled CLI in ${relative(ROOT, dir)}\n`);
  } catch (e) {
    process.stderr.write(`tessera: the compiled CLI could not be built (the sources will run): ${e instanceof Error ? e.message : String(e)}\n`);
  }
}
