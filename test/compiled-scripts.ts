/**
 * The command scripts compiled to JavaScript once per test run, so that the hundreds of commands the
 * tests start begin in plain Node. Under tsx every process first starts tsx's loader thread and
 * compiles what it imports: about 1.1 s of CPU for a command that only rejects a flag, against 0.3 s
 * from the bundle (measured on `compare --bogus`), which over the suite's spawns is minutes on 2 cores.
 *
 * The bundles are built from the same sources by esbuild (the compiler tsx itself uses), the packages
 * they import included (PACKAGES_BUNDLED), with one change: every project file's `import.meta.url` is
 * replaced by that source file's own URL, so paths the code finds relative to itself (the wasm build,
 * the worker, the repository's root) are the same as under tsx. Runs that need tsx still get it: a
 * TypeScript plugin module (only tsx imports it), and the tests that run a command exactly as
 * `npm run` does (cli-help.test.ts and the npm process in faults.test.ts).
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BuildOptions, Plugin } from 'esbuild';
import { quote } from 'shell-quote';
import { CHUNKED_NODE_BUNDLE, settleBuild, SOURCE_URL_PLUGIN } from '../scenarios/bench/worker-build.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** The environment variable through which the global setup tells the test processes where the bundles are. */
export const COMPILED_SCRIPTS_VAR = 'MGB_TEST_COMPILED_SCRIPTS';

const CACHE = join(ROOT, 'node_modules', '.cache', 'microgpt-bench');

/** test/fixtures/<name>.ts modules also compiled (see `compiledFixture`): two plugins and a probe. */
const COMPILED_FIXTURES = ['faulty-engines', 'heap-probe'] as const;

/**
 * A test fixture module (a plugin for MICROGPT_BENCH_ENGINES, the heap probe): compiled when the
 * global setup built it (no tsx for the process or a command's workers: about 1 s of CPU each), else
 * its TypeScript source. Tests of what a TypeScript plugin does use the source itself.
 */
export function compiledFixture(name: (typeof COMPILED_FIXTURES)[number]): string {
  return builtFile(join('fixtures', `${name}.mjs`)) ?? join(ROOT, 'test', 'fixtures', `${name}.ts`);
}

/** A file of the global setup's build (a path inside it), or undefined when there is no such file. */
function builtFile(path: string): string | undefined {
  const compiled = process.env[COMPILED_SCRIPTS_VAR];
  const file = compiled ? join(compiled, path) : '';
  return file && existsSync(file) ? file : undefined;
}

/**
 * The packages the commands import go into the bundles too, all but those that find files of their
 * own at run time (esbuild's binary, typescript's libraries, tfjs's wasm). Node then reads a few
 * chunks instead of resolving, reading and compiling each package's modules: a report with its HTML
 * page took 0.70 s of CPU against 1.03 s (vega and vega-lite are some 200 modules), `report --help`
 * 0.24 s against 0.30 s (zod's). The banner gives the CommonJS packages inside an ES module the
 * `require` that esbuild's wrapper calls for Node's own modules.
 */
const REQUIRE_FOR_PACKAGES =
  "import { createRequire as createRequireForPackages } from 'node:module'; " +
  'const require = createRequireForPackages(import.meta.url);';
const PACKAGES_BUNDLED = {
  packages: undefined,
  external: ['esbuild', 'typescript', '@tensorflow/*'],
  banner: { js: REQUIRE_FOR_PACKAGES },
} satisfies BuildOptions;

/**
 * zod's messages in English only. zod's index exports a locale module for each of some fifty
 * languages (366 KB of the 755 KB it bundles to), which Node then parses in every command that
 * imports a schema, and the project never switches zod's language (`z.config` is not called). With
 * `en` alone the commands' main chunk is 484 KB instead of 848 KB, and `bench-all --bogus` takes
 * 0.19 s of CPU instead of 0.22 s, over the suite's few hundred commands some 10 s.
 */
