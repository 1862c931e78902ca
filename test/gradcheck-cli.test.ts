/** `npm run gradcheck` as a user runs it: its table, its JSON, its exit codes. */
import { describe, expect, it } from 'vitest';
import type { GradcheckResult } from '../scenarios/gradcheck.ts';
import { runScript, SMALL_MODEL_FLAGS } from './helpers.ts';
import { compiledFixture } from './compiled-scripts.ts';

describe('npm run gradcheck', () => {
  const small = [...SMALL_MODEL_FLAGS, '--trajectory-steps', '2', '--fd-samples', '9'];

  it('--json prints one array of results; a failed check still exits 0', () => {
    const r = runScript('gradcheck.ts', ['--engines', 'tape,stack', ...small, '--json']);
    expect(r.status, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const results = JSON.parse(lines[0]);
    expect(results.map((x: GradcheckResult) => x.engine)).toEqual(['tape', 'stack']);
    for (const x of results) {
      for (const key of [
        'engine',
        'pass',
        'verdict',
        'maxAbsErr',
        'maxRelErr',
        'cosine',
        'wrongParams',
        'totalParams',
        'fdMaxRelErr',
        'fdSampled',
        'trajectory',
      ]) {
        expect(x).toHaveProperty(key);
      }
      expect(x.fdSampled).toBe(9);
      expect(x.trajectory.steps).toBe(2);
    }
    expect(results[0].pass).toBe(true);
    expect(results[1].pass).toBe(false);
  });

  it('prints a table with a row per engine', () => {
    const r = runScript('gradcheck.ts', ['--engines', 'topo,fused-stack', ...small]);
    expect(r.status, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[1]).toMatch(/^engine\s+max abs err\s+max rel err\s+cosine/);
    expect(lines[2]).toMatch(/^topo\s.*\spass$/);
    expect(lines[3]).toMatch(/^fused-stack\s.*\sFAIL: [\d,]+ of [\d,]+ gradients wrong/);
  });

  it('an engine that throws gets a FAIL row, the others are still checked, and the exit code is 1', () => {
    const env = { MICROGPT_BENCH_ENGINES: compiledFixture('faulty-engines') };
    const args = ['--engines', 'throws-at-3,tape', ...small];
    const table = runScript('gradcheck.ts', args, { env });
    expect(table.status).toBe(1);
    expect(table.stderr).toBe('');
    const lines = table.stdout.trim().split('\n');
    expect(lines[2]).toMatch(/^throws-at-3\s+-\s+-.*\sFAIL: threw Error: deliberate fault at step 3$/);
    expect(lines[3]).toMatch(/^tape\s.*\spass$/);
    const json = runScript('gradcheck.ts', [...args, '--json'], { env });
    expect(json.status).toBe(1);
    expect(JSON.parse(json.stdout)).toEqual([
      {
        engine: 'throws-at-3',
        pass: false,
        verdict: 'FAIL: threw Error: deliberate fault at step 3',
        error: 'Error: deliberate fault at step 3',
      },
      expect.objectContaining({ engine: 'tape', pass: true }),
    ]);
  });

  for (const [args, message] of [
    [['--trajectory-steps', '-1'], /--trajectory-steps expects a whole number ≥ 0, got '-1'/],
    [['--fd-samples', 'many'], /--fd-samples expects a whole number ≥ 0, got 'many'/],
    [['--engines', ''], /--engines: unknown empty list/],
  ] as const) {
    it(`bad input ${args.join(' ')}: one line, exit code 2`, () => {
      const r = runScript('gradcheck.ts', [...args]);
      expect(r.status).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(message);
    });
  }
});
