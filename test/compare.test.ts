/**
 * `npm run compare` on results folders written here: BASE with 5 trials per engine at a quiet
 * machine's spread (under 1%; with a wider one, five trials cannot tell a 1% change from a 2% one, and
 * the honest verdict is "not significant", tested too), NEW the same times scaled, cut short, or with
 * other losses, verdicts or a different job.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readResultsFolder } from '../scenarios/bench/results.ts';
import { summarize } from '../scenarios/bench/summary.ts';
import { benchSummaryLines } from '../scenarios/output/bench-summary.ts';
import { compareFolders, type EngineChange } from '../scenarios/compare/compare.ts';
import { rawResults, ROOT, runScript, SMALL_MODEL_FLAGS, tempDirs } from './helpers.ts';

const FIXTURE = join(ROOT, 'test/fixtures/bench-results/complete');
/* eslint-disable @typescript-eslint/no-explicit-any -- raw records, shaped as runs.jsonl holds them */
const { runs: RAW, env: ENV } = rawResults(FIXTURE);

const BASE_TIMES: Record<string, number[]> = {
  tape: [100.0, 100.3, 99.75, 100.55, 99.9],
  topo: [450.0, 451.4, 448.9, 452.3, 449.5],
};

interface Variant {
  times?: Record<string, number[]>;
  /** Added to every loss of the engine from this step (1-based) on. */
  lossShift?: Record<string, { step: number; by: number }>;
  fails?: string[];
  env?: (env: any) => void;
  /** External programs' trials from the fixture's: wall times, printed training times, printed losses. */
  programs?: Record<string, { wall: number[]; printed?: number[]; losses?: string[] }>;
}

const tempDir = tempDirs();

/** A results folder: env.json from the fixture, each engine's trials from its fixture run with `times`. */
function folder(name: string, v: Variant = {}): string {
  const dir = join(tempDir('compare'), name);
  mkdirSync(dir);
  const env = structuredClone(ENV);
  env.bench.trials = 5;
  env.bench.engines = env.bench.engines.filter((e: any) => e.name in BASE_TIMES);
  v.env?.(env);
  const runs = Object.entries(v.times ?? BASE_TIMES).flatMap(([engine, times]) => {
    const template = RAW.find((r) => r.kind === 'train' && r.engine === engine && r.status === 'ok');
    const check = RAW.find((r) => r.kind === 'gradcheck' && r.engine === engine);
    const shift = v.lossShift?.[engine];
    const losses = template.result.losses.map((l: number, i: number) =>
      shift && i + 1 >= shift.step ? l + shift.by : l,
    );
    const failing = v.fails?.includes(engine);
    return [
      ...times.map((total, i) => ({
        ...template,
        trial: i + 1,
        warmup: false,
        result: { ...template.result, losses, timingMs: { ...template.result.timingMs, total } },
      })),
      { ...check, result: { ...check.result, pass: !failing, verdict: failing ? 'FAIL: test' : 'pass' } },
    ];
  });
  const programRuns = Object.entries(v.programs ?? {}).flatMap(([engine, p]) => {
    const template = RAW.find((r) => r.kind === 'external' && r.engine === engine && r.status === 'ok');
    const losses = p.losses?.map((loss, i) => ({ step: i + 1, loss })) ?? template.result.losses;
    return p.wall.map((wallMs, i) => ({
      ...template,
      trial: i + 1,
      warmup: false,
      wallMs,
      result: { ...template.result, losses, trainingMs: p.printed?.[i] ?? null },
    }));
  });
  writeFileSync(join(dir, 'env.json'), JSON.stringify(env));
  writeFileSync(join(dir, 'runs.jsonl'), [...runs, ...programRuns].map((r) => JSON.stringify(r) + '\n').join(''));
  return dir;
}

const scaled = (engine: string, factor: number) => ({
  times: { ...BASE_TIMES, [engine]: BASE_TIMES[engine].map((t) => t * factor) },
});

function compare(base: string, next: string, threshold = 0.02): Record<string, EngineChange> {
  const c = compareFolders(readResultsFolder(base), readResultsFolder(next), { threshold, confidence: 0.95 });
  return Object.fromEntries(c.engines.map((e) => [e.engine, e]));
}

