/**
 * "Results are never lost, mixed or mislabelled; every bad input and fault gets one line": names and
 * reasons that a spreadsheet would run as formulas or that would break a Markdown row, and
 * bench:micro's faults (an engine that throws, one that hangs), each costing one row.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import type { RunRecord } from '../scenarios/bench/job-kind.ts';
import { readResultsFolder, type ResultsFolder } from '../scenarios/bench/results.ts';
import { kindCsv, summaryCsv } from '../scenarios/output/export/csv.ts';
import { markdownReport } from '../scenarios/output/export/markdown.ts';
import { microCsv } from '../scenarios/output/export/micro.ts';
import { trainKind } from '../scenarios/bench/kinds/index.ts';
import { compiledFixture } from './compiled-scripts.ts';
import { ROOT, runScript, tempDirs } from './helpers.ts';

const tmp = tempDirs();
const complete = readResultsFolder(join(ROOT, 'test/fixtures/bench-results/complete'));

/** The complete fixture with its engines renamed, machine and topo's study replaced, and `edit` applied to each run. */
function doctored(
  names: Record<string, string>,
  more: { machine?: string; study?: string; edit?: (run: RunRecord) => void } = {},
): ResultsFolder {
  const folder = structuredClone(complete) as { -readonly [K in keyof ResultsFolder]: ResultsFolder[K] };
  const rename = (name: string) => names[name] ?? name;
  const env = folder.env;
  if (more.machine !== undefined) env.machine = more.machine;
  env.bench.engines = env.bench.engines.map((e) => ({
    ...e,
    name: rename(e.name),
    study: e.name === 'topo' && more.study !== undefined ? more.study : e.study,
  }));
  folder.runs = folder.runs.map((run) => {
    const copy = { ...run, engine: rename(run.engine) };
    if (copy.status === 'ok' && copy.kind === 'train') (copy.result as { engine: string }).engine = copy.engine;
    more.edit?.(copy);
    return copy;
  });
  return folder;
}

const rowsOf = (csv: string) => parse(csv, { columns: true }) as Record<string, string>[];

