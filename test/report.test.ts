import { cpSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, expectInputError, runScript, tempDirs } from './helpers.ts';

/**
 * Two real bench:all folders (embedded names, 5 steps, faulty engines via MICROGPT_BENCH_ENGINES):
 * `complete` ran to the end; `interrupted` was stopped with ^C during its hanging engine's trial.
 */
const FIXTURES = 'test/fixtures/bench-results';
const COMPLETE = `${FIXTURES}/complete`;
const INTERRUPTED = `${FIXTURES}/interrupted`;
const tmp = tempDirs()('report');

function report(args: string[]) {
  const output = join(tmp, `${args.length}-${Math.random().toString(36).slice(2)}.md`);
  const r = runScript('report.ts', [...args, '--output', output]);
  expect(r.status, r.stderr).toBe(0);
  return { stdout: r.stdout, markdown: readFileSync(output, 'utf8'), output };
}

describe('npm run report', () => {
  it('regenerates the report of a saved folder exactly', () => {
    const { markdown, stdout, output } = report([COMPLETE]);
    expect(markdown).toBe(readFileSync(join(ROOT, FIXTURES, 'complete.expected.md'), 'utf8'));
    expect(stdout).toBe(`${output}\n`);
  });

  it('merges several folders into one report with a machine column', () => {
    expect(report([COMPLETE, INTERRUPTED]).markdown).toBe(
      readFileSync(join(ROOT, FIXTURES, 'merged.expected.md'), 'utf8'),
    );
  });

  it('writes to reports/<folder name>.md by default', () => {
    const folder = join(tmp, `default-output-${process.pid}`);
    cpSync(join(ROOT, COMPLETE), folder, { recursive: true });
    const expected = join(ROOT, 'reports', `${basename(folder)}.md`);
    try {
      const r = runScript('report.ts', [folder]);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toBe(`reports/${basename(folder)}.md\n`);
      expect(readFileSync(expected, 'utf8')).toContain('| tape | not in the study: typed-array tape |');
    } finally {
      rmSync(expected, { force: true });
    }
  });

  it('--format md,csv,json writes every format from a saved folder, each equal to its golden file', () => {
    const base = join(tmp, 'all-formats');
    const r = runScript('report.ts', [COMPLETE, '--format', 'md,csv,json', '--output', `${base}.md`]);
    expect(r.status, r.stderr).toBe(0);
    const suffixes = ['md', 'runs.csv', 'external-runs.csv', 'summary.csv', 'losses.csv', 'counts.csv', 'json'];
    expect(r.stdout).toBe(suffixes.map((s) => `${base}.${s}\n`).join(''));
    for (const s of suffixes) {
      expect(readFileSync(`${base}.${s}`, 'utf8'), s).toBe(
        readFileSync(join(ROOT, FIXTURES, `complete.expected.${s}`), 'utf8'),
      );
    }
  });

  it('--format json alone goes to --output exactly as given', () => {
    const output = join(tmp, 'exact-name.txt');
    const r = runScript('report.ts', [COMPLETE, INTERRUPTED, '--format', 'json', '--output', output]);
    expect(r.status, r.stderr).toBe(0);
    expect(readFileSync(output, 'utf8')).toBe(readFileSync(join(ROOT, FIXTURES, 'merged.expected.json'), 'utf8'));
  });

  it('reports a folder whose bench was interrupted before its first run ended', () => {
    const folder = join(tmp, 'no-runs');
    cpSync(join(ROOT, INTERRUPTED), folder, { recursive: true });
    writeFileSync(join(folder, 'runs.jsonl'), '');
    const { markdown } = report([folder]);
    expect(markdown).toMatch(/\| topo \|.*\| 0 of 2 trials \(interrupted\) \|/);
  });

  it('drops a last line torn by a kill, keeping the runs before it', () => {
    const folder = join(tmp, 'torn');
    cpSync(join(ROOT, INTERRUPTED), folder, { recursive: true });
    const lines = readFileSync(join(folder, 'runs.jsonl'), 'utf8').trimEnd().split('\n');
    writeFileSync(join(folder, 'runs.jsonl'), `${lines[0]}\n${lines[1].slice(0, 80)}`);
    const { markdown } = report([folder]);
    expect(markdown).toMatch(/\| topo \|.*\| 1 of 2 trials \(interrupted\) \|/);
    expect(markdown).toMatch(/\| tensor \|.*\| 0 of 2 trials \(interrupted\) \|/);
  });
});

describe('npm run report: bad input', () => {
  const expectBadInput = (args: string[], message: RegExp) => expectInputError('report.ts', args, message);

  it('no folder', () => expectBadInput([], /^error: expected at least one results folder/));
  it('an unknown format', () =>
    expectBadInput([COMPLETE, '--format', 'md,xml'], /^error: --format: unknown 'xml'\. Valid: md, csv, json, html$/));
  it('a missing folder', () => expectBadInput([join(tmp, 'nope')], /nope: no such folder$/));
  it('a folder that is not a results folder', () =>
    expectBadInput([tmp], /: no env\.json \(not a bench:all results folder\?\)$/));
  it('--output pointing at a folder', () =>
    expectBadInput([COMPLETE, '--output', tmp], /^error: --output .*: is a folder, expected a file$/));
  /** A copy of the complete fixture folder whose runs.jsonl line `index` (0-based) is replaced. */
  function withRunsLine(name: string, index: number, line: string): string {
    const folder = join(tmp, name);
    cpSync(join(ROOT, COMPLETE), folder, { recursive: true });
    const lines = readFileSync(join(folder, 'runs.jsonl'), 'utf8').split('\n');
    lines[index] = line;
    writeFileSync(join(folder, 'runs.jsonl'), lines.join('\n'));
    return folder;
  }
  it('a corrupt line inside runs.jsonl names the line', () =>
    expectBadInput([withRunsLine('corrupt', 1, '{ not json')], /runs\.jsonl:2: not valid JSON$/));
  it('a line of valid JSON that is not a run names the line', () =>
    expectBadInput([withRunsLine('not-a-run', 2, '{"kind":"train"}')], /runs\.jsonl:3: not a run record/));
  it('an env.json of another shape', () => {
    const folder = join(tmp, 'odd-env');
    cpSync(join(ROOT, COMPLETE), folder, { recursive: true });
    writeFileSync(join(folder, 'env.json'), 'null\n');
    expectBadInput([folder], /env\.json: not a bench:all env\.json/);
  });
  it('--output under a file', () => {
    const file = join(tmp, 'plain-file');
    writeFileSync(file, '');
    expectBadInput(
      [COMPLETE, '--output', join(file, 'r.md')],
      /^error: --output .*plain-file: is a file, expected a folder$/,
    );
  });
  it('leaves no report behind when it fails', () => {
    const output = join(tmp, 'never.md');
    expect(runScript('report.ts', [join(tmp, 'nope'), '--output', output]).status).toBe(2);
    expect(existsSync(output)).toBe(false);
  });
});
