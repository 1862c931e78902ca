/**
 * Every column of summary.csv and runs.csv, checked against values this test computes itself from
 * the fixture folder's raw runs.jsonl (JSON.parse, no project code): the golden files only say the
 * output did not change, this says each column holds what its name promises.
 */
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { readResultsFolder } from '../scenarios/bench/results.ts';
import { RESULTS_FORMATS } from '../scenarios/output/export/formats.ts';
import { rawResults, ROOT, syncText } from './helpers.ts';

const DIR = join(ROOT, 'test/fixtures/bench-results/complete');
/* eslint-disable @typescript-eslint/no-explicit-any -- raw JSON, read without the project's schemas */
const { runs: RAW, env: ENV } = rawResults(DIR);

const csvFile = (suffix: string): Record<string, string>[] => {
  const file = RESULTS_FORMATS.flatMap((f) => f.files).find((f) => f.suffix === suffix)!;
  return parse(syncText(file.exporter.serialize([readResultsFolder(DIR)])), { columns: true });
};
const summaryRows = () => csvFile('summary.csv');
const runRows = () => csvFile('runs.csv');
const header = (rows: Record<string, string>[]) => Object.keys(rows[0]);
/** A cell as the CSV writes a value: empty for none, numbers at full precision. */
const cell = (v: unknown) => (v === undefined || v === null ? '' : String(v));

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

// Each test serializes afresh, inside the test, so a mutation tool can tell which test ran which code.
describe('summary.csv, column by column', () => {
  it('has exactly these columns, in this order', () =>
    expect(header(summaryRows())).toEqual([
      'machine',
      'engine',
      'study',
      'status',
      'trials_ok',
      'trials_planned',
      'median_ms',
      'min_ms',
      'max_ms',
      'speedup_vs_topo',
      'speedup_min',
      'speedup_max',
      'final_loss',
      'mean_loss_last100',
      'nodes_per_step',
      'edges_per_step',
      'peak_heap_bytes',
      'gflops',
      'gradcheck_pass',
      'gradient_verdict',
      'kind',
      'loss_verdict',
      'speedup_basis',
      'wall_median_ms',
      'wall_min_ms',
      'wall_max_ms',
      'startup_ms',
      'user_ms',
      'system_ms',
      'max_rss_bytes',
    ]));

  const timesOf = (engine: string) =>
    RAW.filter((r) => r.kind === 'train' && r.engine === engine && !r.warmup && r.status === 'ok').map(
      (r) => r.result.timingMs.total as number,
    );
  const topo = timesOf('topo');
  const okTrials = (kind: string, engine: string) =>
    RAW.filter((r) => r.kind === kind && r.engine === engine && !r.warmup && r.status === 'ok');
  /** The whole-process columns, each the median over the ok timed trials. */
  const costOf = (kind: string, engine: string) => {
    const ok = okTrials(kind, engine);
    const walls = ok.map((r) => r.wallMs as number);
    const med = (field: string) => (ok.some((r) => r[field] !== null) ? cell(median(ok.map((r) => r[field]))) : '');
    return {
      wall_median_ms: cell(median(walls)),
      wall_min_ms: cell(Math.min(...walls)),
      wall_max_ms: cell(Math.max(...walls)),
      startup_ms: med('startupMs'),
      user_ms: med('userMs'),
      system_ms: med('systemMs'),
      max_rss_bytes: med('maxRssBytes'),
    };
  };

  it('one row per engine of env.json, then per external program, in their order', () =>
    expect(summaryRows().map((r) => r.engine)).toEqual(
      [...ENV.bench.engines, ...ENV.bench.externals].map((e: any) => e.name),
    ));

  for (const engine of ['topo', 'tape', 'tensor', 'stack']) {
    it(`${engine}: every figure from its raw trials`, () => {
      const rows = summaryRows();
      const row = rows.find((r) => r.engine === engine)!;
      const times = timesOf(engine);
      expect(times).toHaveLength(2);
      const trials = RAW.filter((r) => r.kind === 'train' && r.engine === engine && !r.warmup);
      // The typical trial: the faster of two (the lower middle of an even count).
      const typical = trials.find((r) => r.result.timingMs.total === Math.min(...times)).result;
      const check = RAW.find((r) => r.kind === 'gradcheck' && r.engine === engine).result;
      expect(row).toEqual({
        machine: 'vm',
        engine,
        study: ENV.bench.engines.find((e: any) => e.name === engine).study,
        status: 'ok',
        trials_ok: '2',
        trials_planned: '2',
        median_ms: cell((times[0] + times[1]) / 2),
        min_ms: cell(Math.min(...times)),
        max_ms: cell(Math.max(...times)),
        speedup_vs_topo: cell(median(topo) / median(times)),
        speedup_min: cell(Math.min(...topo) / Math.max(...times)),
        speedup_max: cell(Math.max(...topo) / Math.min(...times)),
        final_loss: cell(typical.losses.at(-1)),
        mean_loss_last100: cell(typical.losses.reduce((a: number, b: number) => a + b) / typical.losses.length),
        nodes_per_step: cell(typical.nodesPerStep.mean),
        edges_per_step: cell(typical.edgesPerStep.mean),
        peak_heap_bytes: cell(typical.memory.peakHeapBytes),
        gflops: cell(typical.gflops),
        gradcheck_pass: cell(check.pass),
        gradient_verdict: check.verdict,
        kind: 'engine',
        loss_verdict: '',
        speedup_basis: 'training',
        ...costOf('train', engine),
      });
    });
  }

  it('an external program: wall times, its speedup on wall time, its loss verdict, no engine figures', () => {
    const row = summaryRows().find((r) => r.engine === 'own-tensor')!;
    const walls = okTrials('external', 'own-tensor').map((r) => r.wallMs as number);
    const topoWalls = okTrials('train', 'topo').map((r) => r.wallMs as number);
    expect(walls).toHaveLength(2);
    expect(row).toEqual({
      machine: 'vm',
      engine: 'own-tensor',
      study: '',
      status: 'ok',
      trials_ok: '2',
      trials_planned: '2',
      // It printed no training time.
      median_ms: '',
      min_ms: '',
      max_ms: '',
      speedup_vs_topo: cell(median(topoWalls) / median(walls)),
      speedup_min: cell(Math.min(...topoWalls) / Math.max(...walls)),
      speedup_max: cell(Math.max(...topoWalls) / Math.min(...walls)),
      final_loss: '',
      mean_loss_last100: '',
      nodes_per_step: '',
      edges_per_step: '',
      peak_heap_bytes: '',
      gflops: '',
      gradcheck_pass: '',
      gradient_verdict: '',
      kind: 'external',
      loss_verdict:
        "reproduces the reference (5/5 printed steps equal to 4 decimals, samples identical; against topo's trial 1)",
      speedup_basis: 'wall',
      ...costOf('external', 'own-tensor'),
    });
  });

  it('the speedup range brackets the median, and topo’s own median speedup is 1', () => {
    const rows = summaryRows();
    for (const row of rows.filter((r) => r.speedup_vs_topo !== '')) {
      expect(Number(row.speedup_min)).toBeLessThanOrEqual(Number(row.speedup_vs_topo));
      expect(Number(row.speedup_max)).toBeGreaterThanOrEqual(Number(row.speedup_vs_topo));
    }
    expect(rows[0].speedup_vs_topo).toBe('1');
  });

  it('an engine that failed or diverged in warm-up: its status, no figures, its verdict', () => {
    const rows = summaryRows();
    const [throws, nan] = ['throws-at-3', 'nan-at-3'].map((e) => rows.find((r) => r.engine === e)!);
    expect(throws.status).toBe('warmup run 1 failed: threw Error: deliberate fault at step 3');
    expect(nan.status).toBe('warmup run 1 diverged at step 3 (loss became NaN)');
    for (const row of [throws, nan]) {
      expect(row.trials_ok).toBe('0');
      for (const column of header(rows).slice(6, 18)) expect(row[column], column).toBe('');
    }
    expect(throws.gradcheck_pass).toBe('');
    expect(throws.gradient_verdict).toBe('not checked: threw Error: deliberate fault at step 3');
    expect(nan.gradcheck_pass).toBe('false');
  });
});