describe('A. text that is not what it seems', () => {
  it('CSV injection: text cells starting with = + - @ tab or CR get a leading quote; numbers stay numbers', () => {
    const names = { tape: '=1+1', tensor: '+tensor', stack: '-stack', 'throws-at-3': '@throws', 'nan-at-3': '\tnan' };
    const folder = doctored(names, {
      machine: '\rhost',
      study: '=HYPERLINK("http://example.invalid","x")',
      edit(run) {
        if (run.status === 'failed' && run.kind === 'train') run.reason = '-1 exit';
        if (run.status === 'ok' && run.kind === 'train' && run.engine === 'topo' && !run.warmup && run.trial === 1)
          (run.result as { finalLoss: number }).finalLoss = -2.5;
      },
    });

    const summary = rowsOf(summaryCsv.serialize([folder]));
    expect(summary.map((r) => r.engine)).toEqual([
      'topo',
      ...Object.values(names).map((n) => `'${n}`),
      'own-tensor',
      'own-stack',
    ]);
    expect(summary.every((r) => r.machine === "'\rhost")).toBe(true);
    expect(summary[0].study).toBe(`'=HYPERLINK("http://example.invalid","x")`);
    // Numbers, negative ones included, are written as numbers at full precision.
    expect(summary[0].median_ms).toBe('907.6325020000002');

    const runs = rowsOf(kindCsv(trainKind)!.serialize([folder]));
    for (const r of runs) {
      expect(r.machine).toBe("'\rhost");
      expect(r.engine === 'topo' || r.engine.startsWith("'")).toBe(true);
    }
    expect(runs.find((r) => r.status === 'failed')!.reason).toBe("'-1 exit");
    const negative = runs.find((r) => r.engine === 'topo' && r.warmup === 'false' && r.trial === '1')!;
    expect(negative.final_loss).toBe('-2.5');
    expect(Number(negative.final_loss)).toBe(-2.5);

    // bench:micro's CSV goes through the same guard.
    const micro = rowsOf(
      microCsv.serialize({
        rows: [
          { engine: '=evil', operation: 'softmax 27', status: 'failed', reason: '@reason' },
          { engine: 'topo', operation: 'softmax 27', status: 'ok', meanNs: -1, medianNs: 2, rmePercent: 0, samples: 5 },
        ],
        timeMs: 1,
        data: 'x',
        date: 'd',
        node: 'n',
        cpu: { model: 'm', count: 1 },
      }),
    );
    expect([micro[0].engine, micro[0].reason, micro[1].mean_ns]).toEqual(["'=evil", "'@reason", '-1']);
  });

  it('Markdown: a name or reason with \\r and \\n keeps every table row and heading on one line', () => {
    const evil = 'evil\rname\nhere\r\nend';
    const folder = doctored(
      { tape: evil },
      {
        edit(run) {
          if (run.status === 'failed') run.reason = 'first\rsecond\nthird';
        },
      },
    );
    const md = markdownReport.serialize([folder]);
    // CommonMark ends a line at \n, \r\n or \r: with no \r left, splitting on \n gives its lines.
    expect(md).not.toContain('\r');
    const lines = md.split('\n');
    const mentions = lines.filter((l) => /evil|second/.test(l));
    expect(mentions.length).toBeGreaterThan(0);
    for (const line of mentions) expect(line, line).toMatch(/^\| .* \|$|^### evil name here end: trial \d+$/);
    expect(lines).toContain('### evil name here end: trial 1');
    expect(mentions.some((l) => l.includes('failed: first second third'))).toBe(true);
  });
});

describe('B. bench:micro: a fault costs one row, never the run', () => {
  it('a throwing and a hanging engine next to topo: both files written, a row per fault with its reason', () => {
    const dir = tmp('micro-faults');
    // leaves-timer leaves an interval running: its process must still end once its row is printed.
    const engines = ['throws-at-3', 'hangs-at-3', 'leaves-timer', 'topo'];
    // Two quick operations, so the hanging engine costs two timeouts; a pair that works takes about a second
    // (most of it the process starting), so a 15 s limit leaves it a 15-fold margin on a busy machine.
    const operations = ['linear 16→16', 'softmax 27'];
    const r = runScript(
      'bench-micro.ts',
      [
        ...['--engines', engines.join(','), '--operations', operations.join(','), '--time', '20', '--timeout', '15'],
        ...['--results-dir', dir, '--reports-dir', dir],
      ],
      { env: { MICROGPT_BENCH_ENGINES: compiledFixture('faulty-engines') } },
    );
    // Some rows failed: exit code 1 with one line saying so, after both files were written.
    expect(r.status, r.stderr).toBe(1);
    expect(r.stderr.trimEnd().split('\n').at(-1)).toMatch(/^error: 4 of 8 measurements failed/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    const [mdPath, csvPath] = r.stdout.trimEnd().split('\n').slice(-2);
    expect(dirname(mdPath)).toBe(dir);
    expect(existsSync(mdPath) && existsSync(csvPath)).toBe(true);

    const rows = rowsOf(readFileSync(csvPath, 'utf8'));
    expect(rows.map((row) => `${row.operation} | ${row.engine}`)).toEqual(
      operations.flatMap((op) => engines.map((e) => `${op} | ${e}`)),
    );
    const md = readFileSync(mdPath, 'utf8');
    for (const row of rows) {
      if (row.engine === 'topo' || row.engine === 'leaves-timer') {
        expect([row.status, row.reason]).toEqual(['ok', '']);
        expect(Number(row.median_ns)).toBeGreaterThan(0);
        expect(Number(row.samples)).toBeGreaterThanOrEqual(5);
        continue;
      }
      const reason =
        row.engine === 'hangs-at-3' ? 'timed out after 15 s' : 'exited with code 1: threw deliberate fault at step 3';
      expect([row.status, row.reason, row.mean_ns, row.samples]).toEqual(['failed', reason, '', '']);
      expect(md).toContain(`| ${row.operation} | ${row.engine} | — | — | — | — | failed: ${reason} |`);
    }
  });
});
