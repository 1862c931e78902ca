import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { beforeAll, describe, expect, it } from 'vitest';
import { trainKind } from '../scenarios/bench/kinds/index.ts';
import { outcomeOf, type ChildEnd } from '../scenarios/bench/process-executor.ts';
import type { TrainResult } from '../scenarios/train.ts';

/** A runs.jsonl line as the file holds it: the fields of every status, optional. */
interface RunLine {
  kind: string;
  engine: string;
  trial: number;
  warmup: boolean;
  status: string;
  wallMs: number;
  startupMs: number | null;
  userMs: number | null;
  systemMs: number | null;
  maxRssBytes: number | null;
  reason?: string;
  divergedAtStep?: number;
  result?: TrainResult;
}
type RunRecord = RunLine;
type TrainRun = RunLine;
import { expectInputError, runScript, SMALL_MODEL_FLAGS, startScript, tempDirs } from './helpers.ts';
import { compiledFixture } from './compiled-scripts.ts';

/** The test-only faulty engines join the registry through the documented extension point. */
const FAULTY = { MICROGPT_BENCH_ENGINES: compiledFixture('faulty-engines') };
const tmp = tempDirs()('bench-all');
/** A short job on the small model (SMALL_MODEL_FLAGS): none of these tests is about the model. */
const SHORT_JOB = ['--steps', '4', '--samples', '1', ...SMALL_MODEL_FLAGS];

const readRuns = (dir: string): RunRecord[] =>
  readFileSync(join(dir, 'runs.jsonl'), 'utf8')
    .trimEnd()
    .split('\n')
    .map((line) => JSON.parse(line) as RunRecord);

const trainRun = (runs: RunRecord[], engine: string, trial = 1) =>
  runs.find((r): r is TrainRun => r.kind === 'train' && r.engine === engine && r.trial === trial && !r.warmup);

// The two fault benches run side by side: the hanging engine's runs mostly wait for --timeout.
const faults = { out: join(tmp, 'faults'), report: join(tmp, 'faults.md') };
const hang = { out: join(tmp, 'hang'), report: join(tmp, 'hang.md') };
let faultsRun: { status: number | null; stdout: string; stderr: string };
let hangRun: typeof faultsRun;
beforeAll(async () => {
  [faultsRun, hangRun] = await Promise.all([
    // A small heap limit (inherited by every run's process) makes the leaking engine hit it fast.
    startScript(
      'bench-all.ts',
      [
        '--engines',
        'topo,throws-at-3,nan-at-3,oom-at-3',
        '--trials',
        '2',
        ...SHORT_JOB,
        '--out',
        faults.out,
        '--report',
        faults.report,
      ],
      {
        ...FAULTY,
        NODE_OPTIONS: '--max-old-space-size=256',
      },
    ).done,
    startScript(
      'bench-all.ts',
      [
        '--engines',
        'hangs-at-3,topo',
        '--trials',
        '2',
        '--timeout',
        '8',
        ...SHORT_JOB,
        '--out',
        hang.out,
        '--report',
        hang.report,
        // Its page is never read: the Markdown report only (tested below).
        '--no-page',
      ],
      FAULTY,
    ).done,
  ]);
});

