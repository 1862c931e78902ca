/**
 * The count pass's parts without valgrind: callgrind's files read into counts, the cycle estimate,
 * compare's verdict on counts at a threshold, the sweep's choice of measure, --shard auto, and the
 * flags' bad input.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { countedSteps, countJob, estimatedCycles, readCounts } from '../scenarios/bench/counts/callgrind.ts';
import { countMarks } from '../scenarios/bench/kinds/counts-run.ts';
import { countingMeter } from '../scenarios/bench/counts/meter.ts';
import { meteredEnv, type ResourceMeter } from '../scenarios/bench/resource-meter.ts';
import { processExecutor, workerEnv } from '../scenarios/bench/process-executor.ts';
import countsKind from '../scenarios/bench/kinds/counts.ts';
import { workerFor } from '../scenarios/bench/worker-build.ts';
import { readResultsFolder } from '../scenarios/bench/results.ts';
import { compareFolders } from '../scenarios/compare/compare.ts';
import { engineFits, type PointRow } from '../scenarios/sweep/points.ts';
import { shardFlag } from '../scripts/shard-flag.ts';
import { expectInputError, rawResults, ROOT, runScript, tempDirs, TINY } from './helpers.ts';

const tmp = tempDirs();
const EVENTS = 'Ir Dr Dw I1mr D1mr D1mw ILmr DLmr DLmw';

/** A callgrind file with these totals, as callgrind writes its header and last line. */
const callgrindFile = (totals: number[]) =>
  `# callgrind format\nversion: 1\ncreator: callgrind-3.19.0\nevents: ${EVENTS}\n` +
  `summary: ${totals.join(' ')}\nfn=(1) main\n0 ${totals.join(' ')}\ntotals: ${totals.join(' ')}\n`;

describe('reading callgrind files', () => {
  const dir = tmp('callgrind');
  const files: Record<string, number[]> = {
    // The worker's main thread: start-up, then the marked training steps, then the rest.
    'callgrind.100.1-01': [1000, 300, 200, 10, 20, 5, 1, 2, 1],
    'callgrind.100.2-01': [500, 100, 50, 4, 6, 2, 1, 1, 0],
    'callgrind.100-01': [200, 60, 40, 2, 3, 1, 0, 1, 0],
    // Another thread of it, and a child process.
    'callgrind.100-02': [30, 10, 5, 1, 0, 0, 0, 0, 0],
    'callgrind.101-01': [70, 20, 10, 1, 1, 0, 0, 0, 0],
  };
  for (const [name, totals] of Object.entries(files)) writeFileSync(join(dir, name), callgrindFile(totals));
  writeFileSync(join(dir, 'callgrind.102-01'), '# cut short\nevents: Ir\n');
  writeFileSync(join(dir, 'valgrind.100.log'), '==100== Callgrind');

  it('sums every part of every thread and process into the whole, the marked thread’s part 2 is training', () => {
    const counts = readCounts(dir)!;
    expect(counts.processes).toBe(2);
    expect(counts.whole.instructions).toBe(1000 + 500 + 200 + 30 + 70);
    expect(counts.whole.dataReads).toBe(300 + 100 + 60 + 10 + 20);
    expect(counts.training).toEqual({
      instructions: 500,
      dataReads: 100,
      dataWrites: 50,
      l1Misses: 4 + 6 + 2,
      llMisses: 1 + 1 + 0,
      // 650 accesses: 638 L1 hits, 10 LL hits, 2 from memory.
      estimatedCycles: 638 + 5 * 10 + 35 * 2,
    });
  });

  it('has no training part for a program that marks nothing, and no counts without files', () => {
    const whole = tmp('unmarked');
    writeFileSync(join(whole, 'callgrind.7-01'), callgrindFile([9, 1, 1, 0, 0, 0, 0, 0, 0]));
    expect(readCounts(whole)).toMatchObject({ training: null, processes: 1, whole: { instructions: 9 } });
    expect(readCounts(tmp('empty'))).toBeNull();
  });

  it('estimates cycles as L1 hits + 5 × LL hits + 35 × memory accesses', () => {
    expect(estimatedCycles(1000, 100, 10)).toBe(900 + 5 * 90 + 35 * 10);
    expect(estimatedCycles(1000, 0, 0)).toBe(1000);
  });
});