describe('summary.csv when a timed trial fails after others succeeded', () => {
  it('the failed trial counts in no figure, and the status names it', () => {
    const folder = readResultsFolder(DIR);
    const failed = {
      kind: 'train',
      engine: 'tape',
      trial: 3,
      warmup: false,
      status: 'failed',
      reason: 'timed out',
      wallMs: 9,
    };
    const withFailure = { ...folder, runs: [...folder.runs, failed as (typeof folder.runs)[number]] };
    const csv = RESULTS_FORMATS.flatMap((f) => f.files).find((f) => f.suffix === 'summary.csv')!;
    const rows: Record<string, string>[] = parse(syncText(csv.exporter.serialize([withFailure])), { columns: true });
    const before = summaryRows().find((r) => r.engine === 'tape')!;
    const tape = rows.find((r) => r.engine === 'tape')!;
    expect(tape).toEqual({ ...before, status: 'trial 3 failed: timed out' });
  });
});

describe('summary.csv of a folder without topo, or with an engine env.json does not list', () => {
  it('has no speedups without topo, and an empty study for an unlisted engine', () => {
    const folder = readResultsFolder(DIR);
    const env = { ...folder.env, bench: { ...folder.env.bench, engines: folder.env.bench.engines.slice(2) } };
    const runs = folder.runs.filter((r) => r.engine !== 'topo');
    const csv = RESULTS_FORMATS.flatMap((f) => f.files).find((f) => f.suffix === 'summary.csv')!;
    const rows: Record<string, string>[] = parse(syncText(csv.exporter.serialize([{ ...folder, env, runs }])), {
      columns: true,
    });
    expect(rows.map((r) => r.engine)).toEqual([
      'tensor',
      'stack',
      'throws-at-3',
      'nan-at-3',
      'own-tensor',
      'own-stack',
      'tape',
    ]);
    expect(rows.find((r) => r.engine === 'tape')!.study).toBe('');
    for (const row of rows) expect([row.speedup_vs_topo, row.speedup_min, row.speedup_max]).toEqual(['', '', '']);
  });
});

