import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { createBuiltIn, ENGINES } from '../engines/registry.ts';
import { MICRO_OPERATIONS, microTask, runMicro } from '../scenarios/micro.ts';
import { DEFAULT_CONFIG } from '../workload/config.ts';
import { loadDataset } from '../workload/dataset.ts';
import { expectInputError, ROOT, runScript, tempDirs } from './helpers.ts';

const tmp = tempDirs();

describe('npm run bench:micro', () => {
  // A process per engine × operation costs more than its measuring: every pair is measured here in
  // this process, and the command, a process per pair, on two engines' pairs.
  // The opt-in engines (TensorFlow.js) start asynchronously and take seconds: test/tfjs.test.ts runs them.
  it('measures every registered engine but the opt-in ones on every operation', () => {
    const dataset = loadDataset(undefined);
    for (const info of ENGINES.filter((e) => e.optIn !== true)) {
      const rows = MICRO_OPERATIONS.map((op) =>
        runMicro(info.name, op, microTask(op, createBuiltIn(info.name), DEFAULT_CONFIG, dataset), 10),
      );
      for (const row of rows) {
        expect(row, `${info.name} ${row.operation}`).toMatchObject({ engine: info.name, status: 'ok' });
        expect(row.meanNs).toBeGreaterThan(0);
        expect(row.medianNs).toBeGreaterThan(0);
        expect(row.rmePercent).toBeGreaterThanOrEqual(0);
        expect(row.samples).toBeGreaterThanOrEqual(5);
      }
      // Whatever the engine, a whole training step builds every other operation several times over.
      const median = (op: string) => rows.find((row) => row.operation === op)!.medianNs;
      expect(median('training step'), info.name).toBeGreaterThan(median('linear 16→16'));
    }
  });

  it('--engines: those engines on every operation, a process each, into a CSV and a Markdown table', () => {
    const results = tmp('micro-results');
    const reports = tmp('micro-reports');
    // Two quick engines, in the reverse of the registry's order.
    const engines = ['tensor', 'tape'];
    const r = runScript('bench-micro.ts', [
      ...['--engines', engines.join(','), '--time', '10', '--results-dir', results, '--reports-dir', reports],
    ]);
    expect(r.status, r.stderr).toBe(0);
    const [mdPath, csvPath] = r.stdout.trimEnd().split('\n').slice(-2);
    expect(dirname(mdPath)).toBe(reports);
    expect(dirname(csvPath)).toBe(results);
    expect(existsSync(mdPath) && existsSync(csvPath)).toBe(true);

    const rows: Record<string, string>[] = parse(readFileSync(csvPath, 'utf8'), { columns: true });
    // In the given order within each operation.
    const expected = MICRO_OPERATIONS.flatMap((op) => engines.map((engine) => `${engine} | ${op}`));
    expect(rows.map((row) => `${row.engine} | ${row.operation}`)).toEqual(expected);
    for (const row of rows) {
      expect(Object.keys(row)).toEqual([
        'engine',
        'operation',
        'mean_ns',
        'median_ns',
        'rme_percent',
        'samples',
        'status',
        'reason',
      ]);
      expect([row.status, row.reason]).toEqual(['ok', '']);
      expect(Number(row.median_ns)).toBeGreaterThan(0);
      expect(Number(row.samples)).toBeGreaterThanOrEqual(5);
    }
    const md = readFileSync(mdPath, 'utf8');
    for (const key of expected) expect(md).toContain(`| ${key.split(' | ').reverse().join(' | ')} |`);
    expect(r.stdout).toContain(md.trimEnd());
  });

  it('--operations: only those, in the given order', () => {
    const dir = tmp('micro-some');
    const operations = ['softmax 27', 'linear 16→16'];
    const r = runScript('bench-micro.ts', [
      ...['--engines', 'tensor', '--operations', operations.join(','), '--time', '5'],
      ...['--results-dir', dir, '--reports-dir', dir],
    ]);
    expect(r.status, r.stderr).toBe(0);
    const rows: Record<string, string>[] = parse(readFileSync(r.stdout.trimEnd().split('\n').at(-1)!, 'utf8'), {
      columns: true,
    });
    expect(rows.map((row) => `${row.operation} | ${row.engine}`)).toEqual(operations.map((op) => `${op} | tensor`));
  });

  it("a TypeScript plugin's engine is measured too (its process under tsx, the only loader of TypeScript here)", () => {
    const dir = tmp('micro-ts-plugin');
    const r = runScript(
      'bench-micro.ts',
      [
        ...['--engines', 'leaves-timer,tensor', '--operations', 'softmax 27', '--time', '5'],
        ...['--results-dir', dir, '--reports-dir', dir],
      ],
      { env: { MICROGPT_BENCH_ENGINES: join(ROOT, 'test/fixtures/faulty-engines.ts') } },
    );
    expect(r.status, r.stderr).toBe(0);
    const rows: Record<string, string>[] = parse(readFileSync(r.stdout.trimEnd().split('\n').at(-1)!, 'utf8'), {
      columns: true,
    });
    expect(rows.map((row) => `${row.engine} ${row.status}`)).toEqual(['leaves-timer ok', 'tensor ok']);
  });

  describe('bad input: one line, exit 2, nothing measured or written', () => {
    const dir = tmp('micro-bad');
    const args = ['--results-dir', dir, '--reports-dir', dir];
    it('an unknown engine', () =>
      expectInputError(
        'bench-micro.ts',
        ['--engines', 'topo,nope', ...args],
        /--engines: unknown 'nope'. Valid: topo/,
      ));
    it('a bad --time', () =>
      expectInputError('bench-micro.ts', ['--time', '0', ...args], /--time expects a whole number ≥ 1, got '0'/));
    it('an unknown operation', () =>
      expectInputError(
        'bench-micro.ts',
        ['--operations', 'softmax 27,conv', ...args],
        /--operations: unknown 'conv'. Valid: linear 16→16, softmax 27/,
      ));
    it('a bad --timeout', () =>
      expectInputError(
        'bench-micro.ts',
        ['--timeout', '0', ...args],
        /--timeout expects a number of seconds > 0 \(at most \d+\), got '0'/,
      ));
    it('a --results-dir that is a file, before measuring anything', () => {
      const file = join(tmp('micro-file'), 'a-file');
      writeFileSync(file, 'keep me\n');
      expectInputError(
        'bench-micro.ts',
        ['--results-dir', file, '--reports-dir', dir],
        /^error: --results-dir .*a-file: is a file, expected a folder$/,
      );
      expect(readFileSync(file, 'utf8')).toBe('keep me\n');
    });
    it('wrote nothing', () => expect(readdirSync(dir)).toEqual([]));
  });
});