describe('compare: time verdicts', () => {
  const base = folder('base');

  it('identical folders: no change, p = 1, nothing flagged', () => {
    for (const e of Object.values(compare(base, folder('same')))) {
      expect(e).toMatchObject({ verdict: 'no change', ratio: 1, p: 1, losses: null, regression: false });
      expect(e.ratioLow!).toBeGreaterThanOrEqual(0.98);
      expect(e.ratioHigh!).toBeLessThanOrEqual(1.02);
    }
  });

  it('tape × 1.3: slower, its interval above 1; topo untouched', () => {
    const r = compare(base, folder('slow', scaled('tape', 1.3)));
    expect(r.tape).toMatchObject({ verdict: 'slower', regression: true });
    expect(r.tape.ratio).toBeCloseTo(1.3, 6);
    expect(r.tape.ratioLow!).toBeGreaterThan(1.2);
    expect(r.tape.p).toBeCloseTo(2 / 252, 12); // every NEW time above every BASE time: 2 / C(10, 5)
    expect(r.topo.verdict).toBe('no change');
  });

  it('tape × 0.7: faster, and not a regression', () =>
    expect(compare(base, folder('fast', scaled('tape', 0.7))).tape).toMatchObject({
      verdict: 'faster',
      regression: false,
    }));

  it('tape × 1.01 at a 2% threshold: no change; at 0.5%, slower', () => {
    const next = folder('one-percent', scaled('tape', 1.01));
    expect(compare(base, next).tape.verdict).toBe('no change');
    expect(compare(base, next, 0.005).tape.verdict).toBe('slower');
  });

  it('tape × 1.015 at 2%: a real change, but within the noise threshold, is no change', () => {
    const r = compare(base, folder('one-and-a-half', scaled('tape', 1.015))).tape;
    expect(r.ratioLow!).toBeGreaterThan(1);
    expect(r.ratioHigh!).toBeGreaterThan(1.02);
    expect(r).toMatchObject({ verdict: 'no change', note: 'a change within the ±2% noise threshold' });
  });

  it('a spread wider than the change: not significant', () => {
    const noisy = { times: { ...BASE_TIMES, tape: [95, 109, 99, 104, 101] } };
    expect(compare(base, folder('noisy', noisy)).tape.verdict).toBe('not significant');
  });

  it('2 trials: too few trials, saying how many are needed', () => {
    const short = { times: { ...BASE_TIMES, tape: [100.1, 100.2] } };
    expect(compare(base, folder('short', short)).tape).toMatchObject({
      verdict: 'too few trials',
      note: '5 and 2 trials; 4 on each side are needed for a 95% interval',
      ratio: null,
    });
  });
});

describe('compare: what no timing tool checks', () => {
  const base = folder('base');

  it('a changed loss is flagged with its first step and largest difference, as a regression', () => {
    const r = compare(base, folder('losses', { lossShift: { tape: { step: 3, by: 1e-9 } } }));
    expect(r.tape.losses!.firstStep).toBe(3);
    expect(r.tape.losses!.maxDiff).toBeCloseTo(1e-9, 15);
    expect(r.tape.regression).toBe(true);
    expect(r.topo.losses).toBeNull();
  });

  it('a gradient verdict gone from pass to FAIL is a regression whatever the speed', () => {
    const r = compare(base, folder('fails', { ...scaled('tape', 0.5), fails: ['tape'] }));
    expect(r.tape).toMatchObject({ verdict: 'faster', regression: true });
    expect(r.tape.gradient).toEqual({ base: 'pass', new: 'FAIL', regressed: true });
  });
});