describe('compare on counts', () => {
  const FIXTURE = join(ROOT, 'test/fixtures/bench-results/complete');
  const COUNTS = {
    steps: 20,
    skip: 0,
    valgrind: 'valgrind-3.19.0',
    options: ['--tool=callgrind'],
    nodeFlags: ['--predictable'],
  };
  /** The fixture with tape counted: `cycles` estimated cycles over its 20 count steps. */
  function counted(name: string, cycles: number, setup = COUNTS): string {
    const dir = join(tmp('cmp'), name);
    mkdirSync(dir);
    const { runs, env } = rawResults(FIXTURE);
    env.bench.counts = setup;
    const part = { instructions: cycles / 2, dataReads: 1, dataWrites: 1, l1Misses: 0, llMisses: 0 };
    const run = {
      kind: 'counts',
      engine: 'tape',
      trial: 1,
      warmup: false,
      wallMs: 1,
      counts: {
        whole: { ...part, estimatedCycles: 2 * cycles },
        training: { ...part, estimatedCycles: cycles },
        processes: 1,
      },
      status: 'ok',
      result: { steps: 20, finalLoss: 2 },
    };
    writeFileSync(join(dir, 'env.json'), JSON.stringify(env));
    writeFileSync(join(dir, 'runs.jsonl'), [...runs, run].map((r) => JSON.stringify(r) + '\n').join(''));
    return dir;
  }
  const tape = (base: string, next: string, threshold: number) =>
    compareFolders(readResultsFolder(base), readResultsFolder(next), { threshold, confidence: 0.95 }).engines.find(
      (e) => e.engine === 'tape',
    )!;
  const base = counted('base', 1e9);

  it('decides beyond ±threshold, with no interval: 0.15% is slower at 0.1%, 0.05% no change', () => {
    const slower = tape(base, counted('up', 1.0015e9), 0.001);
    expect(slower.counts).toMatchObject({ verdict: 'slower', baseCyclesPerStep: 5e7, newCyclesPerStep: 5.0075e7 });
    expect(slower.regression).toBe(true);
    expect(tape(base, counted('flat', 1.0005e9), 0.001).counts?.verdict).toBe('no change');
    const faster = tape(base, counted('down', 0.97e9), 0.02);
    expect(faster.counts?.verdict).toBe('faster');
    expect(faster.regression).toBe(false);
  });

  it('does not decide on counts made another way (another count job), and warns', () => {
    const other = counted('other', 2e9, { ...COUNTS, steps: 10 });
    const c = compareFolders(readResultsFolder(base), readResultsFolder(other), { threshold: 0.02, confidence: 0.95 });
    expect(c.engines.find((e) => e.engine === 'tape')!.counts).toBeNull();
    expect(c.warnings.join('\n')).toMatch(/counts made differently \(20 steps, .* vs 10 steps, .*\): not compared/);
  });

  it('does not decide between two windows of one job (steps 1-20 against 101-120)', () => {
    const later = counted('later', 0.5e9, { ...COUNTS, skip: 100 });
    const c = compareFolders(readResultsFolder(base), readResultsFolder(later), { threshold: 0.02, confidence: 0.95 });
    expect(c.engines.find((e) => e.engine === 'tape')!.counts).toBeNull();
    expect(c.warnings.join('\n')).toMatch(/counts made differently \(20 steps, .* vs 20 steps after 100, .*\)/);
  });
});

