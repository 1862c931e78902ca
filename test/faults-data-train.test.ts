// Faults of `npm run train` that must end as one line, never a stack trace or a lost result: a data
// file with no end (or over the size limit), and a run whose loss or parameters stop being finite.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { quote } from 'shell-quote';
import { describe, expect, it } from 'vitest';
import { InputError } from '../engines/input-error.ts';
import { DATA_FILE_LIMIT_BYTES, loadDatasetFile } from '../workload/dataset.ts';
import { scriptArgs } from './compiled-scripts.ts';
import { ROOT, runScript, runsOf, SMALL_MODEL_FLAGS, SPAWN_GUARD_MS, tempDirs } from './helpers.ts';

const dir = tempDirs()('faults-data-train');

/** Exactly one line on stderr, matching `message`, and no stack trace. */
function expectOneLine(stderr: string, message: RegExp) {
  const lines = stderr.trimEnd().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(message);
  expect(stderr).not.toContain('\n    at ');
}

describe('npm run train: a data file with no end', () => {
  it('--data /dev/zero stops at the 256 MiB limit: exit 2, one line', () => {
    // Before the fix this read /dev/zero until memory ran out; the short limit (the work is a second's
    // reading) keeps a regression from doing so.
    const r = runScript('train.ts', ['--data', '/dev/zero'], { timeout: 30_000 });
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expectOneLine(r.stderr, /^error: --data \/dev\/zero: larger than the 256 MiB limit$/);
  });

  it('loadDatasetFile refuses a file over its limit, naming the file and the limit, and takes one at it', () => {
    expect(DATA_FILE_LIMIT_BYTES).toBe(256 * 1024 * 1024);
    const file = join(dir, 'names.txt');
    writeFileSync(file, 'emma\nolivia\nava\n'); // 16 bytes
    const load = (limit: number) => () => loadDatasetFile(file, limit);
    expect(load(15)).toThrow(InputError);
    expect(load(15)).toThrow(/^--data .*names\.txt: larger than the 15 bytes limit \(16 bytes\)$/);
    expect(load(2048)().docs).toEqual(['emma', 'olivia', 'ava']);
    expect(load(16)().docs).toEqual(['emma', 'olivia', 'ava']);
  });

  it('a device over a small limit is refused after reading limit + 1 bytes', () => {
    // In a child process with a timeout: an unbounded read of /dev/zero would take the test runner down with it.
    const code = `import { loadDatasetFile } from './workload/dataset.ts';
      try { loadDatasetFile('/dev/zero', 1024); } catch (err) { console.log(err.name + ': ' + err.message); }`;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe('InputError: --data /dev/zero: larger than the 1 KiB limit');
  });
});

describe('--data that can be read only once (/dev/stdin from a pipe)', () => {
  // A \r\n in the middle: the copy is the bytes read, so its sha256 is the dataset's.
  const NAMES = 'emma\r\nolivia\nava\nisabella\nsophia\nmia\n';
  // Through a shell's pipe: a child's stdin from spawnSync's `input` is a socket, which cannot be opened by path.
  const fromStdin = (script: string, args: string[]) => {
    const names = join(dir, 'stdin-names.txt');
    writeFileSync(names, NAMES);
    const node = quote([process.execPath, ...scriptArgs(script, [...args, '--data', '/dev/stdin'], process.env)]);
    return spawnSync('/bin/sh', ['-c', `cat ${quote([names])} | ${node}`], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: SPAWN_GUARD_MS,
    });
  };

  it('bench:all reads it once and its runs read a copy in the results folder (each run found it empty)', () => {
    const out = join(dir, 'stdin-bench');
    const job = ['--engines', 'tape', '--trials', '1', '--steps', '2', '--samples', '0', ...SMALL_MODEL_FLAGS];
    const r = fromStdin('bench-all.ts', [...job, '--no-page', '--out', out, '--report', join(dir, 'stdin.md')]);
    expect(r.status, r.stderr).toBe(0);
    expect(runsOf(out).map((run) => `${run.kind} ${run.status}`)).toEqual(['train ok', 'gradcheck ok']);
    expect(readFileSync(join(out, 'dataset.txt'), 'utf8')).toBe(NAMES);
    const sha256 = createHash('sha256').update(NAMES).digest('hex');
    const env = JSON.parse(readFileSync(join(out, 'env.json'), 'utf8'));
    expect(env.dataset).toEqual({ source: '/dev/stdin', docs: 6, sha256 });
  });

  it('bench:history, bench:micro and flame, which keep no folder of the run for a copy, refuse it in one line', () => {
    const refused =
      /^error: --data \/dev\/stdin: can be read only once \(a pipe or a device\), and each run reads it again; save it to a file$/;
    const history = ['--commits', 'HEAD~1..HEAD', '--engines', 'tape', '--no-counts', '--trials', '1'];
    for (const [script, args] of [
      ['bench-history.ts', [...history, '--out', join(dir, 'h')]],
      ['flame.ts', ['--engine', 'topo', '--steps', '1', '--out', join(dir, 'flame')]],
      ['bench-micro.ts', ['--engines', 'tape', '--operations', 'training step', '--results-dir', join(dir, 'micro')]],
    ] as const) {
      const r = fromStdin(script, [...args]);
      expect(r.status, `${script}: ${r.stderr}`).toBe(2);
      expectOneLine(r.stderr, refused);
    }
  });
});

describe('npm run train: a run that diverges', () => {
  it('--steps 5 --lr 1e300: exit 1, one line naming the step, no sampling crash', () => {
    const r = runScript('train.ts', ['--steps', '5', '--lr', '1e300']);
    expect(r.status).toBe(1);
    expectOneLine(r.stderr, /^error: diverged: loss became NaN at step 3 of 5$/);
    expect(r.stdout).not.toMatch(/sample|engine topo:/);
  });

  it('--json still prints one object: status diverged, the step, its loss and the losses before it', () => {
    const r = runScript('train.ts', ['--steps', '5', '--lr', '1e300', '--json']);
    expect(r.status).toBe(1);
    expectOneLine(r.stderr, /^error: diverged: loss became NaN at step 3 of 5$/);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const j = JSON.parse(lines[0]);
    expect(j).toMatchObject({
      status: 'diverged',
      reason: 'loss became NaN at step 3 of 5',
      step: 3,
      loss: 'NaN',
      engine: 'topo',
      config: { steps: 5, learningRate: 1e300 },
      seed: 42,
      dataset: { docs: 8422, sha256: expect.stringMatching(/^[0-9a-f]{64}$/) },
    });
    expect(j.losses).toHaveLength(2);
    for (const loss of j.losses) expect(Number.isFinite(loss)).toBe(true);
  });

  it('parameters that stop being finite in the last update end the run before sampling', () => {
    // Every loss is finite here (steps 1 and 2); only the parameters left for sampling are not.
    const r = runScript('train.ts', ['--steps', '2', '--lr', '1e300', '--json']);
    expect(r.status).toBe(1);
    expectOneLine(r.stderr, /^error: diverged: the parameters stopped being finite in the update of step 2 of 2$/);
    const j = JSON.parse(r.stdout);
    expect(j).toMatchObject({ status: 'diverged', step: 2, loss: expect.any(Number) });
    expect(j.losses).toHaveLength(1);
  });
});
