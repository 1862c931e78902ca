/**
 * A results folder: runs.jsonl (one line appended as each run ends, so an interrupted bench keeps
 * every finished run) and env.json (written before the first run). Everything else in the folder
 * (CSV, report) is derived from these two files and can be regenerated from them.
 */
import { appendFileSync, closeSync, existsSync, openSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { z } from 'zod';
import { InputError } from '../../engines/input-error.ts';
import { envSchema, type BenchEnv } from './env.ts';
import type { RunKind, RunRecord } from './job-kind.ts';
import { countsKind, externalCountsKind, KINDS, type AnyKind } from './kinds/index.ts';
import { entryKind, ioReason, makeDirs, writeFileAtomic } from '../files.ts';
import { readReference, type Reference } from './reference.ts';
import { firstIssue, processCountsSchema } from './schemas.ts';

export const RUNS_FILE = 'runs.jsonl';
export const ENV_FILE = 'env.json';

export interface ResultsFolder {
  readonly dir: string;
  /** The folder's name, which tells folders apart when a machine appears twice. */
  readonly name: string;
  readonly env: BenchEnv;
  /** Every record checked against its kind's schema as it was read. */
  readonly runs: readonly RunRecord[];
  /** The job's reference trajectory (reference.json), which bench:all leaves when it times external programs. */
  readonly reference: Reference | null;
}

/**
 * Makes `dir` ready for a new bench and claims it: runs.jsonl is created exclusively, so of two
 * benches started into one folder exactly one proceeds. Refuses a file, a folder that holds
 * anything, and a folder where nothing can be written.
 */
export function prepareResultsDir(dir: string): void {
  const fail = (why: string): never => {
    throw new InputError(`--out ${dir}: ${why}`);
  };
  if (existsSync(dir)) {
    if (!statSync(dir).isDirectory()) fail(`is ${entryKind(statSync(dir))}, expected a folder`);
    // Results must not mix with earlier runs or other files.
    if (readdirSync(dir).length > 0) fail('is not empty; choose a new or empty folder');
  }
  try {
    makeDirs(dir);
  } catch (err) {
    fail(`cannot create it (${ioReason(err)})`);
  }
  try {
    closeSync(openSync(join(dir, RUNS_FILE), 'wx'));
  } catch (err) {
    fail(ioReason(err) === 'EEXIST' ? 'another bench is writing to it' : `cannot write in it (${ioReason(err)})`);
  }
}

/** env.json beside the claimed, empty runs.jsonl (a bench stopped before any run leaves a folder `report` reads). */
export function startResults(dir: string, env: BenchEnv): void {
  writeFileAtomic(join(dir, ENV_FILE), JSON.stringify(env, null, 2) + '\n');
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
    try {
      return readFileSync(path, 'utf8');
    } catch (err) {
      throw new InputError(`${path}: cannot read it (${ioReason(err)})`);
    }
  };
  const envPath = join(dir, ENV_FILE);
  let env: unknown;
  try {
    env = JSON.parse(read(ENV_FILE));
  } catch (err) {
    if (err instanceof InputError) throw err;
    throw new InputError(`${envPath}: not valid JSON`);
  }
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) throw new InputError(`${envPath}: not a bench:all env.json (${firstIssue(parsed.error)})`);
  const { dataset, config } = parsed.data;
  const runs = parseRuns(read(RUNS_FILE), join(dir, RUNS_FILE), kinds);
  assertOneCountEach(runs, join(dir, RUNS_FILE));
  return {
    dir,
    name: basename(dir),
    env: parsed.data,
    runs,
    reference: readReference(dir, dataset.sha256, config),
  };
}

/**
 * The runs of one kind, typed by it (their results were checked against its schema when read), in
 * the order of the job list, never the order they ended in (runs.jsonl's, which for runs carried out
 * at once, as count runs are, is whichever process finished first): warm-up runs first, then by
 * trial, then by engine as env.json lists them and external programs after them. For runs made one
 * at a time that is the order they ran in; engines the job list lacks keep their order, last.
 */
export function runsOf<R>(folder: ResultsFolder, kind: RunKind<R>): RunRecord<R>[] {
  return inJobOrder(folder, folder.runs.filter((r) => r.kind === kind.name) as RunRecord<R>[]);
}

/**
 * Every run, kind by kind in the order they are scheduled (a kind not built in after them), each
 * kind's in runsOf's order.
 */
export function runsInJobOrder(folder: ResultsFolder): RunRecord[] {
  const kinds = [...new Set([...KINDS.map((k) => k.name), ...folder.runs.map((r) => r.kind)])];
  return kinds.flatMap((kind) =>
    inJobOrder(
      folder,
      folder.runs.filter((r) => r.kind === kind),
    ),
  );
}

function inJobOrder<R>(folder: ResultsFolder, runs: RunRecord<R>[]): RunRecord<R>[] {
  const listed = [...folder.env.bench.engines.map((e) => e.name), ...folder.env.bench.externals.map((e) => e.name)];
  const position = (engine: string) => {
    const i = listed.indexOf(engine);
    return i < 0 ? listed.length : i;
  };
  // Array.prototype.sort is stable: runs that tie keep runs.jsonl's order.
  return runs.sort(
    (a, b) => Number(b.warmup) - Number(a.warmup) || a.trial - b.trial || position(a.engine) - position(b.engine),
  );
}

/**
 * A count is made once per engine or program (the job is deterministic); a second record for one
 * would be taken or dropped silently by whatever reads the first, so a folder with one is refused.
 */
function assertOneCountEach(runs: readonly RunRecord[], path: string): void {
  const seen = new Set<string>();
  for (const run of runs) {
    if (run.kind !== countsKind.name && run.kind !== externalCountsKind.name) continue;
    const key = `${run.kind} ${run.engine}`;
    if (seen.has(key)) throw new InputError(`${path}: two ${run.kind} records for ${JSON.stringify(run.engine)}`);
    seen.add(key);
  }
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
    // Folders written before these were measured have none.
    startupMs: z.number().nullable().default(null),
    userMs: z.number().nullable().default(null),
    systemMs: z.number().nullable().default(null),
    maxRssBytes: z.number().nullable().default(null),
    counts: processCountsSchema.nullable().default(null),
    output: z.string().optional(),
    lingering: z.array(z.string()).optional(),
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
