import { cpSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { beforeAll, describe, expect, it } from 'vitest';
import { Budget } from '../scenarios/sweep/budget.ts';
import { powerLawFit } from '../scenarios/sweep/fit.ts';
import { CHROMIUM, inChromium } from './browser.ts';
import { expectInputError, rawResults, runScript, shortDataset, tempDirs } from './helpers.ts';
import { valgrindVersion } from '../scenarios/bench/counts/callgrind.ts';

const tmp = tempDirs();
/** The main sweep runs without counts; a second, small one counts (with valgrind). */
const VALGRIND = valgrindVersion() !== null;
if (!VALGRIND) console.warn('[skip] valgrind is not installed: skipping bench:sweep --counts');

/** The sweep the tests share: its folder is also the whole sweep that the shards' merge must equal. */
const SWEEP = ['--vary', 'n-embd=8,16', '--engines', 'tape,tensor', '--steps', '3', '--trials', '1', '--check'];

describe('npm run bench:sweep', () => {
  const dir = tmp('sweep');
  const out = join(dir, 'out');
  const report = join(dir, 'sweep.md');
  let r: ReturnType<typeof runScript>;
  beforeAll(() => {
    r = runScript('bench-sweep.ts', [...SWEEP, '--out', out, '--report', report]);
  });

  it('n-embd 8,16 × tape,tensor at 3 steps: 4 rows in points.csv with every column, a results folder per point', () => {
    expect(r.status, r.stderr).toBe(0);
    const rows: Record<string, string>[] = parse(readFileSync(join(out, 'points.csv'), 'utf8'), { columns: true });
    expect(rows.map((row) => `${row['n-embd']} ${row.engine}`)).toEqual(['8 tape', '8 tensor', '16 tape', '16 tensor']);
    for (const row of rows) {
      for (const [column, value] of Object.entries(row)) {
        const counted = column === 'instructions_per_step' || column === 'est_cycles_per_step';
        if (counted) expect(value, `${row.engine} ${column}`).toBe('');
        else expect(value, `${row.engine} ${column}`).not.toBe('');
      }
      expect(row).toMatchObject({ status: 'ok', verdict: 'pass' });
      expect(Number(row.ms_per_step)).toBeCloseTo(Number(row.median_ms) / 3, 9);
    }
    // The layout's size: wte, wpe and lm_head (vocab 28, 16 positions) plus one layer's 12·n_embd².
    expect(rows.map((row) => Number(row.params))).toEqual([1344, 1344, 4224, 4224]);
    // Both engines train the same job: the same final loss at each point, up to the order of additions.
    expect(Number(rows[0].final_loss)).toBeCloseTo(Number(rows[1].final_loss), 12);
    expect(Number(rows[2].final_loss)).toBeCloseTo(Number(rows[3].final_loss), 12);

    for (const [i, width] of [8, 16].entries()) {
      const folder = rawResults(join(out, 'points', String(i + 1).padStart(3, '0')));
      expect(folder.env.config).toMatchObject({ nEmbd: width, steps: 3 });
      expect(folder.runs.map((run) => `${run.kind} ${run.engine}`).sort()).toEqual([
        'gradcheck tape',
        'gradcheck tensor',
        'train tape',
        'train tensor',
      ]);
      expect(folder.env.bench.counts).toBeNull();
      // The analytic flops leave out softmax, norms and the like: a little under what tensor counts.
      const counted = folder.runs.find((run) => run.kind === 'train' && run.engine === 'tensor').result.flopsPerStep;
      const ratio = Number(rows[2 * i + 1].flops_per_step) / counted;
      console.log(`n-embd ${width}: analytic flops / tensor's counted flops = ${ratio.toFixed(3)}`);
      expect(ratio).toBeGreaterThan(0.85);
      expect(ratio).toBeLessThanOrEqual(1);
    }
    const md = readFileSync(report, 'utf8');
    expect(md).toContain('## Training time by n-embd');
    expect(md).toMatch(/\| tensor \| [\d.]+ ms \| [\d.]+ ms \|/);
    // Without counts the exponents are fitted on time, and say so.
    expect(md).toMatch(/\| tape \| ms\/step \| -?\d\.\d\d \(R² \d\.\d{3}, 2 points\) \|/);
    expect(r.stdout).toMatch(/^ {2}tensor: time per step grows as parameters\^-?\d\.\d\d/m);
  });

  it.skipIf(!CHROMIUM)(
    'its page opens from file:// with no console error and no request, a mark per point',
    async () => {
      const page = join(dir, 'sweep.html');
      expect(r.stdout).toContain(`Page:    ${page}`);
      await inChromium(page, async (tab, { errors, requests, url }) => {
        expect(errors).toEqual([]);
        expect(requests).toEqual([url]);
        const count = (selector: string) => tab.locator(`#scaling-chart ${selector}`).count();
        // A line per engine through a point per n-embd.
        expect(await count('g.mark-line.role-mark path')).toBe(2);
        expect(await count('g.mark-symbol.role-mark path')).toBe(4);
        expect((await tab.locator('#scaling-chart svg').boundingBox())!.width).toBeGreaterThan(300);
        expect(await tab.locator('table').count()).toBe(2);
      });
    },
  );

  it('--budget: an engine over it at a point sits out the larger points, recorded as skipped', () => {
    const out = join(tmp('sweep-budget'), 'out');
    // Listed out of order: the sweep takes each axis in increasing order. Every run takes over 1 µs.
    const args = ['--vary', 'n-embd=16,8,12', '--engines', 'tensor', '--steps', '2', '--trials', '1'];
    const r = runScript('bench-sweep.ts', [
      ...args,
      '--budget',
      '0.000001',
      '--out',
      out,
      '--report',
      join(out, 'r.md'),
      '--no-page',
    ]);
    expect(r.status, r.stderr).toBe(0);
    const rows: Record<string, string>[] = parse(readFileSync(join(out, 'points.csv'), 'utf8'), { columns: true });
    expect(rows.map((row) => [row['n-embd'], row.status, row.median_ms])).toEqual([
      ['8', 'ok', expect.stringMatching(/^\d/)],
      ['12', 'skipped: over budget at n-embd=8', ''],
      ['16', 'skipped: over budget at n-embd=8', ''],
    ]);
    expect(readFileSync(join(out, 'points', '002', 'runs.jsonl'), 'utf8')).toBe('');
    const grid = JSON.parse(readFileSync(join(out, 'sweep.json'), 'utf8'));
    expect(grid.points.map((p: { skipped: object }) => p.skipped)).toEqual([
      {},
      { tensor: 'skipped: over budget at n-embd=8' },
      { tensor: 'skipped: over budget at n-embd=8' },
    ]);
    expect(r.stderr).toContain('point 2/3: n-embd=12 (tensor over budget)');
  });

  describe('--shard i/n and report', () => {
    const dir = tmp('sweep-shards');
    const sweep = (name: string, extra: string[]) => {
      const r = runScript('bench-sweep.ts', [
        ...SWEEP,
        ...extra,
        '--out',
        join(dir, name),
        '--report',
        join(dir, `${name}.md`),
      ]);
      expect(r.status, r.stderr).toBe(0);
      return join(dir, name);
    };
    // The whole sweep is the one above.
    const whole = out;
    let shards: string[] = [];
    beforeAll(() => {
      shards = [sweep('shard1', ['--shard', '1/2']), sweep('shard2', ['--shard', '2/2'])];
    });
    const csvRows = (path: string): Record<string, string>[] => parse(readFileSync(path, 'utf8'), { columns: true });
    /** What does not depend on timing: the same job gives the same figures in any process. */
    const fixedColumns = (row: Record<string, string>) => {
      const { median_ms: _m, ms_per_step: _s, peak_rss_bytes: _r, peak_heap_bytes: _h, ...rest } = row;
      return rest;
    };
    const runCount = (folder: string, point: string) =>
      readFileSync(join(folder, 'points', point, 'runs.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .filter(Boolean).length;

    it("shards 1/2 and 2/2 run half the runs each and merge into the unsharded sweep's points", () => {
      for (const point of ['001', '002']) {
        // 2 engines × (a trial + a gradient check) per point, split 2 and 2.
        expect(shards.map((s) => runCount(s, point))).toEqual([2, 2]);
        expect(runCount(whole, point)).toBe(4);
      }
      const r = runScript('report.ts', [...shards, '--output', join(dir, 'merged')]);
      expect(r.status, r.stderr).toBe(0);
      const base = join(dir, 'merged');
      expect(r.stdout).toBe(`${base}.md\n${base}.points.csv\n${base}.html\n`);
      // The page's log-log chart: one line per engine, drawn as SVG in the page itself.
      const page = readFileSync(`${base}.html`, 'utf8');
      expect(page).toMatch(/<figure id="scaling-chart"><svg /);
      expect(page.match(/class="mark-line role-mark/g)).toHaveLength(2);
      expect(page).not.toMatch(/<script|https?:\/\/(?!www\.w3\.org)/);
      const merged = csvRows(join(dir, 'merged.points.csv'));
      expect(merged.map(fixedColumns)).toEqual(csvRows(join(whole, 'points.csv')).map(fixedColumns));
      expect(merged.every((row) => row.status === 'ok' && row.median_ms !== '')).toBe(true);
    });

    it('refuses a missing shard, a shard given twice, another sweep and a bench:all folder, in one line', () => {
      expectInputError('report.ts', [shards[0]], /^error: shard 2\/2 is missing$/);
      const again = join(dir, 'shard1-again');
      cpSync(shards[0], again, { recursive: true });
      expectInputError('report.ts', [shards[0], again], /^error: shard 1\/2 is given twice \(/);
      expectInputError('report.ts', [whole, shards[0]], /a whole sweep, not a shard: give it alone$/);
      const other = join(dir, 'other');
      const args = ['--vary', 'n-embd=8,12', '--engines', 'tensor', '--steps', '2', '--trials', '1', '--shard', '2/2'];
      expect(runScript('bench-sweep.ts', [...args, '--out', other]).status).toBe(0);
      expectInputError('report.ts', [shards[0], other], /other: not the same sweep as .*shard1 \(grid, engines/);
      expectInputError('report.ts', [shards[0], join(shards[0], 'points', '001')], /001: not a bench:sweep folder/);
    });
  });

  const bad: [string, string[], RegExp][] = [
    [
      'an unknown key',
      ['--vary', 'n-embed=8,16'],
      /^error: --vary n-embed=8,16: unknown key 'n-embed'; one of: steps, /,
    ],
    [
      'a bad value',
      ['--vary', 'n-embd=8,x'],
      /^error: --vary: at n-embd=x: --n-embd expects a whole number ≥ 1, got 'x'$/,
    ],
    [
      'an n-head that does not divide n-embd at some point',
      ['--vary', 'n-embd=8,12', '--n-head', '8'],
      /^error: --vary: at n-embd=12: --n-head 8 must divide --n-embd 12$/,
    ],
    ['no =', ['--vary', 'n-embd'], /^error: --vary n-embd: expected KEY=V1,V2,…/],
    ['an empty value', ['--vary', 'n-embd=8,,16'], /^error: --vary n-embd=8,,16: expected a comma-separated list/],
    ['a key varied twice', ['--vary', 'seed=1,2', '--vary', 'seed=3'], /^error: --vary seed is given twice$/],
    ['a key fixed and varied', ['--vary', 'seed=1,2', '--seed', '3'], /^error: --seed is fixed and varied at once/],
    ['no --vary', [], /^error: --vary KEY=V1,V2,… is required/],
    ['a budget of 0', ['--vary', 'seed=1,2', '--budget', '0'], /^error: --budget expects seconds > 0, got '0'$/],
    ['--shard 3/2', ['--vary', 'seed=1,2', '--shard', '3/2'], /^error: --shard 3\/2: expected i\/n with 1 ≤ i ≤ n/],
    [
      '--shard with --budget',
      ['--vary', 'seed=1,2', '--shard', '1/2', '--budget', '5'],
      /^error: --budget and --shard/,
    ],
  ];
  it.each(bad)('rejects %s in one line, exit 2, before any run or folder', (_, args, message) => {
    const out = join(tmp('sweep-bad'), 'out');
    expectInputError('bench-sweep.ts', [...args, '--out', out, '--engines', 'tensor', '--steps', '2'], message);
    expect(existsSync(out)).toBe(false);
  });
});

describe('the budget', () => {
  const axes = [
    { key: 'n-embd', values: ['8', '16', '32'] },
    { key: 'lr', values: ['0.01', '0.02'] },
  ];
  it('skips the points at least as large along the size axes, the other axes equal, for that engine only', () => {
    const budget = new Budget(axes, 1000);
    budget.record('topo', { 'n-embd': '16', lr: '0.01' }, 1500);
    budget.record('tape', { 'n-embd': '16', lr: '0.01' }, 900);
    budget.record('fused', { 'n-embd': '16', lr: '0.01' }, null);
    const at = (e: string, lr: string) => budget.skipReason('topo', { 'n-embd': e, lr });
    expect([at('8', '0.01'), at('16', '0.01'), at('32', '0.02')]).toEqual([null, null, null]);
    expect(at('32', '0.01')).toBe('skipped: over budget at n-embd=16, lr=0.01');
    expect(budget.skipReason('tape', { 'n-embd': '32', lr: '0.01' })).toBeNull();
    expect(budget.skipReason('fused', { 'n-embd': '32', lr: '0.01' })).toBeNull();
  });
});

describe('the power-law fit', () => {
  it('finds the exponent 1.5 ± 0.02 in time = c · params^1.5 with ±5% noise, R² near 1', () => {
    // Deterministic noise: a fixed sequence of factors in [0.95, 1.05].
    const noise = [1.03, 0.96, 1.05, 0.98, 1.01, 0.95, 1.04, 0.99, 1.02, 0.97];
    const points = noise.map((n, i) => {
      const params = 1000 * 2 ** i;
      return { x: params, y: 3e-4 * params ** 1.5 * n };
    });
    const fit = powerLawFit(points)!;
    console.log(`fitted exponent ${fit.exponent.toFixed(4)}, R² ${fit.r2.toFixed(5)}`);
    expect(Math.abs(fit.exponent - 1.5)).toBeLessThan(0.02);
    expect(fit.r2).toBeGreaterThan(0.99);
    expect(fit.points).toBe(10);
  });

  it('gives the exact slope and R² 1 on exact points, and no fit without two sizes or with a zero', () => {
    const exact = powerLawFit([1, 2, 4, 8].map((x) => ({ x, y: 5 * x ** 2.25 })))!;
    expect(exact.exponent).toBeCloseTo(2.25, 12);
    expect(exact.r2).toBeCloseTo(1, 12);
    expect(
      powerLawFit([
        { x: 4, y: 1 },
        { x: 4, y: 2 },
      ]),
    ).toBeNull();
    expect(
      powerLawFit([
        { x: 1, y: 0 },
        { x: 2, y: 1 },
      ]),
    ).toBeNull();
  });
});

describe.skipIf(!VALGRIND)('npm run bench:sweep --counts', () => {
  const dir = tmp('sweep-counts');
  const out = join(dir, 'out');
  const report = join(dir, 'sweep.md');
  let r: ReturnType<typeof runScript>;
  beforeAll(() => {
    const args = ['--vary', 'n-embd=8,16', '--engines', 'tensor', '--steps', '3', '--trials', '1'];
    // A short dataset: the count runs' start-up is then a fifth shorter (shortDataset).
    args.push('--data', shortDataset(dir));
    // No page: its drawing is tested on the sweep above.
    const outputs = ['--out', out, '--report', report, '--no-page'];
    r = runScript('bench-sweep.ts', [...args, '--counts', '--count-steps', '1', ...outputs]);
  });

  it('counts every point and fits the exponents on estimated cycles, saying so', () => {
    expect(r.status, r.stderr).toBe(0);
    const rows: Record<string, string>[] = parse(readFileSync(join(out, 'points.csv'), 'utf8'), { columns: true });
    expect(rows).toHaveLength(2);
    for (const row of rows) {
      expect(Number(row.instructions_per_step)).toBeGreaterThan(0);
      expect(Number(row.est_cycles_per_step)).toBeGreaterThan(Number(row.instructions_per_step));
    }
    // The wider model costs more per step.
    expect(Number(rows[1].est_cycles_per_step)).toBeGreaterThan(Number(rows[0].est_cycles_per_step));
    const point = rawResults(join(out, 'points', '001'));
    expect(point.env.bench.counts).toMatchObject({ steps: 1 });
    expect(point.runs.map((run) => run.kind).sort()).toEqual(['counts', 'train']);
    expect(readFileSync(report, 'utf8')).toMatch(/\| tensor \| est\. cycles\/step \| -?\d\.\d\d \(R² /);
    expect(r.stdout).toMatch(/^ {2}tensor: estimated cycles per step grows as parameters\^/m);
  });

  it('--no-page: the report and points.csv, and no page beside the report', () => {
    expect(r.stdout).toContain(`Report:  ${report}`);
    expect(r.stdout).not.toContain('Page:');
    expect(existsSync(report.replace(/\.md$/, '.html'))).toBe(false);
  });
});
