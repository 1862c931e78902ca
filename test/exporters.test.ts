/**
 * Each exporter in-process on fixed input against golden text, as hyperfine's src/export/tests.rs:
 * the results formats on the two saved bench:all folders (one, and both merged), bench:micro's on a
 * fixed table.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { describe, expect, it, vi } from 'vitest';
import { readResultsFolder } from '../scenarios/bench/results.ts';
import { SUMMARY_COLUMNS } from '../scenarios/output/export/csv.ts';
import {
  formatNames,
  type Format,
  MICRO_FORMATS,
  plannedFiles,
  RESULTS_FORMATS,
  selectFormats,
  writeFormats,
} from '../scenarios/output/export/formats.ts';
import type { MicroReport } from '../scenarios/output/export/micro.ts';
import { ROOT, syncText, tempDirs } from './helpers.ts';

const FIXTURES = join(ROOT, 'test/fixtures/bench-results');
const complete = readResultsFolder('test/fixtures/bench-results/complete');
const interrupted = readResultsFolder('test/fixtures/bench-results/interrupted');
const INPUTS = { complete: [complete], merged: [complete, interrupted] };
const golden = (name: string, suffix: string) => readFileSync(join(FIXTURES, `${name}.expected.${suffix}`), 'utf8');

describe('results exporters, against golden files', () => {
  it('the registry has md, csv (runs, external-runs, summary, losses and counts), json and html', () =>
    expect(RESULTS_FORMATS.map((f) => `${f.name}: ${f.files.map((file) => file.suffix).join(' ')}`)).toEqual([
      'md: md',
      'csv: runs.csv external-runs.csv summary.csv losses.csv counts.csv',
      'json: json',
      'html: html',
    ]));

  // The page is tested on its own (html-report.test.ts): charts are no text to compare byte for byte.
  for (const format of RESULTS_FORMATS.filter((f) => f.name !== 'html')) {
    for (const file of format.files) {
      for (const [name, folders] of Object.entries(INPUTS)) {
        it(`${format.name} → ${file.suffix}, ${name}`, () =>
          expect(file.exporter.serialize(folders)).toBe(golden(name, file.suffix)));
      }
    }
  }

  it('json holds every run as read, and the summary with summary.csv’s fields and values', () => {
    const json = RESULTS_FORMATS.find((f) => f.name === 'json')!.files[0].exporter;
    const doc = JSON.parse(syncText(json.serialize(INPUTS.merged)));
    expect(doc.folders.map((f: { name: string }) => f.name)).toEqual(['complete', 'interrupted']);
    // Every run, in the job list's order (runs.jsonl's is the order they ended in).
    expect(doc.folders[1].runs).toHaveLength(interrupted.runs.length);
    expect(doc.folders[1].runs).toEqual(expect.arrayContaining(JSON.parse(JSON.stringify(interrupted.runs))));
    const csv = parse(golden('complete', 'summary.csv'), { columns: true }) as Record<string, string>[];
    const summary = doc.folders[0].summary as Record<string, unknown>[];
    expect(Object.keys(summary[0])).toEqual(Object.keys(SUMMARY_COLUMNS));
    summary.forEach((row, i) => {
      for (const [column, value] of Object.entries(row)) expect(String(value ?? ''), column).toBe(csv[i][column]);
    });
  });
});

describe('the format registry', () => {
  const report: MicroReport = {
    rows: [],
    timeMs: 1,
    data: 'd',
    date: 'now',
    node: 'v20',
    cpu: { model: 'x', count: 1 },
  };
  const tempDir = tempDirs();

  it('names its formats, selects them in registry order, and plans one path per file', () => {
    expect(formatNames(RESULTS_FORMATS)).toEqual(['md', 'csv', 'json', 'html']);
    const chosen = selectFormats(RESULTS_FORMATS, ['json', 'csv']);
    expect(chosen.map((f) => f.name)).toEqual(['csv', 'json']);
    expect(plannedFiles(chosen, (suffix) => `out/bench.${suffix}`)).toEqual([
      'out/bench.runs.csv',
      'out/bench.external-runs.csv',
      'out/bench.summary.csv',
      'out/bench.losses.csv',
      'out/bench.counts.csv',
      'out/bench.json',
    ]);
  });

  it('every registry, loaded afresh: its formats, their files, an exporter for each', async () => {
    // A fresh import evaluates the module inside the test, so a mutation tool can change its tables too.
    vi.resetModules();
    const fresh = await import('../scenarios/output/export/formats.ts');
    const shape = <T>(registry: readonly Format<T>[]) =>
      registry.map((f) => `${f.name}: ${f.files.map((file) => `${file.suffix} ${typeof file.exporter.serialize}`)}`);
    expect(shape(fresh.RESULTS_FORMATS)).toEqual([
      'md: md function',
      'csv: runs.csv function,external-runs.csv function,summary.csv function,losses.csv function,counts.csv function',
      'json: json function',
      'html: html function',
    ]);
    expect(shape(fresh.MICRO_FORMATS)).toEqual(['md: md function', 'csv: csv function']);
    expect(shape(fresh.COMPARE_FORMATS)).toEqual(['md: md function', 'json: json function', 'html: html function']);
  });

  it('writeFormats writes every file of the chosen formats and returns their paths', async () => {
    const dir = tempDir('formats');
    const paths = await writeFormats(MICRO_FORMATS, report, (suffix) => join(dir, `micro.${suffix}`));
    expect(paths).toEqual([join(dir, 'micro.md'), join(dir, 'micro.csv')]);
    expect(readFileSync(paths[1], 'utf8')).toBe(
      'engine,operation,mean_ns,median_ns,rme_percent,samples,status,reason\n',
    );
    expect(readdirSync(dir).sort()).toEqual(['micro.csv', 'micro.md']);
  });

  it('writeFormats writes nothing when one exporter throws', async () => {
    const dir = tempDir('formats');
    const broken = [
      ...MICRO_FORMATS,
      {
        name: 'bad',
        files: [
          {
            suffix: 'bad',
            exporter: {
              serialize: () => {
                throw new Error('no');
              },
            },
          },
        ],
      },
    ];
    await expect(writeFormats(broken, report, (suffix) => join(dir, `micro.${suffix}`))).rejects.toThrow('no');
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe('bench:micro exporters', () => {
  const report: MicroReport = {
    rows: [
      {
        engine: 'topo',
        operation: 'linear 16→16',
        status: 'ok',
        meanNs: 51234.56,
        medianNs: 50001.2,
        rmePercent: 1.234,
        samples: 812,
      },
      {
        engine: 'tape',
        operation: 'linear 16→16',
        status: 'ok',
        meanNs: 2345.5,
        medianNs: 2299.49,
        rmePercent: 0.5,
        samples: 9001,
      },
      { engine: 'hangs-at-3', operation: 'linear 16→16', status: 'failed', reason: 'timed out after 120 s' },
    ],
    timeMs: 500,
    data: 'embedded English first names',
    date: '2026-01-02T03:04:05.000Z',
    node: 'v20.20.2',
    cpu: { model: 'Test CPU', count: 2 },
  };
  // Serialized inside each test, so a mutation tool sees which test ran which code.
  const serialize = (format: string) =>
    MICRO_FORMATS.find((f) => f.name === format)!.files[0].exporter.serialize(report);

  it('md', () =>
    expect(serialize('md')).toBe(
      [
        '# Micro-benchmarks: build + backward of one operation',
        '',
        '2026-01-02T03:04:05.000Z · Node v20.20.2 · 2 × Test CPU · tinybench, 500 ms per operation · ' +
          'training-step documents: embedded English first names',
        '',
        '| operation | engine | mean ns/op | median ns/op | ± | samples | status |',
        '|---|---|---:|---:|---:|---:|---|',
        '| linear 16→16 | topo | 51,235 | 50,001 | ±1.23% | 812 | ok |',
        '| linear 16→16 | tape | 2,346 | 2,299 | ±0.50% | 9001 | ok |',
        '| linear 16→16 | hangs-at-3 | — | — | — | — | failed: timed out after 120 s |',
        '',
        "± is tinybench's relative margin of error of the mean (95% confidence, within this run only).",
        'Each operation is reduced to a scalar with `sum` before `backward`; the time includes `reset`.',
        '',
      ].join('\n'),
    ));

  it('csv, at full precision; a failed row has its status and reason, and no figures', () =>
    expect(serialize('csv')).toBe(
      'engine,operation,mean_ns,median_ns,rme_percent,samples,status,reason\n' +
        'topo,linear 16→16,51234.56,50001.2,1.234,812,ok,\n' +
        'tape,linear 16→16,2345.5,2299.49,0.5,9001,ok,\n' +
        'hangs-at-3,linear 16→16,,,,,failed,timed out after 120 s\n',
    ));
});
