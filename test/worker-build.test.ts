import { readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { buildWorker, cachedBuild, isTypeScript, workerFor } from '../scenarios/bench/worker-build.ts';
import { WORKER_KINDS } from '../scenarios/bench/kinds/index.ts';
import { ROOT, tempDirs } from './helpers.ts';

/** Every compiled file of a build, and the packages they import. */
function importedPackages(outdir: string): string[] {
  const files = readdirSync(outdir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.mjs'));
  const packages = files.flatMap((f) =>
    [...readFileSync(join(outdir, f), 'utf8').matchAll(/from "([^".][^"]*)"|import\("([^".][^"]*)"\)/g)].map(
      (m) => m[1] ?? m[2],
    ),
  );
  return [...new Set(packages)].sort();
}

describe("bench:all's compiled worker", () => {
  it("loads no package but Node's own: the kinds' schemas (zod, 0.1 s to load) stay out of every run", async () => {
    const build = await buildWorker();
    const outdir = dirname(dirname(dirname(build.script)));
    expect(importedPackages(outdir).filter((p) => !p.startsWith('node:'))).toEqual([]);
    // Each worker kind's module is compiled, and holds its run.
    for (const kind of WORKER_KINDS) {
      const compiled = build.kindModules.get(kind.module)!;
      const run = (await import(compiled)).default;
      expect(typeof run.run, kind.name).toBe('function');
      expect(readFileSync(fileURLToPath(compiled), 'utf8')).not.toContain('zod');
    }
  });

  it('lands at one path per content: two benches run one script (counts depend on its path)', async () => {
    const [a, b] = await Promise.all([buildWorker(), buildWorker()]);
    expect(a.script).toBe(b.script);
    expect(a.script).toMatch(/worker-[0-9a-f]{16}\//);
    expect(readFileSync(a.script, 'utf8').length).toBeGreaterThan(0);
  });
});

describe('the worker a bench runs', () => {
  it("is compiled; a TypeScript plugin's own engines' runs go to tsx", async () => {
    expect((await workerFor()).script).toMatch(/worker-[0-9a-f]{16}\//);
    expect(isTypeScript('/plugins/engines.mjs')).toBe(false);
    expect(isTypeScript('/plugins/engines.ts')).toBe(true);
    expect(isTypeScript('/plugins/engines.mts')).toBe(true);
  });
});

describe('a cached build', () => {
  const src = tempDirs()('cached-build');
  const entry = join(src, 'a.ts');
  const CACHE = join(ROOT, 'node_modules', '.cache', 'microgpt-bench');
  const PREFIX = 'test-cached-build';
  /** Writes a source file as if it had been saved an hour ago (or now). */
  const write = (name: string, text: string, when = Date.now() / 1000 - 3600) => {
    writeFileSync(join(src, name), text);
    utimesSync(join(src, name), when, when);
  };
  const build = () => cachedBuild(PREFIX, { entryPoints: [entry] });
  const output = (dir: string) => readFileSync(join(dir, 'a.mjs'), 'utf8');
  afterAll(() => {
    for (const f of readdirSync(CACHE).filter((f) => f.startsWith(PREFIX)))
      rmSync(join(CACHE, f), { recursive: true, force: true });
  });

  it('is built once, then used as it is while the files it is made from are unchanged', async () => {
    write('a.ts', "import { n } from './b.ts';\nconsole.log(n);\n");
    write('b.ts', 'export const n: number = 1;\n');
    const first = await build();
    expect(first.built).toBe(true);
    const again = await build();
    expect(again).toEqual({ dir: first.dir, built: false });
    expect(output(again.dir)).toContain('n = 1');
  });

  it('is built again when an imported file changed, however long ago it was saved', async () => {
    const before = await build();
    write('b.ts', 'export const n: number = 2;\n');
    const after = await build();
    expect(after.built).toBe(true);
    expect(after.dir).not.toBe(before.dir);
    expect(output(after.dir)).toContain('n = 2');
    expect((await build()).built).toBe(false);
  });

  it('is not used again when a file it read was saved during its build (it may have read the old one)', async () => {
    write('b.ts', 'export const n: number = 3;\n', Date.now() / 1000);
    expect((await build()).built).toBe(true);
    expect((await build()).built).toBe(true);
  });
});
