/**
 * A commit's engines made loadable by today's harness: the commit's tree exported into a folder of
 * its own, its dependencies (a repository with a package-lock.json) installed once per lockfile, and
 * its engines bundled by esbuild into one JavaScript module that the harness's compiled worker loads
 * as it loads any plugin (MICROGPT_BENCH_ENGINES). Whatever goes wrong here is that commit's failure,
 * in a phrase, never an exception out of the walk.
 *
 * Two sources of engines:
 * - a plugin repository (`--repo DIR --module PATH`): the module at PATH, bundled as it is;
 * - the harness's own repository: a generated module that imports the commit's engines/registry.ts
 *   and exports its entries as plugin engines named `<name>@commit` (a plugin may not reuse a built-in
 *   engine's name, and today's built-ins are registered too). Old engines get only what today's
 *   node_modules holds: the generated bundle lives under it, and the commit's package-lock.json is
 *   not installed (engines/ imports no package).
 *
 * Every commit's tree sits at the same place, `<work>/<commit>/`, so a commit measured again runs
 * its bundle from the same path (V8 hashes script paths; a different path moved counts by up to
 * 2.4e-4, see worker-build.ts), and every commit's path has the same length.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, readFileSync, renameSync, rmSync, symlinkSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { ENGINES, loadEngines, type EngineInfo } from '../../engines/registry.ts';
import { makeDirs, writeFileAtomic } from '../files.ts';
import { exportTree, fileAt, hasPath } from './git.ts';

/** The suffix the harness's own old engines are registered under, beside today's of the same name. */
export const OLD_ENGINE_SUFFIX = '@commit';
/** Where the harness's own repository keeps its engines' registry. */
export const HARNESS_REGISTRY = 'engines/registry.ts';
const LOCKFILE = 'package-lock.json';
const BUNDLE_DIR = '.microgpt-bench-history';

/** Where a commit's engines come from. */
export type EngineSource =
  | { readonly kind: 'harness'; readonly repo: string }
  | { readonly kind: 'plugin'; readonly repo: string; readonly module: string };

/** The module a source's commits must hold (to tell a commit without it). */
export function sourceModule(source: EngineSource): string {
  return source.kind === 'harness' ? HARNESS_REGISTRY : source.module;
}

/** A commit's engines, loaded: each as the harness registers it (run name) and as the table shows it. */
export interface CommitEngines {
  readonly bundle: string;
  /** The bundle's content hash: two commits with the same one run the same engines. */
  readonly bundleHash: string;
  readonly engines: readonly { readonly info: EngineInfo; readonly display: string }[];
}

export type Prepared =
  { readonly ok: true; readonly value: CommitEngines } | { readonly ok: false; readonly reason: string };

/** Dependencies installed per lockfile hash, shared by every commit (and every walk) with that lockfile. */
export interface DependencyCache {
  /** Installs made by this process (the rest were found installed). */
  readonly installed: string[];
  nodeModules(lockfile: Buffer, packageJson: Buffer | null): Promise<string>;
}

export function dependencyCache(root: string): DependencyCache {
  const pending = new Map<string, Promise<string>>();
  const installed: string[] = [];
  const install = async (hash: string, lockfile: Buffer, packageJson: Buffer | null): Promise<string> => {
    const dir = join(root, hash);
    if (existsSync(join(dir, 'node_modules'))) return join(dir, 'node_modules');
    const tmp = `${dir}.installing-${process.pid}`;
    rmSync(tmp, { recursive: true, force: true });
    makeDirs(tmp);
    writeFileAtomic(join(tmp, LOCKFILE), lockfile.toString('utf8'));
    if (packageJson) writeFileAtomic(join(tmp, 'package.json'), packageJson.toString('utf8'));
    try {
      await run('npm', ['ci', '--no-audit', '--no-fund', '--loglevel=error'], tmp);
      makeDirs(join(tmp, 'node_modules'));
      rmSync(dir, { recursive: true, force: true });
      renameSync(tmp, dir);
    } catch (err) {
      rmSync(tmp, { recursive: true, force: true });
      throw err;
    }
    installed.push(hash);
    return join(dir, 'node_modules');
  };
  return {
    installed,
    nodeModules(lockfile, packageJson) {
      const hash = createHash('sha256').update(lockfile).digest('hex').slice(0, 16);
      let p = pending.get(hash);
      if (!p) pending.set(hash, (p = install(hash, lockfile, packageJson)));
      return p;
    },
  };
}

/** A command that must succeed; its stderr's last line is the error. */
function run(file: string, args: readonly string[], cwd: string): Promise<void> {
  return new Promise((done, fail) => {
    const child = spawn(file, args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4096)));
    child.on('error', fail);
    child.on('close', (code) =>
      code === 0
        ? done()
        : fail(new Error(`${file} ${args[0]} exited with ${code}: ${stderr.trim().split('\n').at(-1) ?? ''}`)),
    );
  });
}

export interface PrepareOptions {
  readonly source: EngineSource;
  readonly commit: string;
  /** The commit's folder: removed and made anew. */
  readonly dir: string;
  readonly deps: DependencyCache;
  /** The engines asked for (display names), or null for all the commit has. */
  readonly wanted: readonly string[] | null;
}