describe('compare: external programs', () => {
  const WALL = [900, 902, 898, 905, 901];
  const PRINTED = [400, 401, 399, 402, 400.5];
  const times = (xs: number[], by: number) => xs.map((t) => t * by);
  const base = folder('programs', { programs: { 'own-tensor': { wall: WALL } } });

  it('on wall time when a side printed no training time: × 1.3 is slower', () => {
    const r = compare(base, folder('slow-program', { programs: { 'own-tensor': { wall: times(WALL, 1.3) } } }));
    expect(r['own-tensor']).toMatchObject({ basis: 'wall', verdict: 'slower', baseMedianMs: 901, regression: true });
    expect(r['own-tensor'].gradient).toEqual({ base: 'reproduces', new: 'reproduces', regressed: false });
    expect(r['own-tensor'].losses).toBeNull();
    expect(r.tape).toMatchObject({ basis: 'training', verdict: 'no change' });
  });

  it('on the printed training time when every trial on both sides printed one', () => {
    const printing = (wall: number[], printed: number[]) => ({ programs: { 'own-tensor': { wall, printed } } });
    const before = folder('printing', printing(WALL, PRINTED));
    // Start-up got slower, training faster: the printed time decides.
    const r = compare(before, folder('printing-faster', printing(times(WALL, 1.3), times(PRINTED, 0.7))));
    expect(r['own-tensor']).toMatchObject({ basis: 'training', verdict: 'faster', baseMedianMs: 400.5 });
    // Printed on one side only: wall time.
    expect(compare(base, before)['own-tensor']).toMatchObject({ basis: 'wall', verdict: 'no change' });
  });

  it('printed losses that changed, and no longer reproduce the reference, are a regression', () => {
    const losses = ['3.3616', '3.6000', '3.2340', '3.2997', '3.3655'];
    const r = compare(base, folder('wrong-program', { programs: { 'own-tensor': { wall: WALL, losses } } }));
    expect(r['own-tensor']).toMatchObject({ verdict: 'no change', regression: true });
    expect(r['own-tensor'].losses).toMatchObject({ firstStep: 2 });
    expect(r['own-tensor'].gradient).toEqual({ base: 'reproduces', new: 'differs from step 2', regressed: true });
  });

  it('npm run compare shows the program, marked when on wall time', () => {
    const r = runScript('compare.ts', [base, folder('same-programs', { programs: { 'own-tensor': { wall: WALL } } })]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(
      /^\| own-tensor \(wall time\) \| 5 \/ 5 \| 901 \| 901 \| .* \| no change: .* \| identical \| reproduces \|$/m,
    );
  });
});

describe('npm run compare', () => {
  const base = folder('base');

  it('prints the table; exit 0 without --fail-on-regression, 1 with it', () => {
    const slow = folder('slow', scaled('tape', 1.3));
    const r = runScript('compare.ts', [base, slow]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(
      /^\| tape \| 5 \/ 5 \| 100 \| 130 \| \+30\.0% \(\+\d+\.\d% … \+\d+\.\d%\) \| 0\.008 \| \*\*slower\*\*/m,
    );
    expect(r.stdout).toMatch(
      /^\| topo \| 5 \/ 5 \| .* \| no change: the 95% interval is within ±2% \| — \| — \| identical \| pass \|$/m,
    );
    expect(runScript('compare.ts', [base, slow, '--fail-on-regression']).status).toBe(1);
    expect(runScript('compare.ts', [base, folder('same'), '--fail-on-regression']).status).toBe(0);
  });

  it('--format md,json writes both, the JSON at full precision', () => {
    const out = join(tempDir('compare-out'), 'cmp.md');
    const r = runScript('compare.ts', [
      base,
      folder('fast', scaled('tape', 0.7)),
      '--format',
      'md,json',
      '--output',
      out,
    ]);
    expect(r.status, r.stderr).toBe(0);
    const doc = JSON.parse(readFileSync(out.replace(/md$/, 'json'), 'utf8'));
    expect(doc.engines.find((e: any) => e.engine === 'tape')).toMatchObject({ verdict: 'faster', baseTrials: 5 });
    expect(readFileSync(out, 'utf8')).toContain('| tape | 5 / 5 |');
  });

  it('warns of another machine, Node version, and of timings spread over 10%', () => {
    const other = folder('other', {
      times: { ...BASE_TIMES, tape: [80, 100, 120, 95, 105] },
      env: (env) => Object.assign(env, { machine: 'elsewhere', node: 'v22.0.0' }),
    });
    const r = runScript('compare.ts', [base, other]);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('- warning: different machines: vm vs elsewhere');
    expect(r.stdout).toContain('- warning: different Node versions: v20.20.2 vs v22.0.0');
    expect(r.stdout).toMatch(/- warning: tape: unstable in NEW: CV 15%; run more trials or quiet the machine/);
  });

  for (const [what, env] of [
    ['another dataset', (e: any) => (e.dataset.sha256 = 'f'.repeat(64))],
    ['another seed', (e: any) => (e.config.seed = 7)],
    ['another step count', (e: any) => (e.config.steps = 6)],
  ] as const) {
    it(`${what}: one line, exit 2`, () => {
      const r = runScript('compare.ts', [base, folder(what.replace(/ /g, '-'), { env })]);
      expect(r.status).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/^error: .* ran different jobs: (dataset sha256|seed|steps) /);
    });
  }

  const same = folder('same');
  for (const [args, message] of [
    [[], /^error: expected two results folders, BASE and NEW \(got 0\)$/],
    [['--threshold', 'x'], /^error: --threshold expects a percentage ≥ 0 and < 100, got 'x'$/],
    [['--confidence', '1.5'], /^error: --confidence expects a number between 0.5 and 0.999, got '1.5'$/],
    [['--format', 'pdf'], /^error: --format.*pdf/],
    [['--output', 'x.md'], /^error: --output needs --format$/],
    [['SAME'], /^error: BASE and NEW are the same folder$/],
  ] as const) {
    it(`bad input ${args.join(' ') || '(no folders)'}: one line, exit 2`, () => {
      const folders = args.length === 0 ? [] : args[0] === 'SAME' ? [base, join(base, '..', 'base')] : [base, same];
      const r = runScript('compare.ts', [...folders, ...args.filter((a) => a !== 'SAME')]);
      expect(r.status).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(r.stderr.trimEnd()).toMatch(message);
    });
  }
});

describe('bench:all --baseline', () => {
  const small = ['--engines', 'tape', '--steps', '5', '--samples', '0', '--trials', '4', ...SMALL_MODEL_FLAGS];
  small.push('--no-page');
  const dir = tempDir('baseline');
  const first = join(dir, 'first');

  it('runs, then compares with the baseline: the table after the summary; identical losses', () => {
    expect(runScript('bench-all.ts', [...small, '--out', first, '--report', join(dir, 'first.md')]).status).toBe(0);
    const r = runScript('bench-all.ts', [
      ...small,
      ...['--out', join(dir, 'second'), '--report', join(dir, 'second.md')],
      // No --fail-on-regression: two 5-step runs' times can differ 2x on a busy machine, and this
      // test is of the table's place, not of a time verdict (those are tested on fixed times above).
      ...['--baseline', first],
    ]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^# Comparison$/m);
    expect(r.stdout).toMatch(/^\| tape \| 4 \/ 4 \| .* \| identical \| pass \|$/m);
  });

  it('a baseline of another job: one line, exit 2, before any run', () => {
    const out = join(dir, 'never');
    const r = runScript('bench-all.ts', [...small, '--seed', '7', '--baseline', first, '--out', out]);
    expect(r.status).toBe(2);
    expect(r.stderr.trim()).toMatch(/^error: .*first and this bench ran different jobs: seed 42 vs 7$/);
    expect(existsSync(out)).toBe(false);
  });

  it('--fail-on-regression without --baseline: one line, exit 2', () => {
    const r = runScript('bench-all.ts', [...small, '--fail-on-regression', '--out', join(dir, 'never2')]);
    expect(r.status).toBe(2);
    expect(r.stderr.trim()).toBe('error: --fail-on-regression needs --baseline');
  });
});

describe('bench:all summary', () => {
  it('warns of an engine whose trial times spread over 10%', () => {
    const lines = benchSummaryLines(summarize(readResultsFolder(FIXTURE)), {
      trials: 2,
      config: ENV.config,
      datasetSource: ENV.dataset.source,
      elapsedMs: 1000,
    });
    expect(lines.filter((l) => l.startsWith('warning:'))).toEqual([
      'warning: tape: unstable: CV 42%; run more trials or quiet the machine',
    ]);
  });
});
