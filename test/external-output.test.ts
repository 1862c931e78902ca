/**
 * External programs, piece by piece: reading their output (microgpt.py's formats by default), the
 * verdict on their printed losses, and the specs given on the command line or in a config file.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { externalExecutor } from '../scenarios/bench/external/executor.ts';
import { emptyOutput, OutputReader, type Patterns } from '../scenarios/bench/external/output.ts';
import { externalFlag, fillPlaceholders } from '../scenarios/bench/external/spec.ts';
import { externalVerdict } from '../scenarios/bench/external/verdict.ts';
import type { Reference } from '../scenarios/bench/reference.ts';
import type { ExternalResult } from '../scenarios/bench/kinds/external.ts';
import { externalKind } from '../scenarios/bench/kinds/index.ts';
import { parseTimeOutput, resourceMeter } from '../scenarios/bench/resource-meter.ts';
import { DEFAULT_CONFIG } from '../workload/config.ts';
import { ROOT, SPAWN_GUARD_MS } from './helpers.ts';

const MICROGPT_DEFAULTS: Patterns = { lossPattern: null, samplePattern: null, timePattern: null };

function read(chunks: readonly string[], patterns: Patterns = MICROGPT_DEFAULTS) {
  const out = emptyOutput();
  const steps: number[] = [];
  const reader = new OutputReader(patterns, out, (step) => steps.push(step));
  chunks.forEach((c) => reader.push(c));
  reader.end();
  return { ...out, heard: steps };
}

describe('reading a program’s output', () => {
  it('reads microgpt.py’s step lines ended by \\r, and its samples, however the chunks fall', () => {
    const text =
      'num docs: 32033\nstep    1 / 1000 | loss 3.3660\rstep    2 / 1000 | loss 3.4243\r\n' +
      '--- inference (new, hallucinated names) ---\nsample  1: kamon\nsample  2: ann\r\nsample 10: \n';
    const expected = {
      losses: [
        { step: 1, loss: '3.3660' },
        { step: 2, loss: '3.4243' },
      ],
      printedSteps: 1000,
      samples: ['kamon', 'ann', ''],
      trainingMs: null,
      heard: [1, 2],
    };
    expect(read([text])).toEqual(expected);
    // Every split point: inside a line, between a \r and its \n, one character at a time.
    for (let cut = 1; cut < text.length; cut++) expect(read([text.slice(0, cut), text.slice(cut)])).toEqual(expected);
    expect(read([...text])).toEqual(expected);
  });

  it('keeps the last line even without an ending', () => {
    expect(read(['step 3 / 3 | loss 2.5000']).losses).toEqual([{ step: 3, loss: '2.5000' }]);
  });

  it('reads a training time in seconds or milliseconds through timePattern, and custom loss and sample formats', () => {
    const seconds = { ...MICROGPT_DEFAULTS, timePattern: String.raw`^Training: (?<seconds>[\d.]+) s` };
    expect(read(['Training: 0.05 s | 21850.3 steps/s\n'], seconds).trainingMs).toBe(50);
    const ms = { ...MICROGPT_DEFAULTS, timePattern: String.raw`took (?<ms>\d+) ms` };
    expect(read(['it took 1234 ms\n'], ms).trainingMs).toBe(1234);
    const custom = {
      lossPattern: String.raw`^it=(?<step>\d+) nll=(?<loss>\S+)`,
      samplePattern: '^> (?<text>.*)',
      timePattern: null,
    };
    expect(read(['it=1 nll=3.30\nstep 2 / 5 | loss 9.9\n> emma\nsample  1: x\n'], custom)).toMatchObject({
      losses: [{ step: 1, loss: '3.30' }],
      printedSteps: null,
      samples: ['emma'],
    });
  });
});

describe('the verdict on a program’s printed losses', () => {
  const config = { ...DEFAULT_CONFIG, steps: 4 };
  const AGAINST = "against topo's trial 1";
  const reference: Reference = {
    against: "topo's trial 1",
    losses: [3.36604, 3.42426, 3.17755, 2.91234],
    samples: ['ann', 'kamon'],
    decimals: Infinity,
    float32Spread: null,
    vocabSize: 27,
  };
  const run = (
    losses: [number, string][],
    samples: string[] = [],
    printedSteps: number | null = 4,
  ): ExternalResult => ({
    command: ['prog'],
    losses: losses.map(([step, loss]) => ({ step, loss })),
    printedSteps,
    samples,
    trainingMs: null,
  });
  const all: [number, string][] = [
    [1, '3.3660'],
    [2, '3.4243'],
    [3, '3.1776'],
    [4, '2.9123'],
  ];
  const verdict = (r: ExternalResult, fixedJob: boolean | object = false) =>
    externalVerdict(r, { config, fixedJob }, reference).text;

  it("holds a float32 program to float32 rounding's bound: 64·u·|loss| plus half its last printed digit", () => {
    const float32 = (losses: [number, string][]) =>
      externalVerdict(run(losses, ['zzz']), { config, fixedJob: false, precision: 'float32' }, reference).text;
    // Printed to 6 digits: 3.366040 ± (64·2⁻²⁴·3.37 + 5e-7) = ± 1.3e-5 passes; 2e-5 off does not.
    expect(float32([[1, '3.366052']])).toBe(
      `reproduces the reference within float32 rounding (1/1 printed steps; samples not compared; ${AGAINST})`,
    );
    expect(float32([[1, '3.366060']])).toMatch(/^differs from step 1 beyond float32 rounding \(printed 3\.366060/);
    // A float64 program printing the same is compared at its digits.
    expect(verdict(run([[1, '3.366052']]))).toMatch(/^differs from step 1/);
  });

  it('reproduces: every printed step equal at its printed precision, samples identical', () => {
    expect(verdict(run(all, ['ann', 'kamon']))).toBe(
      `reproduces the reference (4/4 printed steps equal to 4 decimals, samples identical; ${AGAINST})`,
    );
    expect(externalVerdict(run(all), { config, fixedJob: false }, reference)).toEqual({
      reproduces: true,
      text: `reproduces the reference (4/4 printed steps equal to 4 decimals, no samples printed; ${AGAINST})`,
    });
    expect(verdict(run([[4, '2.91']]))).toBe(
      `reproduces the reference (1/1 printed steps equal to 2 decimals, no samples printed; ${AGAINST})`,
    );
  });

  it('a program that prints only some steps is compared on those; it must print the last', () => {
    expect(
      verdict(
        run([
          [2, '3.4243'],
          [4, '2.9123'],
        ]),
      ),
    ).toMatch(/^reproduces the reference \(2\/2 printed steps/);
    expect(
      verdict(
        run([
          [1, '3.3660'],
          [3, '3.1776'],
        ]),
      ),
    ).toBe('incomplete (its last loss line is step 3 of 4)');
    expect(
      verdict(
        run([
          [1, '3.3660'],
          [3, '3.1777'],
        ]),
      ),
    ).toBe(`differs from step 3 (printed 3.1777, reference 3.1776; ${AGAINST})`);
  });

  it('differs from the first step that is off', () => {
    expect(
      verdict(
        run([
          [1, '3.3660'],
          [2, '3.5357'],
          [3, '3.1776'],
        ]),
      ),
    ).toBe(`differs from step 2 (printed 3.5357, reference 3.4243; ${AGAINST})`);
    expect(verdict(run([[1, 'nan']]))).toBe(`differs from step 1 (printed nan, reference 3.3660; ${AGAINST})`);
  });

  it('losses right but samples not is no reproduction', () => {
    const r = externalVerdict(run(all, ['ann', 'emma']), { config, fixedJob: false }, reference);
    expect(r).toEqual({
      reproduces: false,
      text:
        "reproduces the reference's losses (4/4 printed steps equal to 4 decimals) " +
        `but not its samples (sample 2: printed 'emma', reference 'kamon'; ${AGAINST})`,
    });
    expect(verdict(run(all, ['ann']))).toMatch(
      /but not its samples \(printed 1 samples, reference 2; against topo's trial 1\)$/,
    );
  });

  it('not comparable: another step count printed, a step beyond the job, or a fixed job', () => {
    expect(verdict(run(all, [], 1000))).toBe('not comparable: different job (it printed 1000 steps, the job has 4)');
    expect(verdict(run([[5, '2.0']], [], null))).toBe('not comparable: different job (it printed step 5 of 4)');
    expect(verdict(run(all), true)).toBe('not comparable: different job (declared fixedJob: it ignores the job given)');
    expect(verdict(run(all), { steps: 1000, seed: 42 })).toBe(
      'not comparable: different job (it always runs steps 1000, this job has 4)',
    );
    expect(verdict(run(all), { steps: 4, seed: 42 })).toMatch(/^reproduces the reference/);
  });

  it("against topo's stand-in, at most the 6 decimals it settles: more printed are compared at 6", () => {
    const standIn = { ...reference, against: "tensor, topo's stand-in", decimals: 6, losses: [3.366039251234567] };
    const oneStep = { config: { ...config, steps: 1 }, fixedJob: false };
    const one = (loss: string) => externalVerdict(run([[1, loss]], [], 1), oneStep, standIn).text;
    expect(one('3.3660392512345671')).toBe(
      'reproduces the reference (1/1 printed steps equal to 6 decimals, no samples printed; ' +
        "against tensor, topo's stand-in)",
    );
    // Off in the 9th decimal: beyond what the stand-in settles, so still equal.
    expect(one('3.3660392599999999')).toMatch(/^reproduces the reference \(1\/1 printed steps equal to 6 decimals/);
    expect(one('3.3660400')).toBe(
      "differs from step 1 (printed 3.3660400, reference 3.366039; against tensor, topo's stand-in)",
    );
    expect(one('3.3660')).toMatch(/equal to 4 decimals/);
  });

  it('no loss lines, or nothing to compare with', () => {
    expect(verdict(run([], [], null))).toBe('no loss lines found');
    expect(externalVerdict(run(all), { config, fixedJob: false }, null).text).toBe(
      'not checked: no reference for this job (its reference run diverged)',
    );
  });
});

describe('placeholders', () => {
  it('fills the job into the arguments; {{ and }} are literal braces', () => {
    const job = { dataPath: '/d/names.txt', config: { ...DEFAULT_CONFIG, steps: 7 } };
    const { command } = externalFlag("p=prog --steps={steps} --data {data} -e '{{x}}' {n-embd}x{n-head} {lr}");
    expect(fillPlaceholders(command, job)).toEqual([
      'prog',
      '--steps=7',
      '--data',
      '/d/names.txt',
      '-e',
      '{x}',
      '16x4',
      '0.01',
    ]);
  });
});

const hasPython = spawnSync('python3', ['--version']).status === 0;
if (!hasPython) console.warn('[skip] python3 not found: skipping the Python fixture test');

describe.skipIf(!hasPython)('the same lines from Python and from node', () => {
  it('parse exactly alike (microgpt.py’s formats, step lines ended by \\r alone)', async () => {
    const fixture = join(ROOT, 'test/fixtures/microgpt-format.py');
    // The fixture's list, printed the same way by node.
    const nodeScript = [
      "const losses = ['3.3660', '3.4243', '3.1778', '3.2601', '2.9903'];",
      'const pad = (n, w) => String(n).padStart(w);',
      "process.stdout.write('num docs: 32033\\nvocab size: 27\\nnum params: 4192\\n');",
      "const line = (l, i) => 'step ' + pad(i + 1, 4) + ' / ' + pad(losses.length, 4) + ' | loss ' + l + '\\r';",
      'losses.forEach((l, i) => process.stdout.write(line(l, i)));',
      "process.stdout.write('\\n--- inference (new, hallucinated names) ---\\n');",
      "const sample = (s, i) => 'sample ' + pad(i + 1, 2) + ': ' + s + '\\n';",
      "['kamon', 'ann', 'karai'].forEach((s, i) => process.stdout.write(sample(s, i)));",
    ].join('\n');
    const specs = [
      externalFlag(`python=python3 ${fixture}`),
      { ...externalFlag('node=node'), command: [process.execPath, '-e', nodeScript] },
    ];
    const execute = externalExecutor({ specs, job: { dataPath: '-', config: DEFAULT_CONFIG }, meter: null });
    const [py, js] = await Promise.all(
      ['python', 'node'].map((engine) =>
        execute({ kind: externalKind, engine, trial: 1, warmup: false }, { timeoutMs: SPAWN_GUARD_MS }),
      ),
    );
    const parsed = (r: typeof py) => (r.status === 'ok' ? { ...(r.result as ExternalResult), command: [] } : r);
    expect(parsed(py)).toEqual({
      command: [],
      losses: ['3.3660', '3.4243', '3.1778', '3.2601', '2.9903'].map((loss, i) => ({ step: i + 1, loss })),
      printedSteps: 5,
      samples: ['kamon', 'ann', 'karai'],
      trainingMs: null,
    });
    expect(parsed(js)).toEqual(parsed(py));
  });
  it('a program the kernel refuses to start (an argument over 128 KiB) is a failed run, not a throw', async () => {
    const spec = { ...externalFlag('long=true'), command: ['/bin/echo', 'x'.repeat(200_000)] };
    const execute = externalExecutor({ specs: [spec], job: { dataPath: '-', config: DEFAULT_CONFIG }, meter: null });
    const run = await execute(
      { kind: externalKind, engine: 'long', trial: 1, warmup: false },
      { timeoutMs: SPAWN_GUARD_MS },
    );
    expect(run).toMatchObject({ status: 'failed', reason: 'could not start: spawn E2BIG' });
  });
});

describe('a program that cannot be started is named, not GNU time', () => {
  // Under GNU time a missing command read `exited with code 127: /usr/bin/time: cannot run ./nothere:
  // No such file or directory`; Node's own spawn says `could not start: spawn ./nothere ENOENT`.
  const runOnce = async (command: string[], meter: ReturnType<typeof resourceMeter>) => {
    const spec = { ...externalFlag('prog=true'), command };
    const execute = externalExecutor({ specs: [spec], job: { dataPath: '-', config: DEFAULT_CONFIG }, meter });
    return execute({ kind: externalKind, engine: 'prog', trial: 1, warmup: false }, { timeoutMs: SPAWN_GUARD_MS });
  };
  const meter = resourceMeter();
  afterAll(() => meter?.dispose());
  it.skipIf(meter === null)(
    'a missing command and one not executable, under GNU time: could not start, and why',
    async () => {
      const missing = await runOnce(['./nothere'], meter);
      expect(missing).toMatchObject({
        status: 'failed',
        reason: 'could not start: ./nothere: No such file or directory',
      });
      const notExecutable = await runOnce([join(ROOT, 'package.json')], meter);
      expect(notExecutable).toMatchObject({
        status: 'failed',
        reason: `could not start: ${join(ROOT, 'package.json')}: Permission denied`,
      });
      // A program that itself exits 127 keeps its own reason.
      expect(await runOnce(['/bin/sh', '-c', 'echo oops >&2; exit 127'], meter)).toMatchObject({
        status: 'failed',
        reason: 'exited with code 127: oops',
      });
    },
  );
  it('without GNU time too', async () => {
    expect(await runOnce(['./nothere'], null)).toMatchObject({
      status: 'failed',
      reason: 'could not start: spawn ./nothere ENOENT',
    });
  });
});

describe('GNU time’s report', () => {
  it('reads CPU times and peak RSS, after an exit-status or signal line', () => {
    expect(parseTimeOutput('1.25 0.50 43720\n')).toEqual({
      userMs: 1250,
      systemMs: 500,
      maxRssBytes: 43720 * 1024,
      counts: null,
      signal: null,
    });
    expect(parseTimeOutput('Command exited with non-zero status 3\n0.00 0.01 1596\n')).toMatchObject({
      systemMs: 10,
      signal: null,
    });
    expect(parseTimeOutput('Command terminated by signal 6\n0.01 0.00 1428\n')?.signal).toBe('SIGABRT');
    expect(parseTimeOutput('')).toBeNull();
    expect(parseTimeOutput('time: cannot run nope: No such file or directory\n')).toBeNull();
  });
});
