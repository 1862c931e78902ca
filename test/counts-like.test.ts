/**
 * Issue 30, class 2: verdicts only on figures that compare. Counts decide only like with like (one
 * count identity: the same count job, tool and measure; marks found on both sides); otherwise no
 * count verdict, said in the table, and a regression check that cannot be vouched for fails.
 * Saved folders with impossible count records are refused; a program's impossible step count gives
 * no Infinity or NaN; a program that stopped early is incomplete, never "reproduces".
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InputError } from '../engines/input-error.ts';
import { identityDifference } from '../scenarios/bench/counts/identity.ts';
import { countsRows } from '../scenarios/bench/counts/rows.ts';
import { externalVerdict } from '../scenarios/bench/external/verdict.ts';
import { readResultsFolder, type ResultsFolder } from '../scenarios/bench/results.ts';
import { compareFolders } from '../scenarios/compare/compare.ts';
import { compareJson, compareMarkdown } from '../scenarios/output/export/compare.ts';
import { countsCsv } from '../scenarios/output/export/csv.ts';
import { mergeSweeps, type SweepFolder } from '../scenarios/sweep/folder.ts';
import { DEFAULT_CONFIG } from '../workload/config.ts';
import { expectInputError, rawResults, ROOT, runScript, syncText, tempDirs } from './helpers.ts';

const tmp = tempDirs();
const FIXTURE = join(ROOT, 'test/fixtures/bench-results/complete');
const SETUP = { steps: 20, valgrind: 'valgrind-3.19.0', options: ['--tool=callgrind'], nodeFlags: ['--predictable'] };

const part = (cycles: number) => ({
  instructions: cycles / 2,
  dataReads: 1,
  dataWrites: 1,
  l1Misses: 0,
  llMisses: 0,
  estimatedCycles: cycles,
});
/** tape's count record: `training` cycles over the marked steps (null: no marks found), 3× that in all. */
function tapeCount(training: number | null, whole = 3 * (training ?? 1e9)) {
  return {
    kind: 'counts',
    engine: 'tape',
    trial: 1,
    warmup: false,
    wallMs: 1,
    counts: { whole: part(whole), training: training === null ? null : part(training), processes: 1 },
    status: 'ok',
    result: { steps: 20, finalLoss: 2 },
  };
}
const failedCount = { kind: 'counts', engine: 'tape', trial: 1, warmup: false, wallMs: 1, status: 'failed' };

/** The fixture as a folder of its own, with these count records and count setup. */
function folder(name: string, counts: object[], setup: object | null = SETUP): string {
  const dir = join(tmp('like'), name);
  mkdirSync(dir);
  const { runs, env } = rawResults(FIXTURE);
  env.bench.counts = setup;
  writeFileSync(join(dir, 'env.json'), JSON.stringify(env));
  writeFileSync(join(dir, 'runs.jsonl'), [...runs, ...counts].map((r) => JSON.stringify(r) + '\n').join(''));
  return dir;
}
const read = (dir: string) => readResultsFolder(dir);
const compare = (a: string, b: string) => compareFolders(read(a), read(b), { threshold: 0.02, confidence: 0.95 });
const tapeOf = (a: string, b: string) => compare(a, b).engines.find((e) => e.engine === 'tape')!;

