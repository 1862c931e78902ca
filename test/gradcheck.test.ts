import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ENGINES, findEngine, type EngineInfo } from '../engines/registry.ts';
import { TopoEngine } from '../engines/topo.ts';
import type { Value } from '../engines/value-graph.ts';
import { gradientsOf } from '../scenarios/gradients.ts';
import { compareGradients, gradcheck, sampleParams, type GradcheckResult } from '../scenarios/gradcheck.ts';
import { prepareJob } from '../scenarios/train.ts';
import { DEFAULT_CONFIG } from '../workload/config.ts';
import { loadDatasetFile } from '../workload/dataset.ts';
import { NAMES_PATH, namesSkipReason, ROOT, runScript, TINY } from './helpers.ts';

/** Every registered engine, by what its gradient check must say. */
const CORRECT = ENGINES.filter((e) => e.expected === 'correct').map((e) => e.name);
const PUBLISHED_STACK = ENGINES.filter((e) => e.expected === 'wrong-by-design').map((e) => e.name);

function expectPass(r: GradcheckResult) {
  expect(r.verdict, r.engine).toBe('pass');
  expect(r.pass).toBe(true);
  // The bounds as literals, not TOLERANCE: a loosened constant must fail these.
  expect(r.maxRelErr).toBeLessThanOrEqual(1e-9);
  expect(r.wrongParams).toBe(0);
  expect(r.cosine).toBeGreaterThan(1 - 1e-12);
  expect(r.fdSampled).toBeGreaterThan(0);
  expect(r.fdMaxRelErr).toBeLessThanOrEqual(1e-6);
  expect(r.trajectory.maxLossDiff).toBeLessThanOrEqual(1e-6);
}

function expectPublishedStackFailure(r: GradcheckResult) {
  expect(r.pass, r.engine).toBe(false);
  expect(r.verdict).toMatch(/^FAIL: [\d,]+ of [\d,]+ gradients wrong, cosine 0\.\d{3}/);
  expect(r.fdMaxRelErr).toBeGreaterThan(0.1);
  expect(r.trajectory.maxLossDiff).toBeGreaterThan(1e-3);
}

/** Every variant's gradcheck on one dataset and config, once per suite. */
function checkAll(opts: Omit<Parameters<typeof gradcheck>[0], 'engine'>): Record<string, GradcheckResult> {
  return Object.fromEntries(
    [...CORRECT, ...PUBLISHED_STACK].map((name) => [name, gradcheck({ engine: findEngine(name)!, ...opts })]),
  );
}

describe('gradcheck on a small model', () => {
  let results: Record<string, GradcheckResult> = {};
  beforeAll(() => {
    results = checkAll({ ...TINY, trajectorySteps: 5 });
  });

  it('passes every engine expected correct', () => CORRECT.forEach((name) => expectPass(results[name])));

  it('fails the published stack backward, with and without fused nodes', () => {
    for (const name of PUBLISHED_STACK) {
      expectPublishedStackFailure(results[name]);
      expect(results[name].wrongParams).toBeGreaterThan(results[name].totalParams / 2);
    }
  });

  it('fails an engine that gets a single gradient wrong by two parts in a million', () => {
    const r = gradcheck({ engine: nudged((params) => (params[100].grad *= 1 + 2e-6)), ...TINY, ...gradientsOnly });
    expect(r.pass).toBe(false);
    expect(r.wrongParams).toBe(1);
    expect(r.verdict).toBe(`FAIL: 1 of ${r.totalParams} gradients wrong, cosine 1.000`);
  });

  // The pass band itself: 1e-9 relative. Every gradient scaled by (1 + x) is off topo's by x / (1 + x).
  it('fails an engine whose every gradient is off by 1e-7 relative, with 0 wrong parameters', () => {
    const r = gradcheck({ engine: nudged(scaleAll(1e-7)), ...TINY, ...gradientsOnly });
    expect(r.wrongParams).toBe(0);
    expect(r.verdict).toBe("FAIL: gradients off topo's by up to 1.0e-7 (relative)");
    expect(r.pass).toBe(false);
  });

  it('passes an engine whose every gradient is off by 1e-12 relative (reordered sums land there)', () => {
    const r = gradcheck({ engine: nudged(scaleAll(1e-12)), ...TINY, ...gradientsOnly });
    expect(r.maxRelErr).toBeGreaterThan(1e-13);
    expect(r.verdict).toBe('pass');
  });
});

