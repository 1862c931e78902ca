/**
 * The worker and the built-in job kinds compiled to JavaScript, so that a run's process starts in
 * plain Node: under tsx every process would first compile the TypeScript it loads, a few hundred
 * milliseconds that would count in each run's wall time. esbuild bundles it in about a tenth of a
 * second, and only when a file it is made from has changed since the last build (cachedBuild);
 * packages stay external, so the bundle lives inside node_modules/ where Node finds them. The build
 * lands in a folder named by its contents' hash, so every bench of the same harness runs its workers
 * from the same path: V8 hashes and lays out the script's path and module URLs, and a different path
 * moved a count run's training instructions by up to 2.4e-4.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join, relative, resolve } from 'node:path';
import type { BuildOptions, Plugin } from 'esbuild';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { writeFileAtomic } from '../files.ts';
import { WORKER_KINDS } from './kinds/index.ts';

const PROJECT_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const WORKER_SOURCE = fileURLToPath(new URL('./worker.ts', import.meta.url));
const CACHE = join(PROJECT_ROOT, 'node_modules', '.cache', 'microgpt-bench');

export interface WorkerBuild {
  /** The compiled worker script. */
  readonly script: string;
  /** A built-in kind's module URL → its compiled module's URL. */
  readonly kindModules: ReadonlyMap<string, string>;
}

/**
 * The worker for a bench: compiled. A TypeScript plugin module, which only tsx can import, sends the
 * runs of its own engines to the TypeScript worker under tsx (process-executor.ts); every other run,
 * a JavaScript plugin's (one bundled to .mjs, say) included, runs from the compiled worker.
 */
export async function workerFor(): Promise<WorkerBuild> {
  return buildWorker();
}

export function isTypeScript(module: string): boolean {
  return /\.[cm]?tsx?$/.test(module);
}

/**
 * Builds with CHUNKED_NODE_BUNDLE and `options` into the cache; returns the folder named by its
 * contents, and whether esbuild ran. A build is used again, without starting esbuild, while every
 * file it was made from has the contents it had then (BuildRecord): a bench asks for its worker each
 * time it starts, and building it took 0.27 s of CPU (0.16 s of wall time) of every bench.
 */
export async function cachedBuild(prefix: string, options: BuildOptions): Promise<{ dir: string; built: boolean }> {
  const recordPath = join(CACHE, `${prefix}-inputs-${buildKey(options)}.json`);
  const reused = reusableBuild(recordPath);
  if (reused !== null) return { dir: reused, built: false };
  const { build } = await import('esbuild');
  mkdirSync(CACHE, { recursive: true });
  const outdir = mkdtempSync(join(CACHE, 'build-'));
  // A second's margin: an input written this close to the build may have been read before it changed.
  const started = Date.now() - 1000;
  let inputs: string[];
  try {
    const result = await build({ ...CHUNKED_NODE_BUNDLE, ...options, outdir, metafile: true });
    inputs = Object.keys(result.metafile.inputs).map((path) => resolve(path));
  } catch (err) {
    rmSync(outdir, { recursive: true, force: true });
    throw err;
  }
  const dir = settleBuild(outdir, prefix);
  recordBuild(recordPath, dir, inputs, started);
  return { dir, built: true };
}

/**
 * Writes the record that lets the next bench use `dir` as it is, unless an input changed after
 * `since` (the build may have read it before) or cannot be read: the build then runs again next time.
 */
function recordBuild(recordPath: string, dir: string, inputs: readonly string[], since: number): void {
  try {
    if (inputs.some((path) => statSync(path).mtimeMs >= since)) return;
    const record: BuildRecord = { dir: basename(dir), inputs: inputs.map((path) => [path, fileHash(path)]) };
    writeFileAtomic(recordPath, JSON.stringify(record));
  } catch {
    // No record: only the next build's time is lost.
  }
}

/** What a cached build was made from: each input file (esbuild's metafile lists them) and its contents' hash. */
interface BuildRecord {
  /** The build's folder, in the cache. */
  readonly dir: string;
  readonly inputs: readonly (readonly [path: string, sha256: string])[];
}

const fileHash = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

/**
 * The build's identity apart from its inputs: its options, esbuild's version, and this file (which
 * holds the options every build shares and the plugins' code). Packages are left out of the builds,
 * so the inputs are the project's own files.
 */
