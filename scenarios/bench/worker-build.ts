/**
 * The worker and the built-in job kinds compiled to JavaScript once per bench, so that a run's
 * process starts in plain Node: under tsx every process would first compile the TypeScript it loads,
 * a few hundred milliseconds that would count in each run's wall time. esbuild bundles it in about a
 * tenth of a second; packages stay external, so the bundle lives inside node_modules/ where Node
 * finds them.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { WORKER_KINDS } from './kinds/index.ts';

const PROJECT_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const WORKER_SOURCE = fileURLToPath(new URL('./worker.ts', import.meta.url));
const CACHE = join(PROJECT_ROOT, 'node_modules', '.cache', 'microgpt-bench');

export interface WorkerBuild {
  /** The compiled worker script. */
  readonly script: string;
  /** A built-in kind's module URL → its compiled module's URL. */
  readonly kindModules: ReadonlyMap<string, string>;
  dispose(): void;
}

export async function buildWorker(): Promise<WorkerBuild> {
  const { build } = await import('esbuild');
  mkdirSync(CACHE, { recursive: true });
  const outdir = mkdtempSync(join(CACHE, 'worker-'));
  const entries = [WORKER_SOURCE, ...WORKER_KINDS.map((k) => fileURLToPath(k.module))];
  try {
    await build({
      entryPoints: entries,
      outbase: PROJECT_ROOT,
      outdir,
      bundle: true,
      // Shared modules in shared chunks: the worker and a kind must see one DivergedError class.
      splitting: true,
      format: 'esm',
      platform: 'node',
      target: 'node20',
      packages: 'external',
      outExtension: { '.js': '.mjs' },
      logLevel: 'silent',
    });
  } catch (err) {
    rmSync(outdir, { recursive: true, force: true });
    throw err;
  }
  const compiled = (source: string) => join(outdir, relative(PROJECT_ROOT, source).replace(/\.ts$/, '.mjs'));
  return {
    script: compiled(WORKER_SOURCE),
    kindModules: new Map(WORKER_KINDS.map((k) => [k.module, pathToFileURL(compiled(fileURLToPath(k.module))).href])),
    dispose: () => rmSync(outdir, { recursive: true, force: true }),
  };
}