/** Only step 1's gradients against topo's: no finite differences, no trajectory. */
const gradientsOnly = { trajectorySteps: 0, fdSamples: 0 };

/** topo, with `nudge` applied to its parameters' gradients after every backward. */
function nudged(nudge: (params: Value[]) => void): EngineInfo {
  return {
    name: 'nudged',
    description: 'topo with its parameter gradients changed after backward',
    study: 'test',
    expected: 'correct',
    create: () =>
      new (class extends TopoEngine {
        override backward(loss: Value[]): void {
          super.backward(loss);
          nudge(this.params);
        }
      })(),
  };
}

const scaleAll = (relative: number) => (params: Value[]) => params.forEach((p) => (p.grad *= 1 + relative));

describe('gradient figures', () => {
  it('compareGradients: relative errors, floor, wrong count and cosine', () => {
    const ref = Float64Array.from([1, -2, 0, 0.5]);
    expect(compareGradients(Float64Array.from(ref), ref)).toEqual({
      maxAbsErr: 0,
      maxRelErr: 0,
      cosine: 1,
      wrongParams: 0,
      totalParams: 4,
    });
    // rounding noise on a zero gradient stays under the floor; a flipped sign is wrong
    const r = compareGradients(Float64Array.from([1, -2, 1e-18, -0.5]), ref);
    expect(r.wrongParams).toBe(1);
    expect(r.maxAbsErr).toBe(1);
    expect(r.maxRelErr).toBe(2);
    expect(r.cosine).toBeCloseTo((1 + 4 - 0.25) / (1 + 4 + 0.25), 12);
  });

  it('sampleParams takes nonzero-gradient parameters from every matrix', () => {
    const job = prepareJob(TINY.config, TINY.dataset);
    const engine = new TopoEngine();
    engine.init(job.params);
    const { grads } = gradientsOf(
      engine,
      job.layout,
      TINY.config,
      job.tokenizer.encodeDocument(job.docs[0]),
      job.params,
    );
    const sample = sampleParams(job.layout, grads, 20);
    expect(sample).toHaveLength(20);
    expect(new Set(sample).size).toBe(20);
    for (const i of sample) expect(grads[i]).not.toBe(0);
    for (const m of job.layout.matrices)
      expect(
        sample.some((i) => i >= m.offset && i < m.offset + m.rows * m.cols),
        m.name,
      ).toBe(true);
  });
});

const skip = namesSkipReason();

describe.skipIf(skip !== undefined)('gradcheck on names.txt, step 1 (yuheng)', () => {
  let results: Record<string, GradcheckResult> = {};
  beforeAll(() => {
    results = checkAll({ dataset: loadDatasetFile(NAMES_PATH!), config: DEFAULT_CONFIG, trajectorySteps: 3 });
    for (const r of Object.values(results))
      console.log(`${r.engine.padEnd(12)} ${r.verdict} (max rel err ${r.maxRelErr.toExponential(2)})`);
  });

  it('passes every engine expected correct: max relative error vs topo ≤ 1e-9', () =>
    CORRECT.forEach((name) => expectPass(results[name])));

  it("the published stack backward gets 3,296 of 4,192 gradients wrong, cosine 0.737 (the study's figures)", () => {
    for (const name of PUBLISHED_STACK) {
      const r = results[name];
      expectPublishedStackFailure(r);
      expect(r.totalParams).toBe(4192);
      expect(r.wrongParams).toBe(3296);
      expect(r.cosine).toBeCloseTo(0.737, 3);
      expect(r.verdict).toMatch(/^FAIL: 3,296 of 4,192 gradients wrong, cosine 0\.737;/);
    }
  });
});

describe('npm run gradcheck', () => {
  const small = ['--n-embd', '8', '--n-head', '2', '--block-size', '8', '--trajectory-steps', '2', '--fd-samples', '9'];

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
    const env = { MICROGPT_BENCH_ENGINES: join(ROOT, 'test/fixtures/faulty-engines.ts') };
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