function buildKey(options: BuildOptions): string {
  const { plugins = [], ...rest } = options;
  const esbuild = createRequire(import.meta.url)('esbuild/package.json') as { version: string };
  const identity = [rest, plugins.map((p) => p.name), esbuild.version, fileHash(fileURLToPath(import.meta.url))];
  return createHash('sha256').update(JSON.stringify(identity)).digest('hex').slice(0, 16);
}

/** The cached build a record names, if it is still there and every input still has the contents recorded. */
function reusableBuild(recordPath: string): string | null {
  let record: BuildRecord;
  try {
    record = JSON.parse(readFileSync(recordPath, 'utf8')) as BuildRecord;
  } catch {
    return null;
  }
  const dir = join(CACHE, record.dir);
  if (!existsSync(dir)) return null;
  for (const [path, hash] of record.inputs) {
    try {
      if (fileHash(path) !== hash) return null;
    } catch {
      return null;
    }
  }
  return dir;
}

export async function buildWorker(): Promise<WorkerBuild> {
  const entries = [WORKER_SOURCE, ...WORKER_KINDS.map((k) => fileURLToPath(k.module))];
  // Shared modules in shared chunks: the worker and a kind must see one DivergedError class.
  const { dir } = await cachedBuild('worker', { entryPoints: entries, outbase: PROJECT_ROOT });
  const compiled = (source: string) => join(dir, relative(PROJECT_ROOT, source).replace(/\.ts$/, '.mjs'));
  return {
    script: compiled(WORKER_SOURCE),
    kindModules: new Map(WORKER_KINDS.map((k) => [k.module, pathToFileURL(compiled(fileURLToPath(k.module))).href])),
  };
}

/**
 * esbuild's options for ES modules run by Node from under node_modules/.cache (where Node finds the
 * packages left out of them), modules shared between entry points in chunks of their own.
 */
export const CHUNKED_NODE_BUNDLE = {
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  packages: 'external',
  outExtension: { '.js': '.mjs' },
  logLevel: 'silent',
} as const satisfies BuildOptions;

/**
 * Keeps each project file's own `import.meta.url` inside a bundle (packages' files are left as they
 * are): code that finds paths from where it lives (the repository's root, the wasm build) finds the
 * same ones as when its source is run under tsx.
 */
export const SOURCE_URL_PLUGIN: Plugin = {
  name: 'source-import-meta-url',
  setup(build) {
    build.onLoad({ filter: /\.ts$/ }, (args) => {
      if (args.path.includes('/node_modules/')) return undefined;
      const source = readFileSync(args.path, 'utf8');
      const url = JSON.stringify(pathToFileURL(args.path).href);
      return { contents: source.replaceAll('import.meta.url', url), loader: 'ts' };
    });
  },
};

/**
 * A command script compiled for a process the harness starts many of (bench:micro starts one per
 * engine and operation): plain Node starts it in about a quarter of the CPU that tsx's loader takes,
 * and no loader thread runs beside the measurement. Built once per contents, as the worker is.
 * Returns the compiled script.
 */
export async function buildScript(source: string, prefix: string): Promise<string> {
  const { dir } = await cachedBuild(prefix, { entryPoints: [source], plugins: [SOURCE_URL_PLUGIN] });
  return join(dir, basename(source).replace(/\.ts$/, '.mjs'));
}

/**
 * Moves a fresh build to the folder named by its contents (`<prefix>-<hash>` beside it), or drops it
 * where that folder is already there (another bench's); returns that folder.
 */
export function settleBuild(outdir: string, prefix: string): string {
  const hash = createHash('sha256');
  const files = readdirSync(outdir, { recursive: true, encoding: 'utf8' }).sort();
  for (const file of files.filter((f) => f.endsWith('.mjs'))) {
    hash
      .update(file)
      .update('\0')
      .update(readFileSync(join(outdir, file)))
      .update('\0');
  }
  const dir = join(dirname(outdir), `${prefix}-${hash.digest('hex').slice(0, 16)}`);
  try {
    renameSync(outdir, dir);
  } catch (err) {
    rmSync(outdir, { recursive: true, force: true });
    if (!existsSync(dir)) throw err;
  }
  // Kept, never removed: another bench of the same harness may be running from it.
  return dir;
}