describe('bench:all with faulty engines', () => {
  const { out, report } = faults;
  let r: typeof faultsRun;
  let runs: RunRecord[];
  beforeAll(() => {
    r = faultsRun;
    runs = readRuns(out);
  });

  it('completes, writes every file and the report, and prints its path', () => {
    expect(r.status, r.stderr).toBe(0);
    for (const file of ['runs.jsonl', 'runs.csv', 'summary.csv', 'env.json'])
      expect(existsSync(join(out, file))).toBe(true);
    expect(r.stdout).toContain(`Report:  ${report}`);
    expect(existsSync(report)).toBe(true);
    // The page beside the Markdown, its path printed.
    const page = report.replace(/\.md$/, '.html');
    expect(r.stdout).toContain(`Page:    ${page}`);
    expect(readFileSync(page, 'utf8')).toMatch(/^<!doctype html>[\s\S]*<figure id="loss-chart"><svg /);
  });

  it('gives each fault one row with its reason, while the healthy engine runs every trial', () => {
    expect(trainRun(runs, 'topo', 1)?.status).toBe('ok');
    expect(trainRun(runs, 'topo', 2)?.status).toBe('ok');
    expect(trainRun(runs, 'topo', 2)?.result?.losses).toHaveLength(4);
    expect(trainRun(runs, 'throws-at-3')).toMatchObject({
      status: 'failed',
      reason: expect.stringMatching(/threw Error: deliberate fault at step 3/),
    });
    expect(trainRun(runs, 'nan-at-3')).toMatchObject({
      status: 'diverged',
      divergedAtStep: 3,
      reason: 'loss became NaN',
    });
    expect(trainRun(runs, 'oom-at-3')).toMatchObject({
      status: 'failed',
      reason: expect.stringMatching(/out of memory/),
    });
    // A faulty engine sits out its second trial: one row per fault.
    for (const engine of ['throws-at-3', 'nan-at-3', 'oom-at-3']) expect(trainRun(runs, engine, 2)).toBeUndefined();
  });

  it('measures every engine’s gradient verdict in the same run', () => {
    const checks = runs.filter((x) => x.kind === 'gradcheck');
    expect(checks.map((c) => c.engine)).toEqual(['topo', 'throws-at-3', 'nan-at-3', 'oom-at-3']);
    expect(checks[0]).toMatchObject({ status: 'ok', result: { engine: 'topo', pass: true, verdict: 'pass' } });
    expect(checks[1]).toMatchObject({ status: 'failed', reason: expect.stringMatching(/deliberate fault at step 3/) });
    // A NaN loss is a wrong result, not a crash: the check runs to its verdict.
    expect(checks[2]).toMatchObject({
      status: 'ok',
      result: {
        engine: 'nan-at-3',
        pass: false,
        verdict: expect.stringMatching(/^FAIL: .*losses drift up to Infinity/),
      },
    });
  });

  it('shows the faults in the report and the terminal summary', () => {
    const md = readFileSync(report, 'utf8');
    expect(md).toMatch(/\| throws-at-3 \|.*\| failed: threw Error: deliberate fault at step 3 \|/);
    expect(md).toMatch(/\| nan-at-3 \|.*\| diverged at step 3 \(loss became NaN\) \|/);
    expect(md).toMatch(/\| oom-at-3 \|.*\| failed: out of memory/);
    expect(md).toMatch(/\| topo \| baseline \(naive port\) \| [\d.]+ m?s \([\d.]+–[\d.]+\) \| baseline \|/);
    expect(r.stdout).toMatch(/nan-at-3 +diverged at step 3 \(loss became NaN\) +gradients: /);
  });

  it('writes runs.csv that parses back to the values in runs.jsonl', () => {
    const rows = parse(readFileSync(join(out, 'runs.csv'), 'utf8'), { columns: true }) as Record<string, string>[];
    const train = runs.filter((x): x is TrainRun => x.kind === 'train');
    expect(rows).toHaveLength(train.length);
    const cell = (v: unknown) => (v === undefined || v === null ? '' : String(v));
    const { machine } = JSON.parse(readFileSync(join(out, 'env.json'), 'utf8'));
    rows.forEach((row, i) => {
      const run = train[i];
      const res = run.result;
      // Every column, so a column added to the CSV must be added here too.
      expect(row).toEqual({
        machine,
        engine: run.engine,
        trial: cell(run.trial),
        warmup: cell(run.warmup),
        status: run.status,
        reason: cell(run.reason),
        diverged_at_step: cell(run.divergedAtStep),
        wall_ms: cell(run.wallMs),
        startup_ms: cell(run.startupMs),
        user_ms: cell(run.userMs),
        system_ms: cell(run.systemMs),
        max_rss_bytes: cell(run.maxRssBytes),
        steps: cell(res?.losses.length),
        total_ms: cell(res?.timingMs.total),
        forward_ms: cell(res?.timingMs.forward),
        softmax_ms: cell(res?.timingMs.softmax),
        backward_ms: cell(res?.timingMs.backward),
        update_ms: cell(res?.timingMs.update),
        ms_per_step: cell(res?.msPerStep),
        final_loss: cell(res?.finalLoss),
        mean_loss_last100: cell(res?.meanLossLast100),
        nodes_per_step_mean: cell(res?.nodesPerStep.mean),
        nodes_per_step_max: cell(res?.nodesPerStep.max),
        edges_per_step_mean: cell(res?.edgesPerStep.mean),
        edges_per_step_max: cell(res?.edgesPerStep.max),
        peak_rss_bytes: cell(res?.memory.peakRssBytes),
        peak_heap_bytes: cell(res?.memory.peakHeapBytes),
        gflops: cell(res?.gflops),
      });
      if (res) expect(Number(row.final_loss)).toBe(res.finalLoss);
    });
    const summary = parse(readFileSync(join(out, 'summary.csv'), 'utf8'), { columns: true }) as Record<
      string,
      string
    >[];
    expect(summary.map((s) => s.engine)).toEqual(['topo', 'throws-at-3', 'nan-at-3', 'oom-at-3']);
    const topoTimes = [1, 2].map((t) => trainRun(runs, 'topo', t)!.result!.timingMs.total);
    const topo1 = trainRun(runs, 'topo', 1)!.result!;
    expect(summary[0]).toMatchObject({
      study: 'baseline (naive port)',
      status: 'ok',
      trials_ok: '2',
      trials_planned: '2',
      median_ms: String((topoTimes[0] + topoTimes[1]) / 2),
      min_ms: String(Math.min(...topoTimes)),
      max_ms: String(Math.max(...topoTimes)),
      speedup_vs_topo: '1',
      final_loss: String(topo1.finalLoss),
      mean_loss_last100: String(topo1.meanLossLast100),
      nodes_per_step: String(topo1.nodesPerStep.mean),
      gradcheck_pass: 'true',
      gradient_verdict: 'pass',
    });
    expect(summary[1]).toMatchObject({
      status: expect.stringMatching(/^failed: threw Error: deliberate fault at step 3/),
      median_ms: '',
      gradcheck_pass: '',
    });
  });

  it('writes env.json with the machine, the tree, the dataset and the job', () => {
    const env = JSON.parse(readFileSync(join(out, 'env.json'), 'utf8'));
    expect(env.node).toBe(process.version);
    expect(env.v8).toBe(process.versions.v8);
    expect(env.cpu).toEqual({ model: expect.any(String), count: expect.any(Number) });
    expect(env.cpu.count).toBeGreaterThan(0);
    expect(env.os).toEqual({ platform: process.platform, release: expect.any(String), arch: process.arch });
    expect(env.totalMemoryBytes).toBeGreaterThan(0);
    expect(env.git.commit).toMatch(/^[0-9a-f]{40}$/);
    expect(typeof env.git.dirty).toBe('boolean');
    expect(env.dataset).toEqual({
      source: expect.stringMatching(/^embedded:/),
      docs: 8422,
      sha256: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    expect(env.config).toMatchObject({ steps: 4, samples: 1, seed: 42, nEmbd: 8 });
    expect(env.seed).toBe(42);
    expect(Number.isNaN(Date.parse(env.date))).toBe(false);
    expect(env.bench).toMatchObject({ trials: 2, warmup: 0, timeoutSeconds: 600 });
    expect(env.bench.engines.map((e: { name: string }) => e.name)).toEqual([
      'topo',
      'throws-at-3',
      'nan-at-3',
      'oom-at-3',
    ]);
    expect(env.command).toEqual({
      args: expect.arrayContaining(['--trials', '2']),
      enginesModule: FAULTY.MICROGPT_BENCH_ENGINES,
      nodeOptions: '--max-old-space-size=256',
      execArgv: [],
    });
  });
});

describe('bench:all with an engine that hangs', () => {
  it('kills it at --timeout and records a failed row, while the other engine runs every trial', () => {
    expect(hangRun.status, hangRun.stderr).toBe(0);
    const runs = readRuns(hang.out);
    expect(trainRun(runs, 'hangs-at-3')).toMatchObject({ status: 'failed', reason: 'timed out after 8 s' });
    expect(trainRun(runs, 'hangs-at-3', 2)).toBeUndefined();
    expect([1, 2].map((t) => trainRun(runs, 'topo', t)?.status)).toEqual(['ok', 'ok']);
    expect(runs.find((x) => x.kind === 'gradcheck' && x.engine === 'hangs-at-3')).toMatchObject({
      status: 'failed',
      reason: 'timed out after 8 s',
    });
    expect(readFileSync(hang.report, 'utf8')).toMatch(/\| hangs-at-3 \|.*\| failed: timed out after 8 s \|/);
  });

  it('--no-page: the Markdown report and no HTML page beside it, nor its path printed', () => {
    expect(hangRun.stdout).toContain(`Report:  ${hang.report}`);
    expect(hangRun.stdout).not.toContain('Page:');
    expect(readdirSync(tmp).filter((f) => f.startsWith('hang.'))).toEqual(['hang.md']);
  });
});

describe('bench:all interrupted', () => {
  it('keeps the finished runs in a valid runs.jsonl, and report works on the partial folder', async () => {
    const out = join(tmp, 'interrupted');
    const { child, done } = startScript(
      'bench-all.ts',
      ['--engines', 'topo,hangs-at-3', '--trials', '2', '--timeout', '60', ...SHORT_JOB, '--out', out],
      FAULTY,
    );
    // topo's first trial is recorded; then hangs-at-3 blocks, so the bench is surely mid-run.
    const runsFile = join(out, 'runs.jsonl');
    while (!(existsSync(runsFile) && readFileSync(runsFile, 'utf8').includes('"engine":"topo"'))) {
      await new Promise((t) => setTimeout(t, 50));
    }
    child.kill('SIGINT');
    const { status, stderr } = await done;
    expect(status).toBe(130);
    expect(stderr).toContain(`interrupted: the finished runs are in ${runsFile}`);

    const runs = readRuns(out);
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({ kind: 'train', engine: 'topo', trial: 1, status: 'ok' });
    expect(existsSync(join(out, 'runs.csv'))).toBe(false);

    const report = join(tmp, 'interrupted.md');
    const r = runScript('report.ts', [out, '--output', report]);
    expect(r.status, r.stderr).toBe(0);
    const md = readFileSync(report, 'utf8');
    expect(md).toMatch(/\| topo \|.*\| 1 of 2 trials \(interrupted\) \|/);
    expect(md).toMatch(/\| hangs-at-3 \|.*\| not checked \| 0 of 2 trials \(interrupted\) \|/);
  });
});

describe('bench:all: bad input', () => {
  /** The helpers' one-line error with exit code 2, and no results folder left behind. */
  function expectBadInput(args: string[], message: RegExp) {
    const out = join(tmp, 'never-written');
    expectInputError('bench-all.ts', [...args, '--out', out], message);
    expect(existsSync(out)).toBe(false);
  }

  it('--trials 0', () => expectBadInput(['--trials', '0'], /^error: --trials expects a whole number ≥ 1, got '0'$/));
  it('--engines nope lists the registered engines', () =>
    expectBadInput(['--engines', 'nope'], /^error: --engines: unknown 'nope'. Valid: topo/));
  it('--timeout 0', () =>
    expectBadInput(
      ['--timeout', '0'],
      /^error: --timeout expects a number of seconds > 0 \(at most 2147483\), got '0'$/,
    ));
  it('--timeout beyond what a timer can wait', () =>
    expectBadInput(
      ['--timeout', '3000000'],
      /^error: --timeout expects a number of seconds > 0 \(at most 2147483\), got '3000000'$/,
    ));
  it('--out pointing at a folder that is not empty', () => {
    const full = join(tmp, 'full');
    mkdirSync(full);
    writeFileSync(join(full, 'notes.txt'), 'mine\n');
    expectInputError(
      'bench-all.ts',
      ['--out', full],
      /^error: --out .*full: is not empty; choose a new or empty folder$/,
    );
    expect(readdirSync(full)).toEqual(['notes.txt']);
    expect(readFileSync(join(full, 'notes.txt'), 'utf8')).toBe('mine\n');
  });
  it('--out pointing at a file', () => {
    const file = join(tmp, 'a-file');
    writeFileSync(file, 'keep me\n');
    expectInputError('bench-all.ts', ['--out', file], /^error: --out .*a-file: is a file, expected a folder$/);
    expect(readFileSync(file, 'utf8')).toBe('keep me\n');
  });
});

describe('how a run process ended, as an outcome', () => {
  const ended = (end: Partial<ChildEnd>) =>
    outcomeOf(
      trainKind,
      { code: null, signal: null, timedOut: false, interrupted: false, stderr: '', ...end },
      5000,
      42,
    );

  it('a crash without a message keeps the exit code and the last stderr line', () =>
    expect(ended({ code: 3, stderr: 'some noise\nsegment table corrupt\n' })).toEqual({
      status: 'failed',
      reason: 'exited with code 3: segment table corrupt',
      wallMs: 42,
    }));
  it('a signal', () =>
    expect(ended({ signal: 'SIGSEGV' })).toEqual({ status: 'failed', reason: 'killed by SIGSEGV', wallMs: 42 }));
  it('a clean exit that sent no result', () =>
    expect(ended({ code: 0 })).toEqual({ status: 'failed', reason: 'exited without a result', wallMs: 42 }));
  it('a result from a process that then exits non-zero is not trusted', () =>
    expect(ended({ code: 1, reply: { type: 'result', result: {} as never } })).toEqual({
      status: 'failed',
      reason: 'exited with code 1',
      wallMs: 42,
    }));
  it('a worker ended by SIGINT of its own costs its row (only the bench stopping it is an interruption)', () => {
    expect(ended({ signal: 'SIGINT' })).toEqual({ status: 'failed', reason: 'killed by SIGINT', wallMs: 42 });
    expect(ended({ signal: 'SIGKILL', interrupted: true })).toEqual({ status: 'interrupted' });
  });
});
