/**
 * A results folder: runs.jsonl (one line appended as each run ends, so an interrupted bench keeps
 * every finished run) and env.json (written before the first run). Everything else in the folder
 * (CSV, report) is derived from these two files and can be regenerated from them.
 */
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  writeFileSync,
} from 'node:fs';
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

/** env.json, and an empty runs.jsonl: a bench interrupted before its first run still leaves a folder `report` reads. */
export function startResults(dir: string, env: BenchEnv): void {
  writeFileAtomic(join(dir, ENV_FILE), JSON.stringify(env, null, 2) + '\n');
  writeFileSync(join(dir, RUNS_FILE), '');
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
  const envPath = join(dir, ENV_FILE);
  let env: unknown;
  try {
    env = JSON.parse(read(ENV_FILE));
  } catch (err) {
    if (err instanceof InputError) throw err;
    throw new InputError(`${envPath}: not valid JSON`);
  }
  if (!isEnv(env)) throw new InputError(`${envPath}: not a bench:all env.json (no engines, config or dataset)`);
  return { dir, name: basename(dir), env, runs: parseRuns(read(RUNS_FILE), join(dir, RUNS_FILE)) };
}

/** Every line must parse, except an incomplete last line (the bench was killed while writing it), which is dropped. */
function parseRuns(text: string, path: string): RunRecord[] {
  const lines = text.split('\n');
  const complete = text.endsWith('\n') || text === '';
  const runs: RunRecord[] = [];
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    let run: unknown;
    try {
      run = JSON.parse(line);
    } catch {
      const isTornTail = i === lines.length - 1 && !complete;
      if (isTornTail) return;
      throw new InputError(`${path}:${i + 1}: not valid JSON`);
    }
    if (!isRun(run)) throw new InputError(`${path}:${i + 1}: not a run record (kind, engine, status, wallMs)`);
    runs.push(run);
  });
  return runs;
}

// Shape checks for files a user may have edited or mixed up: enough that the report can rely on them.
const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);

function isEnv(x: unknown): x is BenchEnv {
  return (
    isObject(x) && isObject(x.bench) && Array.isArray(x.bench.engines) && isObject(x.config) && isObject(x.dataset)
  );
}

function isRun(x: unknown): x is RunRecord {
  return (
    isObject(x) &&
    (x.kind === 'train' || x.kind === 'gradcheck') &&
    typeof x.engine === 'string' &&
    typeof x.status === 'string' &&
    typeof x.wallMs === 'number' &&
    (x.status !== 'ok' || isObject(x.result))
  );
}

/** Writes via a temporary file and a rename, so a reader never sees half a file. */
export function writeFileAtomic(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}