describe('runs.csv, column by column', () => {
  const train = RAW.filter((r) => r.kind === 'train');
  /** Each column and where its value lives in a raw training record. */
  const FIELDS: [string, (r: any) => unknown][] = [
    ['machine', () => 'vm'],
    ['engine', (r) => r.engine],
    ['trial', (r) => r.trial],
    ['warmup', (r) => r.warmup],
    ['status', (r) => r.status],
    ['reason', (r) => r.reason],
    ['diverged_at_step', (r) => r.divergedAtStep],
    ['wall_ms', (r) => r.wallMs],
    ['startup_ms', (r) => r.startupMs],
    ['user_ms', (r) => r.userMs],
    ['system_ms', (r) => r.systemMs],
    ['max_rss_bytes', (r) => r.maxRssBytes],
    ['steps', (r) => r.result?.losses.length],
    ['total_ms', (r) => r.result?.timingMs.total],
    ['forward_ms', (r) => r.result?.timingMs.forward],
    ['softmax_ms', (r) => r.result?.timingMs.softmax],
    ['backward_ms', (r) => r.result?.timingMs.backward],
    ['update_ms', (r) => r.result?.timingMs.update],
    ['ms_per_step', (r) => r.result?.msPerStep],
    ['final_loss', (r) => r.result?.finalLoss],
    ['mean_loss_last100', (r) => r.result?.meanLossLast100],
    ['nodes_per_step_mean', (r) => r.result?.nodesPerStep.mean],
    ['nodes_per_step_max', (r) => r.result?.nodesPerStep.max],
    ['edges_per_step_mean', (r) => r.result?.edgesPerStep.mean],
    ['edges_per_step_max', (r) => r.result?.edgesPerStep.max],
    ['peak_rss_bytes', (r) => r.result?.memory.peakRssBytes],
    ['peak_heap_bytes', (r) => r.result?.memory.peakHeapBytes],
    ['gflops', (r) => r.result?.gflops],
  ];

  it('has exactly these columns, in this order', () => expect(header(runRows())).toEqual(FIELDS.map(([name]) => name)));

  it('one row per training run (warm-up included), every cell the raw record’s value', () => {
    const rows = runRows();
    expect(rows).toHaveLength(train.length);
    rows.forEach((row, i) => {
      for (const [name, field] of FIELDS) expect(row[name], `run ${i + 1}, ${name}`).toBe(cell(field(train[i])));
    });
  });

  it('the phases add up to at most the total, and ms per step is the total over the steps', () => {
    const rows = runRows();
    for (const row of rows.filter((r) => r.status === 'ok')) {
      const phases = ['forward_ms', 'softmax_ms', 'backward_ms', 'update_ms'].map((c) => Number(row[c]));
      expect(phases.reduce((a, b) => a + b)).toBeLessThanOrEqual(Number(row.total_ms) * (1 + 1e-9));
      expect(Number(row.ms_per_step)).toBeCloseTo(Number(row.total_ms) / Number(row.steps), 9);
    }
  });
});

describe('external-runs.csv, column by column', () => {
  const external = RAW.filter((r) => r.kind === 'external');
  const FIELDS: [string, (r: any) => unknown][] = [
    ['machine', () => 'vm'],
    ['program', (r) => r.engine],
    ['trial', (r) => r.trial],
    ['warmup', (r) => r.warmup],
    ['status', (r) => r.status],
    ['reason', (r) => r.reason],
    ['wall_ms', (r) => r.wallMs],
    ['user_ms', (r) => r.userMs],
    ['system_ms', (r) => r.systemMs],
    ['max_rss_bytes', (r) => r.maxRssBytes],
    ['training_ms', (r) => r.result?.trainingMs],
    ['loss_lines', (r) => r.result?.losses.length],
    ['printed_steps', (r) => r.result?.printedSteps],
    ['last_step', (r) => r.result?.losses.at(-1)?.step],
    ['last_loss', (r) => r.result?.losses.at(-1)?.loss],
    ['samples', (r) => r.result?.samples.length],
    ['command', (r) => r.result?.command.join(' ')],
    ['lingering', (r) => r.lingering?.join('; ')],
  ];

  it('has exactly these columns, one row per run (warm-up included), every cell the raw record’s value', () => {
    const rows = csvFile('external-runs.csv');
    expect(header(rows)).toEqual(FIELDS.map(([name]) => name));
    expect(external.length).toBeGreaterThanOrEqual(6);
    expect(rows).toHaveLength(external.length);
    rows.forEach((row, i) => {
      for (const [name, field] of FIELDS) expect(row[name], `run ${i + 1}, ${name}`).toBe(cell(field(external[i])));
    });
  });
});
