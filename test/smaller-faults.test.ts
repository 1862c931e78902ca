/**
 * Issue 30, class 4: the smaller faults. A model too large for the WebAssembly memory refused up
 * front; a --config cwd that does not exist named as such; control bytes from a program's output
 * shown escaped; numbers only in decimal and shard counts that are whole and sane; a data file with
 * lone \r line endings read as microgpt.py reads it; flame and clinic with a TypeScript plugin
 * refused before they print any path.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InputError } from '../engines/input-error.ts';
import { wasmSizeProblem } from '../engines/wasm.ts';
import { externalsConfig } from '../scenarios/bench/external/spec.ts';
import { readResultsFolder } from '../scenarios/bench/results.ts';
import { summarize } from '../scenarios/bench/summary.ts';
import { benchSummaryLines } from '../scenarios/output/bench-summary.ts';
import { markdownReport } from '../scenarios/output/export/markdown.ts';
import { textRow } from '../scenarios/output/table.ts';
import { numberFlag } from '../scripts/cli.ts';
import { thresholdFlag } from '../scripts/compare-flags.ts';
import { shardFlag } from '../scripts/shard-flag.ts';
import { loadDatasetFile, parseDocuments } from '../workload/dataset.ts';
import { expectInputError, rawResults, ROOT, runScript, syncText, tempDirs } from './helpers.ts';

const tmp = tempDirs();

describe('a model too large for the WebAssembly memory: one line, exit 2, before any work', () => {
  it('the instance: train --engine wasm-captured --n-embd 4096 --n-head 1', () =>
    expectInputError(
      'train.ts',
      ['--engine', 'wasm-captured', '--n-embd', '4096', '--n-head', '1'],
      /^error: --engine wasm-captured: 201621504 parameters need at least 6\.0 GiB .* \(4\.0 GiB\)$/,
    ));

  it('bench:all with wasm and 30 layers of 1024 refuses; the bound is the parameters’ 32 bytes each', () => {
    expectInputError(
      'bench-all.ts',
      ['--engines', 'topo,wasm', '--n-layer', '30', '--n-embd', '1024', '--out', join(tmp('wasm-big'), 'r')],
      /^error: --engine wasm: \d+ parameters need at least/,
    );
    // 2^32 bytes hold 2^27 parameters of 32 bytes: one fewer fits, that many does not.
    expect(wasmSizeProblem(2 ** 27 - 1)).toBeNull();
    expect(wasmSizeProblem(2 ** 27)).toMatch(/more than the module's 32-bit memory holds/);
  });
});

describe('--config with a cwd that is not a folder', () => {
  const config = (cwd: string) => {
    const dir = tmp('cfg');
    writeFileSync(join(dir, 'plain-file'), '');
    const path = join(dir, 'externals.json');
    writeFileSync(path, JSON.stringify({ externals: [{ name: 'py', command: ['python3', 'x.py'], cwd }] }));
    return path;
  };
  it('the instance: a missing cwd is named, not GNU time', () => {
    expect(() => externalsConfig(config('nowhere'))).toThrow(InputError);
    expect(() => externalsConfig(config('nowhere'))).toThrow(/externals\[0\]: cwd .*nowhere: no such folder$/);
    expectInputError(
      'bench-all.ts',
      ['--engines', 'topo', '--config', config('gone/away'), '--out', join(tmp('cfg-out'), 'r')],
      /^error: --config .*externals\[0\]: cwd .*gone\/away: no such folder$/,
    );
  });
  it('a cwd that is a file: not a folder', () =>
    expect(() => externalsConfig(config('plain-file'))).toThrow(/cwd .*plain-file: not a folder$/));
});

describe("control bytes from a program's output are shown escaped", () => {
  const COMPLETE = join(ROOT, 'test/fixtures/bench-results/complete');
  /** The fixture with every failure reason and every printed sample holding NUL, ESC, BEL and DEL bytes. */
  function hostile() {
    const dir = join(tmp('ctl'), 'r');
    mkdirSync(dir);
    const { runs, env } = rawResults(COMPLETE);
    for (const run of runs) {
      if (run.status === 'failed') run.reason = 'boom\u0000\u001b[2J\u0007';
      if (run.kind === 'external' && run.status === 'ok') run.result.samples[0] = 'ann\u0000\u001b]0;x\u007f';
    }
    writeFileSync(join(dir, 'env.json'), JSON.stringify(env));
    writeFileSync(join(dir, 'runs.jsonl'), runs.map((r) => JSON.stringify(r) + '\n').join(''));
    return readResultsFolder(dir);
  }
  // Any C0 control but tab and newline (which separates the lines), DEL, or C1.
  // eslint-disable-next-line no-control-regex -- the very bytes the test looks for
  const RAW_CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/;

  it('the instance: the terminal summary, and the Markdown report, hold no raw control byte', () => {
    const folder = hostile();
    const totals = { trials: 2, config: folder.env.config, datasetSource: 'embedded', elapsedMs: 1 };
    const summary = benchSummaryLines(summarize(folder), totals).join('\n');
    expect(summary).not.toMatch(RAW_CONTROL);
    expect(summary).toContain('boom\\x00\\x1b[2J\\x07');
    expect(summary).toContain("printed 'ann\\x00\\x1b]0;x\\x7f'");
    const md = syncText(markdownReport.serialize([folder]));
    expect(md).not.toMatch(RAW_CONTROL);
    expect(md).toContain('boom\\x00\\x1b[2J\\x07');
  });

  it('plain-text rows escape C1 controls and DEL too, and keep tabs and everything printable', () => {
    expect(textRow(['a\u009bb', 'c\td', 'é✓'], [0, 0, 0])).toBe('a\\x9bb  c\td  é✓');
  });
});