describe("a counted process's environment", () => {
  it('drops NODE_EXTRA_CA_CERTS (not the rest), sets PYTHONHASHSEED, and a program may still set its own', () => {
    const saved = process.env.NODE_EXTRA_CA_CERTS;
    process.env.NODE_EXTRA_CA_CERTS = '/etc/ssl/certs/ca-certificates.crt';
    const meter = countingMeter();
    try {
      const env = meteredEnv(meter);
      expect(env.NODE_EXTRA_CA_CERTS).toBeUndefined();
      expect(env.PYTHONHASHSEED).toBe('0');
      expect(env.PATH).toBe(process.env.PATH);
      expect(meteredEnv(meter, { NODE_EXTRA_CA_CERTS: '/mine.pem' }).NODE_EXTRA_CA_CERTS).toBe('/mine.pem');
      // A timed program's meter (or none) leaves the environment as it is; an engine's worker, timed
      // or counted, runs without it.
      expect(meteredEnv(null).NODE_EXTRA_CA_CERTS).toBe('/etc/ssl/certs/ca-certificates.crt');
      expect(workerEnv(null).NODE_EXTRA_CA_CERTS).toBeUndefined();
      expect(workerEnv(meter)).toMatchObject({ PYTHONHASHSEED: '0', PATH: process.env.PATH });
    } finally {
      meter.dispose();
      if (saved === undefined) delete process.env.NODE_EXTRA_CA_CERTS;
      else process.env.NODE_EXTRA_CA_CERTS = saved;
    }
  });
});

describe('the count window', () => {
  /** The steps a run has finished when each mark comes (0: before the first). */
  const markedAt = (skip: number, steps: number) => {
    const at: number[] = [];
    let done = 0;
    const marks = countMarks(skip, steps, () => at.push(done));
    marks.onStart();
    for (done = 1; done <= steps; done++) marks.onStep(done);
    return at;
  };
  it('opens after the skipped steps and closes after the last', () => {
    expect(markedAt(0, 20)).toEqual([0, 20]);
    expect(markedAt(100, 300)).toEqual([100, 300]);
    expect(markedAt(1, 2)).toEqual([1, 2]);
  });
  it('is the count job: skip + counted steps, cut to the timed job', () => {
    expect(countJob({ steps: 1000 }, 200, 100).steps).toBe(300);
    expect(countJob({ steps: 250 }, 200, 100).steps).toBe(250);
    expect(countedSteps(250, 100)).toBe(150);
  });
});

describe('what a count run loads in its window', () => {
  /**
   * A count run's worker as bench:all starts it, without valgrind: a module Node loads is compiled
   * from source under the count flags (tens of millions of instructions), so one loaded between the
   * marks is counted as training. A probe preloaded into the worker notes Node's module list at
   * each mark (the calls callgrind dumps before) and writes what came after each when it exits.
   */
  it('no Node module between the marks; after them, not node:crypto for a hash the run never sends', async () => {
    const dir = tmp('count-window');
    const probe = join(dir, 'probe.cjs');
    const out = join(dir, 'loaded.json');
    writeFileSync(
      probe,
      `const os = require('node:os'); const fs = require('node:fs');
       const getPriority = os.getPriority; const at = [];
       os.getPriority = (...args) => (at.push(process.moduleLoadList.length), getPriority(...args));
       process.on('exit', () => { const all = process.moduleLoadList;
         const loaded = { at, during: all.slice(at[0], at[1]), after: all.slice(at[1]) };
         fs.writeFileSync(${JSON.stringify(out)}, JSON.stringify(loaded)); });`,
    );
    const probed: ResourceMeter = {
      nodeFlags: ['--require', probe],
      wrap: (argv) => ({ argv: [...argv], read: () => null }),
      dispose: () => {},
    };
    const config = { ...TINY.config, steps: 2, samples: 0 };
    const setup = { dataPath: null, config, enginesModule: null, counted: true };
    const execute = processExecutor(setup, { worker: await workerFor(), meter: probed });
    await execute({ kind: countsKind, engine: 'tape', trial: 1, warmup: false }, { timeoutMs: 120_000 });
    const loaded = JSON.parse(readFileSync(out, 'utf8')) as { at: number[]; during: string[]; after: string[] };
    console.log(`count window: marks at module ${loaded.at.join(', ')}; loaded after: ${loaded.after.join(', ')}`);
    expect(loaded.at).toHaveLength(2);
    expect(loaded.during).toEqual([]);
    expect(loaded.after.filter((m) => /crypto/.test(m))).toEqual([]);
  });
});