/** The commit's tree exported, its engines bundled and loaded; or why not. */
export async function prepareCommit(o: PrepareOptions): Promise<Prepared> {
  const fail = (reason: string): Prepared => ({ ok: false, reason });
  const module = sourceModule(o.source);
  if (!hasPath(o.source.repo, o.commit, module)) return fail(`no ${module} at this commit`);
  rmSync(o.dir, { recursive: true, force: true });
  try {
    exportTree(o.source.repo, o.commit, o.dir);
  } catch (err) {
    return fail(`could not export the commit: ${firstLine(err)}`);
  }
  if (o.source.kind === 'plugin') {
    const lockfile = fileAt(o.source.repo, o.commit, LOCKFILE);
    if (lockfile) {
      try {
        const modules = await o.deps.nodeModules(lockfile, fileAt(o.source.repo, o.commit, 'package.json'));
        rmSync(join(o.dir, 'node_modules'), { recursive: true, force: true });
        symlinkSync(modules, join(o.dir, 'node_modules'), 'dir');
      } catch (err) {
        return fail(`dependencies did not install: ${firstLine(err)}`);
      }
    }
  }
  const entry = o.source.kind === 'plugin' ? join(o.dir, o.source.module) : writeHarnessEntry(o.dir);
  const bundle = join(o.dir, BUNDLE_DIR, 'engines.mjs');
  try {
    await bundleModule(entry, bundle);
  } catch (err) {
    return fail(`does not build: ${buildError(err)}`);
  }
  let all: readonly EngineInfo[];
  try {
    all = (await loadEngines(bundle, 'its engines module')).all.slice(ENGINES.length);
  } catch (err) {
    return fail(`does not load: ${firstLine(err)}`);
  }
  const display = (info: EngineInfo) =>
    o.source.kind === 'harness' ? info.name.slice(0, -OLD_ENGINE_SUFFIX.length) : info.name;
  const engines = all
    .map((info) => ({ info, display: display(info) }))
    .filter((e) => o.wanted === null || o.wanted.includes(e.display));
  const bundleHash = createHash('sha256').update(readFileSync(bundle)).digest('hex').slice(0, 16);
  return { ok: true, value: { bundle, bundleHash, engines } };
}

/**
 * The module that makes a commit of the harness a plugin: its registry's entries renamed, with what
 * an older registry may lack filled in (a field today's interface needs and the old entry lacks is
 * the load's failure).
 */
function writeHarnessEntry(dir: string): string {
  const path = join(dir, BUNDLE_DIR, 'entry.ts');
  writeFileAtomic(
    path,
    [
      `import * as registry from '../${HARNESS_REGISTRY}';`,
      // Registries before ENGINES was exported had engineNames() and findEngine().
      `const r = registry as Record<string, any>;`,
      `const listed = Array.isArray(r.ENGINES)`,
      `  ? r.ENGINES`,
      `  : typeof r.engineNames === 'function' && typeof r.findEngine === 'function'`,
      `    ? r.engineNames().map((name: string) => r.findEngine(name))`,
      `    : null;`,
      `if (!Array.isArray(listed))`,
      `  throw new Error('its ${HARNESS_REGISTRY} exports neither ENGINES nor engineNames()');`,
      `export const engines = listed.map((e: Record<string, unknown>) => ({`,
      `  study: 'at this commit',`,
      `  description: '',`,
      `  ...e,`,
      `  name: String(e.name) + ${JSON.stringify(OLD_ENGINE_SUFFIX)},`,
      `}));`,
      '',
    ].join('\n'),
  );
  return path;
}

/**
 * One ES module of the entry and everything it imports but packages. A relative import of a file the
 * commit does not hold (a build product it never committed, such as the wasm module's binary) is
 * left to fail when it runs, where an engine may catch it, instead of failing the whole bundle.
 */
async function bundleModule(entry: string, outfile: string): Promise<void> {
  const { build } = await import('esbuild');
  makeDirs(dirname(outfile));
  await build({
    entryPoints: [entry],
    outfile,
    // Paths in the bundle's comments relative to the commit's folder, so that they do not name the commit.
    absWorkingDir: dirname(dirname(outfile)),
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    packages: 'external',
    logLevel: 'silent',
    plugins: [
      {
        name: 'missing-as-external',
        setup(b) {
          b.onResolve({ filter: /^\.\.?\// }, (args) => {
            const path = resolve(args.resolveDir, args.path);
            const candidates = ['', '.ts', '.js', '.mjs', '/index.ts', '/index.js'].map((ext) => path + ext);
            return candidates.some((p) => existsSync(p)) ? undefined : { path: args.path, external: true };
          });
        },
      },
    ],
  });
}

function buildError(err: unknown): string {
  const first = (err as { errors?: { text: string; location?: { file: string; line: number } | null }[] }).errors?.[0];
  if (!first) return firstLine(err);
  return first.location ? `${first.location.file}:${first.location.line}: ${first.text}` : first.text;
}

function firstLine(err: unknown): string {
  return String(err instanceof Error ? err.message : err).split('\n')[0];
}

/** Copies a file, making its folder (for callers that stage files beside a tree). */
export function copyInto(from: string, to: string): void {
  makeDirs(dirname(to));
  copyFileSync(from, to);
}