describe('numbers in decimal only; shard counts whole and sane', () => {
  it('the instance: --threshold 0x10 is refused (Number() read it as 16)', () => {
    expect(() => thresholdFlag('0x10')).toThrow(/^--threshold expects a percentage ≥ 0 and < 100, got '0x10'$/);
    expect(thresholdFlag('16')).toBe(0.16);
  });
  it('0b1, 0o7, Infinity, blanks refused anywhere a flag takes a number; 1e-3, .5, -2.5 accepted', () => {
    const any = (raw: string) => numberFlag('lr', raw, 1, () => true, 'a number');
    for (const bad of ['0b1', '0o7', 'Infinity', '-Infinity', ' ', '1_000', '0x1p3', '1e'])
      expect(() => any(bad), bad).toThrow(InputError);
    expect([any('1e-3'), any('.5'), any('-2.5'), any('+3')]).toEqual([1e-3, 0.5, -2.5, 3]);
    expectInputError('train.ts', ['--lr', '0x10'], /^error: --lr expects a number > 0, got '0x10'$/);
  });
  it('the instance: --shard auto with a count of 1e23 is refused; so are 1e23 given, and non-integers', () => {
    const env = { SLURM_ARRAY_TASK_ID: '0', SLURM_ARRAY_TASK_MIN: '0', SLURM_ARRAY_TASK_COUNT: '1' + '0'.repeat(23) };
    expect(() => shardFlag('auto', env)).toThrow(/the environment gives a shard count from 1 to 1000000/);
    expect(() => shardFlag(`1/1${'0'.repeat(23)}`)).toThrow(InputError);
    expect(() => shardFlag('auto/2.5', { JOB_COMPLETION_INDEX: '0' })).toThrow(InputError);
    expect(() => shardFlag('auto', { ...env, SLURM_ARRAY_TASK_COUNT: '2.5' })).toThrow(InputError);
    expect(shardFlag('auto', { ...env, SLURM_ARRAY_TASK_COUNT: '4' })).toEqual({ index: 1, count: 4 });
    expect(shardFlag('3/4')).toEqual({ index: 3, count: 4 });
  });
});

describe('line endings and spaces as microgpt.py reads input.txt', () => {
  // microgpt.py: docs = [line.strip() for line in open('input.txt') if line.strip()]
  const pythonDocs = (path: string): string[] =>
    JSON.parse(
      execFileSync(
        'python3',
        ['-c', 'import json,sys; print(json.dumps([l.strip() for l in open(sys.argv[1]) if l.strip()]))', path],
        { encoding: 'utf8', env: { ...process.env, PYTHONIOENCODING: 'utf-8', PYTHONUTF8: '1' } },
      ),
    );
  let python = true;
  try {
    execFileSync('python3', ['-c', '1']);
  } catch {
    python = false;
  }

  it.skipIf(!python)('the instance: lone \\r line endings are one name per line, as Python reads them', () => {
    const path = join(tmp('cr'), 'mac.txt');
    writeFileSync(path, 'emma\rolivia\rava\r');
    expect(loadDatasetFile(path).docs).toEqual(['emma', 'olivia', 'ava']);
    expect(loadDatasetFile(path).docs).toEqual(pythonDocs(path));
  });

  it.skipIf(!python)('mixed endings, blank lines, and what Python strips that trim() does not', () => {
    const path = join(tmp('mixed'), 'mixed.txt');
    const text = 'emma\r\nolivia\r\r\nava\n\r  mia \t\n\u001cnoah\u001f\nliam\u0085\r \u00a0\u3000\r\nzoë\n';
    writeFileSync(path, text);
    const docs = pythonDocs(path);
    expect(docs).toEqual(['emma', 'olivia', 'ava', 'mia', 'noah', 'liam', 'zoë']);
    expect(parseDocuments(text)).toEqual(docs);
  });
});

describe('flame and clinic with a TypeScript plugin module', () => {
  const env = { MICROGPT_BENCH_ENGINES: join(ROOT, 'test/fixtures/faulty-engines.ts') };
  for (const [script, args, label] of [
    ['flame.ts', [], 'the instance: flame'],
    ['clinic.ts', ['doctor'], 'clinic doctor'],
  ] as const) {
    it(`${label}: refused in one line, no path printed`, () => {
      const out = join(tmp('ts-plugin'), 'out');
      const r = runScript(script, [...args, '--engine', 'topo', '--steps', '1', '--out', out], { env });
      expect(r.status).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr.trimEnd().split('\n')).toEqual([
        expect.stringMatching(/^error: MICROGPT_BENCH_ENGINES=.*faulty-engines\.ts: .*cannot load a TypeScript module/),
      ]);
    });
  }
});