describe('sweep exponents', () => {
  const row = (engine: string, params: number, msPerStep: number, cyclesPerStep: number | null) =>
    ({ engine, params, flopsPerStep: params, msPerStep, cyclesPerStep }) as PointRow;
  it('are fitted on estimated cycles where every point was counted, on time otherwise, saying which', () => {
    const fits = engineFits([
      row('a', 10, 1, 100),
      row('a', 100, 50, 10000),
      row('b', 10, 1, 100),
      row('b', 100, 10, null),
    ]);
    expect(fits.map((f) => [f.engine, f.measure, f.byParams?.exponent])).toEqual([
      ['a', 'est. cycles/step', 2],
      ['b', 'ms/step', 1],
    ]);
  });
});

describe('--shard auto', () => {
  it('takes i/n from a Slurm array, and i from Kubernetes with auto/n', () => {
    const slurm = { SLURM_ARRAY_TASK_ID: '6', SLURM_ARRAY_TASK_MIN: '4', SLURM_ARRAY_TASK_COUNT: '4' };
    expect(shardFlag('auto', slurm)).toEqual({ index: 3, count: 4 });
    expect(shardFlag('auto/8', { JOB_COMPLETION_INDEX: '0' })).toEqual({ index: 1, count: 8 });
    expect(shardFlag('2/3', {})).toEqual({ index: 2, count: 3 });
  });
  it('refuses what does not make a shard', () => {
    expect(() => shardFlag('auto', {})).toThrow(/no job-array index in the environment/);
    expect(() => shardFlag('auto', { JOB_COMPLETION_INDEX: '1' })).toThrow(/say the count, --shard auto\/N/);
    expect(() => shardFlag('auto/2', { JOB_COMPLETION_INDEX: '2' })).toThrow(/the environment gives shard 3 of 2/);
    expect(() => shardFlag('auto', { SLURM_ARRAY_TASK_ID: 'x' })).toThrow(
      /SLURM_ARRAY_TASK_ID=x is not a whole number/,
    );
  });
});

describe('bad input', () => {
  const noArrays = Object.fromEntries(
    Object.keys(process.env)
      .filter((k) => k.startsWith('SLURM_') || k === 'JOB_COMPLETION_INDEX')
      .map((k) => [k, '']),
  );
  it('--counts without valgrind: one line, exit 2, before any run', () => {
    const out = join(tmp('novalgrind'), 'r');
    const r = runScript('bench-all.ts', ['--engines', 'tape', '--counts', '--out', out], {
      env: { PATH: '/nonexistent' },
    });
    expect(r.status).toBe(2);
    expect(r.stderr.trimEnd().split('\n')).toEqual([
      'error: --counts needs valgrind, which is not installed (Debian: apt-get install valgrind)',
    ]);
    expect(r.stdout).toBe('');
    expect(existsSync(out)).toBe(false);
  });
  it('--count-steps 0', () =>
    expectInputError('bench-all.ts', ['--counts', '--count-steps', '0'], /--count-steps expects a whole number ≥ 1/));
  it('--count-skip without --counts', () =>
    expectInputError('bench-all.ts', ['--count-skip', '5'], /--count-skip needs --counts/));
  it('--count-skip as long as the job', () =>
    expectInputError(
      'bench-all.ts',
      ['--counts', '--steps', '10', '--count-skip', '10'],
      /--count-skip 10 leaves no step to count: the job has 10 steps/,
    ));
  it('--count-steps without --counts', () =>
    expectInputError(
      'bench-sweep.ts',
      ['--vary', 'n-embd=8,16', '--count-steps', '5'],
      /--count-steps needs --counts/,
    ));
  it('--shard auto with no job-array variables', () => {
    const r = runScript('bench-sweep.ts', ['--vary', 'n-embd=8,16', '--shard', 'auto'], { env: noArrays });
    expect(r.status).toBe(2);
    expect(r.stderr.trimEnd().split('\n')).toEqual([
      expect.stringMatching(/^error: --shard auto: no job-array index in the environment \(SLURM_ARRAY_TASK_ID/),
    ]);
  });
});