describe('counts are compared only like with like', () => {
  const trained = folder('trained', [tapeCount(1e9)]);
  // The instance: an engine that calls os.getPriority() itself leaves its marks unfound: whole process only.
  const unmarked = folder('unmarked', [tapeCount(null, 1.2e9)]);

  it('the instance: training-only against whole-process gives no count verdict either way, and fails the check', () => {
    for (const [a, b, side] of [
      [trained, unmarked, 'NEW'],
      [unmarked, trained, 'BASE'],
    ]) {
      const tape = tapeOf(a, b);
      expect(tape.counts).toBeNull();
      expect(tape.countsNote).toMatch(new RegExp(`no training marks found in ${side}`));
      expect(tape.regression).toBe(true);
      const md = syncText(compareMarkdown.serialize(compare(a, b)));
      expect(md).toMatch(/\| \*\*none: no training marks found in (BASE|NEW)/);
      expect(md).not.toMatch(/faster|slower \+/);
    }
  });

  it('counts asked for on both sides, failed (a broken valgrind) or missing on one: no verdict, a regression', () => {
    const failed = folder('failed', [{ ...failedCount, reason: 'valgrind: exited with code 1' }]);
    const missing = folder('missing', []);
    for (const other of [failed, missing]) {
      const tape = tapeOf(trained, other);
      expect(tape.counts).toBeNull();
      expect(tape.countsUnverified).toBe(true);
      expect(tape.regression).toBe(true);
    }
    expect(tapeOf(trained, failed).countsNote).toBe('count failed in NEW (valgrind: exited with code 1)');
    expect(tapeOf(missing, trained).countsNote).toBe('no count run in BASE');
    // Failed on both sides: nothing to compare, nothing unlike: time decides, no regression from counts.
    const tape = tapeOf(failed, failed);
    expect([tape.counts, tape.countsUnverified, tape.regression]).toEqual([null, false, false]);
  });

  it('like with like still decides: 5% more cycles is slower, 1% no change', () => {
    expect(tapeOf(trained, folder('up', [tapeCount(1.05e9)])).counts?.verdict).toBe('slower');
    const flat = tapeOf(trained, folder('flat', [tapeCount(1.01e9)]));
    expect([flat.counts?.verdict, flat.regression]).toEqual(['no change', false]);
  });

  it('another count job, valgrind, or none on one side: no count verdict, said in the row', () => {
    const other = folder('other-valgrind', [tapeCount(1e9)], { ...SETUP, valgrind: 'valgrind-3.22.0' });
    expect(tapeOf(trained, other).countsNote).toBe('counted differently (valgrind valgrind-3.19.0 vs valgrind-3.22.0)');
    const uncounted = folder('uncounted', [], null);
    expect(tapeOf(uncounted, trained).countsNote).toBe('counted in NEW only');
  });

  it('the identity is compared field by field, so a field added to the count setup (a count window) takes part', () => {
    const a = { ...SETUP, measure: 'training' };
    expect(identityDifference(a, { ...a })).toBeNull();
    expect(identityDifference({ ...a, countSkip: 0 }, { ...a, countSkip: 5 })).toBe('countSkip 0 vs 5');
    expect(identityDifference(a, { ...a, countSkip: 5 })).toBe('countSkip undefined vs 5');
    expect(identityDifference(a, { ...a, measure: 'whole process' })).toBe('measure training vs whole process');
    expect(identityDifference(SETUP, null)).toBe('counts made vs none');
  });

  it('compare --fail-on-regression exits 1 for the instance (time alone would pass it)', () => {
    const r = runScript('compare.ts', [trained, unmarked, '--fail-on-regression']);
    expect(r.stdout).toMatch(/none: no training marks found in NEW/);
    expect(r.status, r.stderr).toBe(1);
  });
});

describe('saved folders are validated when read', () => {
  const withCount = (name: string, edit: (run: ReturnType<typeof tapeCount>) => void, setup: object = SETUP) => {
    const run = tapeCount(1e9);
    edit(run);
    return folder(name, [run], setup);
  };
  it.each([
    ['a negative count', withCount('negative', (r) => (r.counts.whole.dataReads = -5)), /counts\.whole\.dataReads/],
    ['a zero count', withCount('zero', (r) => (r.counts.whole.instructions = 0)), /counts\.whole\.instructions/],
    ['zero steps in the count job', withCount('zero-steps', () => {}, { ...SETUP, steps: 0 }), /bench\.counts\.steps/],
    ['a count run of zero steps', withCount('zero-run', (r) => (r.result.steps = 0)), /result\.steps/],
    ['two count records for one engine', folder('twice', [tapeCount(1e9), tapeCount(2e9)]), /two counts records/],
  ])('%s: an InputError naming it', (_what, dir, message) => {
    expect(() => read(dir)).toThrow(InputError);
    expect(() => read(dir)).toThrow(message);
  });

  it('a count of 1e400 (Infinity once parsed): report exits 2 with one line', () => {
    const dir = folder('infinite', []);
    const line = JSON.stringify(tapeCount(1e9)).replace('"estimatedCycles":1000000000', '"estimatedCycles":1e400');
    writeFileSync(join(dir, 'runs.jsonl'), rawText(dir) + line + '\n');
    expectInputError('report.ts', [dir, '--output', join(tmp('inf-out'), 'r.md')], /runs\.jsonl:\d+: not a run record/);
  });
});

function rawText(dir: string): string {
  return rawResults(dir)
    .runs.map((r) => JSON.stringify(r) + '\n')
    .join('');
}

