import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect } from 'vitest';
import { DEFAULT_CONFIG, type TrainConfig } from '../workload/config.ts';
import { loadEmbeddedDataset, type Dataset } from '../workload/dataset.ts';
import { scriptArgs } from './compiled-scripts.ts';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** microgpt.py's own run on names.txt (seed 42, 1000 steps): every loss at full precision, its 20 samples. */
export const MICROGPT_PY: { losses: number[]; samples: string[]; nodesStep1: number } = JSON.parse(
  readFileSync(join(ROOT, 'test/fixtures/microgpt-py-names-seed42.json'), 'utf8'),
);

/**
 * Asserts that the first `steps` losses of the 1000-step job are each within `tolerance` of
 * microgpt.py's, printing the worst difference.
 */
export function expectMicrogptPyLosses(
  engine: string,
  losses: readonly number[],
  tolerance: number,
  steps = 1000,
): void {
  const worst = Math.max(...losses.map((l, i) => Math.abs(l - MICROGPT_PY.losses[i])));
  console.log(`${engine} vs microgpt.py over ${steps} steps: worst loss difference ${worst.toExponential(2)}`);
  expect(losses).toHaveLength(steps);
  expect(worst).toBeLessThan(tolerance);
}

/** A model small enough for exhaustive checks: 8-wide embeddings, 2 heads, 8 positions, four names. */
export const TINY: { config: TrainConfig; dataset: Dataset } = {
  config: { ...DEFAULT_CONFIG, nEmbd: 8, nHead: 2, blockSize: 8 },
  dataset: { source: 'test', docs: ['emma', 'olivia', 'ava', 'isabella'], sha256: '' },
};

/**
 * TINY's model as command flags: for the commands a test runs whose subject is not the model
 * (topo's gradient check takes 6 s of CPU on microgpt.py's model, 1 s on this one).
 */
export const SMALL_MODEL_FLAGS: readonly string[] = [
  ...['--n-embd', `${TINY.config.nEmbd}`, '--n-head', `${TINY.config.nHead}`],
  ...['--block-size', `${TINY.config.blockSize}`],
];

/** names.txt from $MICROGPT_NAMES or ../shared/data/names.txt; undefined when neither exists. */
export const NAMES_PATH: string | undefined = [
  process.env.MICROGPT_NAMES,
  resolve(ROOT, '../shared/data/names.txt'),
].find((p): p is string => p !== undefined && existsSync(p));

/** Says once, visibly, why names.txt tests are skipped. */
export function namesSkipReason(): string | undefined {
  if (NAMES_PATH) return undefined;
  const reason = 'names.txt not found (set MICROGPT_NAMES or put it at ../shared/data/names.txt): skipping its tests';
  console.warn(`[skip] ${reason}`);
  return reason;
}

/**
 * A short dataset for the jobs of count runs, written to `dir`/short-names.txt: the embedded list's
 * first 300 names, then the first name with each character those lack, so that the vocabulary, and
 * with it the model's size, is the embedded list's. Under callgrind, loading, shuffling and
 * tokenizing the 8,422 embedded names is a fifth of a count run's start-up: a tiny job's count run
 * took 16.6 s of CPU on them and 12.9 s on these.
 */
export function shortDataset(dir: string): string {
  const { docs } = loadEmbeddedDataset();
  const chosen = docs.slice(0, 300);
  const has = new Set(chosen.join(''));
  for (const doc of docs) {
    if ([...doc].some((ch) => !has.has(ch))) {
      chosen.push(doc);
      for (const ch of doc) has.add(ch);
    }
  }
  const path = join(dir, 'short-names.txt');
  writeFileSync(path, chosen.join('\n') + '\n');
  return path;
}

/**
 * The limit on a process a test starts: a guard against a hang, never a verdict on speed (below
 * vitest.config.ts's limit on a test, so that the process's output is still shown). The longest
 * process, bench:micro over every engine and operation, takes about 40 s on a quiet 2-core machine
 * and took 100 s at load average 12.
 */
export const SPAWN_GUARD_MS = 480_000;

/** Runs one of the project's npm scripts' entry points: compiled (compiled-scripts.ts), or under tsx as npm does. */
export function runScript(
  script: string,
  args: string[],
  opts: { timeout?: number; env?: NodeJS.ProcessEnv; tsx?: boolean } = {},
) {
  const env = { ...process.env, ...opts.env };
  const r = spawnSync(process.execPath, scriptArgs(script, args, env, opts), {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: opts.timeout ?? SPAWN_GUARD_MS,
    env,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Starts a script without waiting for it (runScript blocks), so benches can overlap or be interrupted. */
export function startScript(script: string, args: string[], env: NodeJS.ProcessEnv = {}) {
  const childEnv = { ...process.env, ...env };
  const child = spawn(process.execPath, scriptArgs(script, args, childEnv), {
    cwd: ROOT,
    env: childEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const done = new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) =>
    child.on('close', (status) => resolve({ status, stdout, stderr })),
  );
  return { child, done };
}

/** Bad input to a script: exit code 2, exactly one line on stderr that matches `message`, nothing on stdout. */
export function expectInputError(script: string, args: string[], message: RegExp) {
  const r = runScript(script, args);
  expect(r.status).toBe(2);
  expect(r.stdout).toBe('');
  const lines = r.stderr.trimEnd().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(message);
  expect(r.stderr).not.toMatch(/\n\s+at /);
}

/** A maker of fresh temporary folders (`mgb-<label>-…`), all removed after the calling test file. */
export function tempDirs(): (label: string) => string {
  const made: string[] = [];
  afterAll(() => made.forEach((dir) => rmSync(dir, { recursive: true, force: true })));
  return (label) => {
    const dir = mkdtempSync(join(tmpdir(), `mgb-${label}-`));
    made.push(dir);
    return dir;
  };
}

/** A saved results folder read as plain JSON, without the project's schemas: the tests' raw oracle. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- raw JSON records
export function rawResults(dir: string): { runs: any[]; env: any } {
  const runs = readFileSync(join(dir, 'runs.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line));
  return { runs, env: JSON.parse(readFileSync(join(dir, 'env.json'), 'utf8')) };
}

/** An exporter's text, which for the CSV, JSON and Markdown exporters is there at once (only the HTML page waits). */
export function syncText(text: string | Promise<string>): string {
  if (typeof text !== 'string') throw new Error('expected an exporter that returns its text at once');
  return text;
}

/** runScript without blocking the test process: for concurrent tests, which mostly wait on their commands. */
export function runScriptAsync(script: string, args: string[], opts: { env?: NodeJS.ProcessEnv } = {}) {
  return startScript(script, args, opts.env ?? {}).done;
}

/** A results folder's runs.jsonl, one parsed record per line (an empty file: none). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- raw JSON records
export function runsOf(dir: string): any[] {
  return readFileSync(join(dir, 'runs.jsonl'), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l));
}
