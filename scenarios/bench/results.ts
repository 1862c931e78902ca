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
import { z } from 'zod';
import { InputError } from '../../workload/input-error.ts';
import type { BenchEnv } from './env.ts';
import type { JobKind, RunRecord } from './job-kind.ts';
import { KINDS, type AnyKind } from './kinds/index.ts';
import { firstIssue } from './schemas.ts';

export const RUNS_FILE = 'runs.jsonl';
export const ENV_FILE = 'env.json';

export interface ResultsFolder {
  readonly dir: string;
  /** The folder's name, which tells folders apart when a machine appears twice. */
  readonly name: string;
  readonly env: BenchEnv;
  /** Every record checked against its kind's schema as it was read. */
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
export function readResultsFolder(dir: string, kinds: readonly AnyKind[] = KINDS): ResultsFolder {
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
  return { dir, name: basename(dir), env, runs: parseRuns(read(RUNS_FILE), join(dir, RUNS_FILE), kinds) };
}

/** The runs of one kind, typed by it (their results were checked against its schema when read). */
export function runsOf<R>(folder: ResultsFolder, kind: JobKind<R>): RunRecord<R>[] {
  return folder.runs.filter((r) => r.kind === kind.name) as RunRecord<R>[];
}

/** Every line must parse, except an incomplete last line (the bench was killed while writing it), which is dropped. */
function parseRuns(text: string, path: string, kinds: readonly AnyKind[]): RunRecord[] {
  const lines = text.split('\n');
  const complete = text.endsWith('\n') || text === '';
  const schema = runSchema(kinds);
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
    const parsed = schema.safeParse(run);
    if (!parsed.success) throw new InputError(`${path}:${i + 1}: not a run record (${firstIssue(parsed.error)})`);
    runs.push(parsed.data);
  });
  return runs;
}

/** A runs.jsonl line: the kind must be known, and an ok run's result must fit the kind's schema. */
function runSchema(kinds: readonly AnyKind[]): z.ZodType<RunRecord> {
  const names = kinds.map((k) => k.name);
  const head = {
    kind: z.string().refine((k) => names.includes(k), { message: `kind must be one of ${names.join(', ')}` }),
    engine: z.string(),
    // Gradient checks were once written without these.
    trial: z.number().int().default(1),
    warmup: z.boolean().default(false),
    wallMs: z.number(),
  };
  return z
    .discriminatedUnion('status', [
      z.object({ ...head, status: z.literal('ok'), result: z.unknown() }),
      z.object({ ...head, status: z.literal('failed'), reason: z.string() }),
      z.object({ ...head, status: z.literal('diverged'), reason: z.string(), divergedAtStep: z.number() }),
    ])
    .transform((run, ctx) => {
      if (run.status !== 'ok') return run;
      const result = kinds.find((k) => k.name === run.kind)!.result.safeParse(run.result);
      if (result.success) return { ...run, result: result.data };
      const issue = result.error.issues[0];
      ctx.addIssue({ code: 'custom', path: ['result', ...issue.path], message: issue.message });
      return z.NEVER;
    });
}

// Shape checks for files a user may have edited or mixed up: enough that the report can rely on them.
const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);

function isEnv(x: unknown): x is BenchEnv {
  return (
    isObject(x) && isObject(x.bench) && Array.isArray(x.bench.engines) && isObject(x.config) && isObject(x.dataset)
  );
}

/** Writes via a temporary file and a rename, so a reader never sees half a file. */
export function writeFileAtomic(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}
