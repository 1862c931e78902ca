import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, runScript, tempDirs } from './helpers.ts';

const dir = tempDirs()('plugins');

/**
 * `npm run train -- --help` with MICROGPT_BENCH_ENGINES set to a module holding `source`. The modules
 * written here are JavaScript (.mjs), so the command starts from its bundle: what is checked is how
 * the registry takes a module's exports, the same for TypeScript, which the first case loads (under
 * tsx, 0.7 s of CPU a start against 0.2 s).
 */
function withModule(source: string | null, path = join(dir, `m${Math.random().toString(36).slice(2)}.mjs`)) {
  if (source !== null) writeFileSync(path, source);
  return runScript('train.ts', ['--help'], { env: { MICROGPT_BENCH_ENGINES: path } });
}

function expectModuleError(r: ReturnType<typeof withModule>, message: RegExp) {
  expect(r.status).toBe(2);
  expect(r.stdout).toBe('');
  expect(r.stderr.trimEnd().split('\n')).toEqual([expect.stringMatching(message)]);
}

describe('MICROGPT_BENCH_ENGINES', () => {
  it('adds the module’s engines to every command', () => {
    const r = withModule(null, join(ROOT, 'test/fixtures/faulty-engines.ts'));
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/one of: topo, .*tensor, wasm, wasm-captured, tfjs-cpu, tfjs-wasm, throws-at-3, /);
  });

  it('must be an absolute path', () =>
    expectModuleError(
      withModule(null, 'engines.mjs'),
      /^error: MICROGPT_BENCH_ENGINES=engines\.mjs: expected an absolute path$/,
    ));
  it('must load', () =>
    expectModuleError(withModule(null, join(dir, 'missing.mjs')), /missing\.mjs: cannot load it: /));
  it('must export engines with every field', () =>
    expectModuleError(
      withModule("export const engines = [{ name: 'mine', create: () => null }];\n"),
      /expected it to export `engines`, an array of \{ name, description, study, create \}$/,
    ));
  it('may not reuse a registered name', () =>
    expectModuleError(
      withModule("export const engines = [{ name: 'topo', description: 'd', study: 's', create: () => null }];\n"),
      /engine name 'topo' is already registered$/,
    ));
});
