import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { buildWorker, isTypeScript, workerFor } from '../scenarios/bench/worker-build.ts';
import { WORKER_KINDS } from '../scenarios/bench/kinds/index.ts';

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