const ZOD_ENGLISH_ONLY: Plugin = {
  name: 'zod-english-only',
  setup(build) {
    build.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, ({ importer, resolveDir }) =>
      /[\\/]zod[\\/]v4[\\/](core|classic)[\\/]/.test(importer)
        ? { path: join(resolveDir, '..', 'locales', 'index.js'), namespace: 'zod-english-only' }
        : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: 'zod-english-only' }, ({ path }) => ({
      contents: "export { default as en } from './en.js';",
      resolveDir: dirname(path),
      loader: 'js',
    }));
  },
};

/** The npm scripts' entry points (package.json's `node --import tsx scripts/X.ts`). */
function commandScripts(): string[] {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  const scripts = Object.values(pkg.scripts).flatMap((line) => [...line.matchAll(/scripts\/([\w-]+\.ts)\b/g)]);
  return [...new Set(scripts.map((m) => m[1]))].sort();
}

/** Compiles every command script; returns the folder of `<script>.mjs` files (named by their contents). */
export async function compileScripts(): Promise<string> {
  const { build } = await import('esbuild');
  mkdirSync(CACHE, { recursive: true });
  const outdir = mkdtempSync(join(CACHE, 'test-scripts-build-'));
  try {
    const entryPoints = commandScripts().map((s) => join(ROOT, 'scripts', s));
    await build({
      ...CHUNKED_NODE_BUNDLE,
      ...PACKAGES_BUNDLED,
      entryPoints,
      outdir,
      plugins: [SOURCE_URL_PLUGIN, ZOD_ENGLISH_ONLY],
    });
    // The fixtures whose TypeScript is not what a test is about, as one module each (the way a
    // plugin with dependencies is bundled): their runs start from the compiled worker.
    for (const name of COMPILED_FIXTURES) {
      const entry = join(ROOT, 'test', 'fixtures', `${name}.ts`);
      const outfile = join(outdir, 'fixtures', `${name}.mjs`);
      await build({
        ...CHUNKED_NODE_BUNDLE,
        splitting: false,
        entryPoints: [entry],
        outfile,
        plugins: [SOURCE_URL_PLUGIN],
      });
    }
  } catch (err) {
    rmSync(outdir, { recursive: true, force: true });
    throw err;
  }
  return settleBuild(outdir, 'test-scripts');
}

/** The global setup's bundle of a command script, or undefined when there is none. */
function scriptBundle(script: string): string | undefined {
  return builtFile(script.replace(/\.ts$/, '.mjs'));
}

/**
 * Node's arguments for a command script: its bundle when the global setup built one and no
 * TypeScript plugin is asked for (in `env`), else (or with `tsx`: a test of what the source's own
 * paths show, a CPU profile's say) the script under tsx, as `npm run` starts it.
 */
export function scriptArgs(
  script: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  { tsx = false }: { tsx?: boolean } = {},
): string[] {
  const bundle = tsx ? undefined : scriptBundle(script);
  if (bundle && !/\.[cm]?tsx?$/.test(env.MICROGPT_BENCH_ENGINES ?? '')) return [bundle, ...args];
  return ['--import', 'tsx', join(ROOT, 'scripts', script), ...args];
}

/**
 * A command line that starts one of the command scripts as an outside program would be started (an
 * external program's COMMAND): its bundle when the global setup built one, else under tsx from the
 * repository's root. tsx costs such a run about 0.8 s of CPU.
 */
export function scriptCommandLine(script: string): string {
  const bundle = scriptBundle(script);
  return bundle ? quote(['node', bundle]) : `node --import tsx scripts/${script}`;
}

/**
 * A test's TypeScript plugin bundled to one ES module at `outfile` (the way a plugin with
 * dependencies is shipped), so that the commands and workers given it start without tsx (about
 * 0.8 s of CPU each). For tests whose subject is not the plugin's TypeScript.
 */
export async function bundlePlugin(source: string, outfile: string): Promise<string> {
  const { build } = await import('esbuild');
  await build({ entryPoints: [source], outfile, bundle: true, format: 'esm', platform: 'node' });
  return outfile;
}