describe("a program's impossible step count, and a program that stopped early", () => {
  /** An external program's count record, having printed `printed` as its step count. */
  const programCount = (printed: number) => ({
    kind: 'external-counts',
    engine: 'own-tensor',
    trial: 1,
    warmup: false,
    wallMs: 1,
    counts: { whole: part(4e8), training: null, processes: 1 },
    status: 'ok',
    result: {
      command: ['x'],
      losses: [{ step: 1, loss: '3.3' }],
      printedSteps: printed,
      samples: [],
      trainingMs: null,
    },
  });

  it('printed 0 steps (the instance) or 1e30: no Infinity or NaN in the counts CSV, the table or compare', () => {
    const good = folder('printed-ok', [programCount(20)]);
    for (const printed of [0, 1e30]) {
      const bad = folder(`printed-${printed}`, [programCount(printed)]);
      const f: ResultsFolder = read(bad);
      const row = countsRows(f)[0];
      expect(row.perStep).toBeNull();
      expect(row.fault).toMatch(/impossible step count/);
      const texts = [
        countsCsv.serialize([f]),
        syncText(compareMarkdown.serialize(compare(good, bad))),
        syncText(compareJson.serialize(compare(bad, good))),
      ].join('\n');
      expect(texts).not.toMatch(/Infinity|NaN/);
      expect(compare(good, bad).engines.find((e) => e.engine === 'own-tensor')!.countsUnverified).toBe(true);
    }
  });

  const reference = {
    against: 'topo',
    losses: [3.3, 3.2, 3.1, 3.0],
    samples: [],
    decimals: Infinity,
    float32Spread: null,
    vocabSize: null,
  };
  const job = { config: { ...DEFAULT_CONFIG, steps: 4 }, fixedJob: false };
  const run = (steps: number[], printedSteps: number | null) => ({
    command: ['x'],
    losses: steps.map((s) => ({ step: s, loss: String(reference.losses[s - 1]) })),
    printedSteps,
    samples: [],
    trainingMs: null,
  });

  it('the instance: printed 2 of the job’s 4 steps (as "step k / 4") and exited 0: incomplete', () => {
    const v = externalVerdict(run([1, 2], 4), job, reference);
    expect(v.reproduces).toBe(false);
    expect(v.text).toBe('incomplete (its last loss line is step 2 of 4)');
  });

  it('stopped at 3 of 4 with no total printed: incomplete; all 4, or every other step ending at 4: reproduces', () => {
    expect(externalVerdict(run([1, 2, 3], null), job, reference).text).toMatch(/^incomplete .* step 3 of 4/);
    expect(externalVerdict(run([1, 2, 3, 4], 4), job, reference).reproduces).toBe(true);
    expect(externalVerdict(run([2, 4], null), job, reference).reproduces).toBe(true);
  });
});

describe('bench:sweep shards counted differently do not merge', () => {
  /** A one-point sweep shard `index`/2 whose point folder counted with `setup`. */
  function shard(index: number, setup: object | null): SweepFolder {
    const point = read(folder(`shard-${index}-${Math.random().toString(36).slice(2)}`, [], setup));
    const file = {
      axes: [{ key: 'steps', values: ['5'] }],
      points: [{ index: 1, values: { steps: '5' }, dir: 'points/1', params: 1, flopsPerStep: 1, skipped: {} }],
      engines: ['tape'],
      trials: 1,
      check: false,
      budgetSeconds: null,
      shard: { index, count: 2 },
      args: [],
    };
    return { dir: `shard${index}`, file, points: [point] };
  }

  it('another --count-steps, another valgrind, or one without --counts: an InputError naming the difference', () => {
    expect(() => mergeSweeps([shard(1, SETUP), shard(2, { ...SETUP, steps: 30 })])).toThrow(
      /shard2: point 1 was counted differently from shard1 \(steps 20 vs 30\)/,
    );
    expect(() => mergeSweeps([shard(1, SETUP), shard(2, { ...SETUP, valgrind: 'valgrind-3.22.0' })])).toThrow(
      InputError,
    );
    expect(() => mergeSweeps([shard(1, SETUP), shard(2, null)])).toThrow(/counts made vs none/);
    expect(mergeSweeps([shard(1, SETUP), shard(2, SETUP)]).folders).toHaveLength(1);
  });
});
