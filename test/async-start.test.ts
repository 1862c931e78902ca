/**
 * Engines that start asynchronously (`create` returning a Promise) and a plugin's declared precision,
 * as commands meet them: a rejected start or an unknown precision is one line and exit 2 for a
 * command, one failed row in a bench.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { rawResults, runScript, tempDirs } from './helpers.ts';
import { bundlePlugin } from './compiled-scripts.ts';

const temp = tempDirs();

const PLUGIN = `
import { TensorEngine } from '${join(__dirname, '..', 'engines', 'tensor.ts')}';
export const engines = [
  { name: 'late', description: 'starts after a tick', study: 'test',
    create: () => new Promise((done) => setTimeout(() => done(new TensorEngine()), 10)) },
  { name: 'rejects', description: 'cannot start', study: 'test',
    create: () => Promise.reject(new Error('backend failed to start\\nsecond line')) },
];
`;

/** One line on stderr, exit 2, nothing on stdout. */
function expectOneLine(r: ReturnType<typeof runScript>, message: RegExp) {
  expect(r.status).toBe(2);
  expect(r.stdout).toBe('');
  expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
  expect(r.stderr.trimEnd()).toMatch(message);
}

describe('asynchronous start', () => {
  let env: NodeJS.ProcessEnv = {};
  let dir = '';
  beforeAll(async () => {
    dir = temp('async');
    writeFileSync(join(dir, 'engines.ts'), PLUGIN);
    // Bundled to JavaScript: what is tested is the asynchronous start, not the TypeScript.
    const plugin = await bundlePlugin(join(dir, 'engines.ts'), join(dir, 'engines.mjs'));
    env = { MICROGPT_BENCH_ENGINES: plugin };
  });

  it('awaits a create that resolves later: train runs the job', () => {
    const r = runScript('train.ts', ['--engine', 'late', '--steps', '2', '--samples', '0', '--json'], { env });
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toMatchObject({ engine: 'late', losses: [expect.any(Number), expect.any(Number)] });
  });

  it('a rejected start: one line, exit 2, from train and from gradcheck (before any table line)', () => {
    const message = /^error: engine 'rejects' could not start: backend failed to start$/;
    expectOneLine(runScript('train.ts', ['--engine', 'rejects', '--steps', '2'], { env }), message);
    expectOneLine(
      runScript('gradcheck.ts', ['--engines', 'tape,rejects', '--trajectory-steps', '1'], { env }),
      message,
    );
  });

  it('a rejected start in a bench: one failed row, the bench goes on', () => {
    const out = join(dir, 'results');
    const job = ['--engines', 'rejects', '--steps', '2', '--trials', '1'];
    const args = [...job, '--out', out, '--report', join(dir, 'r.md'), '--no-page'];
    const r = runScript('bench-all.ts', args, { env });
    expect(r.status).toBe(0);
    const { runs } = rawResults(out);
    expect(runs.map((run) => [run.kind, run.status])).toEqual([
      ['train', 'failed'],
      ['gradcheck', 'failed'],
    ]);
    expect(runs[0].reason).toMatch(/could not start: backend failed to start/);
  });

  it('an unknown precision: one line, exit 2, naming the engine and the value', () => {
    const path = join(dir, 'precision.mjs');
    const half = "{ name: 'half', description: 'd', study: 's', precision: 'float16', create: () => null }";
    writeFileSync(path, `export const engines = [${half}];\n`);
    const r = runScript('gradcheck.ts', ['--engines', 'tape'], { env: { MICROGPT_BENCH_ENGINES: path } });
    expectOneLine(
      r,
      /^error: MICROGPT_BENCH_ENGINES=.*: engine 'half': unknown precision 'float16' \(expected float64 or float32\)$/,
    );
  });
});
