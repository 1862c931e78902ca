/**
 * A results folder: runs.jsonl (one line appended as each run ends, so an interrupted bench keeps
 * every finished run) and env.json (written before the first run). Everything else in the folder
 * (CSV, report) is derived from these two files and can be regenerated from them.
 */
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { TrainResult } from '../train.ts';
import type { GradcheckResult } from '../gradcheck.ts';
import { InputError } from '../../workload/input-error.ts';
import type { BenchEnv } from './env.ts';

export const RUNS_FILE = 'runs.jsonl';
export const ENV_FILE = 'env.json';

/** One training run in its own process. Warmup runs are saved too but left out of every statistic. */
export interface TrainRun {
  kind: 'train';
  engine: string;
  /** 1-based, counted separately for warmup and timed runs. */
  trial: number;
  warmup: boolean;
  status: 'ok' | 'failed' | 'diverged';
  /** Why a run failed or diverged. */
  reason?: string;
  /** The step whose loss was NaN or infinite. */
  divergedAtStep?: number;
  /** Wall-clock time of the whole process, start-up and sampling included. */
  wallMs: number;
  result?: TrainResult;
}

/** One engine's gradient check in its own process. A check that ran is `ok` even if the engine fails it. */
export interface GradcheckRun {
  kind: 'gradcheck';
  engine: string;
  status: 'ok' | 'failed';
  reason?: string;
  wallMs: number;
  result?: GradcheckResult;
}

export type RunRecord = TrainRun | GradcheckRun;

export interface ResultsFolder {
  readonly dir: string;
  /** The folder's name, which tells folders apart when a machine appears twice. */
  readonly name: string;
  readonly env: BenchEnv;
  readonly runs: readonly RunRecord[];
}

/** Makes `dir` ready for a new bench, refusing a file or a folder that holds anything. */
export function prepareResultsDir(dir: string): void {
  if (existsSync(dir)) {
    if (!statSync(dir).isDirectory()) throw new InputError(`--out ${dir}: is a file, expected a folder`);
    // Results must not mix with earlier runs or other files.
    if (readdirSync(dir).length > 0) throw new InputError(`--out ${dir}: is not empty; choose a new or empty folder`);
  }
  try {
    mkdirSync(dir, { recursive: true });
  } catch (err) {
    throw new InputError(`--out ${dir}: cannot create it (${(err as NodeJS.ErrnoException).code ?? err})`);
  }
}

export function writeEnv(dir: string, env: BenchEnv): void {
  writeFileAtomic(join(dir, ENV_FILE), JSON.stringify(env, null, 2) + '\n');
}

/** One whole line per write: a crash can lose only the run in progress, never a finished one. */
export function appendRun(dir: string, run: RunRecord): void {
  appendFileSync(join(dir, RUNS_FILE), JSON.stringify(run) + '\n');
}

/** Reads a folder written by bench:all, finished or not. */
export function readResultsFolder(dir: string): ResultsFolder {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new InputError(`${dir}: no such folder`);
  const read = (file: string) => {
    const path = join(dir, file);
    if (!existsSync(path)) throw new InputError(`${dir}: no ${file} (not a bench:all results folder?)`);
    return readFileSync(path, 'utf8');
  };
  let env: BenchEnv;
  try {
    env = JSON.parse(read(ENV_FILE)) as BenchEnv;
  } catch (err) {
    if (err instanceof InputError) throw err;
    throw new InputError(`${join(dir, ENV_FILE)}: not valid JSON`);
  }
  return { dir, name: basename(dir), env, runs: parseRuns(read(RUNS_FILE), join(dir, RUNS_FILE)) };
}

/** Every line must parse, except an incomplete last line (the bench was killed while writing it), which is dropped. */
function parseRuns(text: string, path: string): RunRecord[] {
  const lines = text.split('\n');
  const complete = text.endsWith('\n') || text === '';
  const runs: RunRecord[] = [];
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    try {
      runs.push(JSON.parse(line) as RunRecord);
    } catch {
      const isTornTail = i === lines.length - 1 && !complete;
      if (!isTornTail) throw new InputError(`${path}:${i + 1}: not valid JSON`);
    }
  });
  return runs;
}

/** Writes via a temporary file and a rename, so a reader never sees half a file. */
export function writeFileAtomic(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}
