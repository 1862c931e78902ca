/**
 * A plugin as a user outside the repository makes it: a package in a temporary folder that depends on
 * the harness by path (types from `microgpt-bench/engine`, a built-in engine from
 * `microgpt-bench/engines/tensor`) and on an npm package whose ES module build needs `require` and
 * `__dirname`; type-checked, bundled by the command docs/engines.md gives, run by bench:all. Its
 * module records every process that imports it: only its own engine's runs may.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseShellWords } from 'shell-quote';
import { beforeAll, describe, expect, it } from 'vitest';
import { ESM_NODE_BANNER } from '../engines/tfjs/build.ts';
import { rawResults, ROOT, runScript, tempDirs } from './helpers.ts';

const temp = tempDirs();

/** The bundling command of docs/engines.md's "Plugins as packages", as argv. */
function documentedBundleCommand(): string[] {
  const docs = readFileSync(join(ROOT, 'docs/engines.md'), 'utf8');
  const block = /```sh\n(npx esbuild my-engines\.ts[^`]*?)```/.exec(docs)?.[1];
  if (block === undefined) throw new Error('docs/engines.md: no `npx esbuild my-engines.ts` block');
  return parseShellWords(block.replace(/\\\n/g, ' ')).map(String);
}

describe('a plugin package outside the repository', () => {
  let dir = '';
  let bundle: ReturnType<typeof spawnSync>;
  let bench: ReturnType<typeof runScript>;
  let out = '';
  const loads = () => readFileSync(join(dir, 'loads.txt'), 'utf8').trim().split('\n').sort();

  beforeAll(() => {
    dir = join(temp('plugin'), 'my-engines');
    cpSync(join(ROOT, 'test/fixtures/plugin-package'), dir, { recursive: true });
    // What `npm install` makes of the two file: dependencies (links, offline).
    mkdirSync(join(dir, 'node_modules'));
    symlinkSync(ROOT, join(dir, 'node_modules', 'microgpt-bench'), 'dir');
    cpSync(join(dir, 'tiny-dep'), join(dir, 'node_modules', 'tiny-dep'), { recursive: true });
    const [npx, esbuild, ...args] = documentedBundleCommand();
    expect([npx, esbuild]).toEqual(['npx', 'esbuild']);
    bundle = spawnSync(join(ROOT, 'node_modules/.bin/esbuild'), args, { cwd: dir, encoding: 'utf8' });
    out = join(dir, 'results');
    const env = { MICROGPT_BENCH_ENGINES: join(dir, 'my-engines.mjs'), PLUGIN_LOADS_FILE: join(dir, 'loads.txt') };
    const job = ['--engines', 'tape,mine', '--steps', '3', '--trials', '1', '--out', out];
    bench = runScript('bench-all.ts', [...job, '--report', join(dir, 'report.md'), '--no-page'], { env });
  });

  it('type-checks against the package: Engine and EngineInfo from microgpt-bench/engine', () => {
    // Node's types from the harness's own node_modules (a user's package would have @types/node).
    const tsconfig = JSON.parse(readFileSync(join(dir, 'tsconfig.json'), 'utf8'));
    tsconfig.compilerOptions.typeRoots = [join(ROOT, 'node_modules/@types')];
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify(tsconfig));
    const tsc = spawnSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', dir], {
      encoding: 'utf8',
    });
    expect(tsc.stdout + tsc.stderr).toBe('');
    expect(tsc.status).toBe(0);
  });

  it("is bundled by the documented command, whose banner is the tfjs engines' own", () => {
    expect(bundle.stderr).not.toMatch(/error|warning/i);
    expect(bundle.status).toBe(0);
    expect(documentedBundleCommand()).toContain(`--banner:js=${ESM_NODE_BANNER}`);
    expect(documentedBundleCommand()).toContain('--main-fields=module,main');
  });

  it('runs in bench:all: its engine trains, passes the gradient check, and took the ES module build', () => {
    expect(bench.stderr).not.toMatch(/Error/);
    expect(bench.status).toBe(0);
    const { runs, env } = rawResults(out);
    expect(runs.filter((r) => r.engine === 'mine').map((r) => [r.kind, r.status])).toEqual([
      ['train', 'ok'],
      ['gradcheck', 'ok'],
    ]);
    expect(runs.find((r) => r.engine === 'mine' && r.kind === 'gradcheck').result.verdict).toBe('pass');
    expect(env.bench.engines.find((e: { name: string }) => e.name === 'mine').description).toBe(
      "tensor, from a plugin package (tiny-dep's esm build, at my-engines)",
    );
  });

  it("is imported by the bench and its own engine's runs only, never by tape's", () => {
    expect(loads()).toEqual(['main', 'mine', 'mine']);
  });
});
