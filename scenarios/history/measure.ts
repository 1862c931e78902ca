/**
 * One commit measured by today's harness: its engines' count runs (and timed trials, if asked) in a
 * results folder of its own, `<out>/<commit>/`, as bench:all writes one (env.json, runs.jsonl), plus
 * history.json: what was measured, under which key, and the figures. A commit measured before under
 * the same key (job, options, harness) is read back, not measured again. The folder is written under
 * a temporary name and renamed into place once complete, so an interrupted walk leaves no half folder.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { z } from 'zod';
import type { TrainConfig } from '../../workload/config.ts';
import type { Dataset } from '../../workload/dataset.ts';
import { captureEnv } from '../bench/env.ts';
import { CALLGRIND_OPTIONS, countJob, DETERMINISTIC_NODE_FLAGS, valgrindVersion } from '../bench/counts/callgrind.ts';
import { countExecutor } from '../bench/counts/executor.ts';
import { countsRowOf } from '../bench/counts/rows.ts';
import { countsKind, trainKind } from '../bench/kinds/index.ts';
import { processExecutor } from '../bench/process-executor.ts';
import { resourceMeter } from '../bench/resource-meter.ts';
import { appendRun, prepareResultsDir, readResultsFolder, startResults } from '../bench/results.ts';
import { schedule, type ScheduleHooks } from '../bench/scheduler.ts';
import { statusText, summarize } from '../bench/summary.ts';
import type { WorkerBuild } from '../bench/worker-build.ts';
import { writeFileAtomic } from '../files.ts';
import type { CommitEngines } from './checkout.ts';
import type { CommitInfo } from './git.ts';

/** Bumped when what a history folder holds, or how a commit's engines are made loadable, changes. */
const HISTORY_FORMAT = 2;
export const HISTORY_FILE = 'history.json';

/** The job and options every commit of a walk is measured with. */
export interface MeasureSetup {
  readonly config: TrainConfig;
  readonly dataset: Dataset;
  readonly dataPath: string | null;
  /** The count job's steps, or null for no counts (timed trials only). */
  readonly countSteps: number | null;
  /** Timed trials per engine (0: counts only). */
  readonly trials: number;
  readonly timeoutSeconds: number;
  /** The engines asked for, or null for every engine a commit has. */
  readonly engines: readonly string[] | null;
  /** What the engines come from: 'harness', or the plugin repository and module. */
  readonly source: string;
  readonly worker: WorkerBuild;
}

/** One engine at one commit: its figures, or why it has none. */
export interface EngineFigures {
  readonly engine: string;
  readonly status: 'ok' | 'failed';
  readonly reason: string | null;
  readonly instructionsPerStep: number | null;
  readonly cyclesPerStep: number | null;
  /** Median training time of the timed trials (ms), when there were some. */
  readonly timeMs: number | null;
}

/** history.json: one commit as measured. A commit whose engines did not build or load has `failure` and no engines. */
export interface CommitRecord extends CommitInfo {
  readonly key: string;
  /** The engines asked for when it was measured, or null for all the commit had. */
  readonly wanted: readonly string[] | null;
  readonly measuredAt: string;
  /** The engines' bundle's content hash (null when none was built). */
  readonly bundle: string | null;
  /** The commit whose figures these are, when this commit's bundle was the same byte for byte. */
  readonly sameAs: string | null;
  readonly failure: string | null;
  readonly engines: readonly EngineFigures[];
}

const figuresSchema = z.object({
  engine: z.string(),
  status: z.enum(['ok', 'failed']),
  reason: z.string().nullable(),
  instructionsPerStep: z.number().nullable(),
  cyclesPerStep: z.number().nullable(),
  timeMs: z.number().nullable(),
});
const recordSchema = z.object({
  commit: z.string(),
  date: z.string(),
  subject: z.string(),
  key: z.string(),
  wanted: z.array(z.string()).nullable(),
  measuredAt: z.string(),
  bundle: z.string().nullable(),
  sameAs: z.string().nullable(),
  failure: z.string().nullable(),
  engines: z.array(figuresSchema),
});

/**
 * What must match for an earlier measurement to stand: the job, the options, the engines' source,
 * and the harness (its compiled worker's content hash, Node, valgrind and how it counts).
 */
export function measureKey(s: MeasureSetup): string {
  const harness = /worker-([0-9a-f]+)/.exec(s.worker.script)?.[1] ?? s.worker.script;
  const fields = {
    format: HISTORY_FORMAT,
    harness,
    node: process.version,
    valgrind: s.countSteps === null ? null : valgrindVersion(),
    callgrind: CALLGRIND_OPTIONS,
    nodeFlags: DETERMINISTIC_NODE_FLAGS,
    config: s.config,
    dataset: s.dataset.sha256,
    countSteps: s.countSteps === null ? null : countJob(s.config, s.countSteps).steps,
    trials: s.trials,
    source: s.source,
  };
  return createHash('sha256').update(JSON.stringify(fields)).digest('hex').slice(0, 16);
}

/**
 * The commit's record under `key` in `dir` that holds every engine asked for (`wanted`, null: all),
 * cut to those; null when it has none, one made otherwise, or one of fewer engines.
 */
export function readRecord(dir: string, key: string, wanted: readonly string[] | null): CommitRecord | null {
  const path = join(dir, HISTORY_FILE);
  if (!existsSync(path)) return null;
  let record: CommitRecord;
  try {
    record = recordSchema.parse(JSON.parse(readFileSync(path, 'utf8')));
  } catch {
    return null;
  }
  if (record.key !== key) return null;
  if (record.wanted === null) return wanted === null ? record : cut(record, wanted);
  if (wanted === null || !wanted.every((e) => record.wanted!.includes(e))) return null;
  return cut(record, wanted);
}

function cut(record: CommitRecord, wanted: readonly string[]): CommitRecord {
  return { ...record, engines: record.engines.filter((e) => wanted.includes(e.engine)) };
}

/** Replaces `dir` by a folder made whole under a temporary name, its record written last. */
function settle(tmp: string, dir: string, record: CommitRecord): CommitRecord {
  writeFileAtomic(join(tmp, HISTORY_FILE), JSON.stringify(record, null, 2) + '\n');
  rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir);
  return record;
}

function tempFolder(dir: string): string {
  const tmp = join(dirname(dir), `.partial-${basename(dir)}-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  return tmp;
}

/** Records a commit whose engines could not be made to run: a failed row, kept like a measured one. */
export function recordFailure(
  dir: string,
  info: CommitInfo,
  key: string,
  wanted: readonly string[] | null,
  failure: string,
): CommitRecord {
  const tmp = tempFolder(dir);
  prepareResultsDir(tmp);
  const record = { ...info, key, wanted, measuredAt: now(), bundle: null, sameAs: null, failure, engines: [] };
  return settle(tmp, dir, record);
}

const now = () => new Date().toISOString();

/**
 * A commit whose engines bundle is byte for byte one measured already: the same code on the same
 * harness counts the same (within the A/A spread), so its figures are that commit's, said so.
 */
export function recordSame(dir: string, info: CommitInfo, bundle: string, same: CommitRecord): CommitRecord {
  const tmp = tempFolder(dir);
  prepareResultsDir(tmp);
  const { key, wanted, engines } = same;
  return settle(tmp, dir, {
    ...info,
    key,
    wanted,
    measuredAt: now(),
    bundle,
    sameAs: same.commit,
    failure: null,
    engines,
  });
}

/** A commit measured (not copied) under `key` from the same bundle, every engine asked for ok; or null. */
export function findByBundle(
  out: string,
  key: string,
  wanted: readonly string[] | null,
  bundle: string,
): CommitRecord | null {
  if (!existsSync(out)) return null;
  for (const name of readdirSync(out)) {
    if (!/^[0-9a-f]{40,64}$/.test(name)) continue;
    const r = readRecord(join(out, name), key, wanted);
    if (r && r.bundle === bundle && r.sameAs === null && isWhole(r)) return r;
  }
  return null;
}

/** Every engine measured well. */
export function isWhole(r: CommitRecord): boolean {
  return r.failure === null && r.engines.length > 0 && r.engines.every((e) => e.status === 'ok');
}

/**
 * Measures a commit's engines into `dir`: timed trials first (if any), then one count run per engine.
 * Returns null when stopped by `signal` (nothing is left behind).
 */
export async function measureCommit(
  dir: string,
  info: CommitInfo,
  key: string,
  s: MeasureSetup,
  loaded: CommitEngines,
  missing: readonly string[],
  signal: AbortSignal,
): Promise<CommitRecord | null> {
  const tmp = tempFolder(dir);
  prepareResultsDir(tmp);
  const infos = loaded.engines.map((e) => e.info);
  const setup = {
    engines: infos,
    trials: s.trials,
    warmup: 0,
    timeoutSeconds: s.timeoutSeconds,
    externals: [],
    config: s.config,
    dataset: s.dataset,
    args: [`history of ${s.source} at ${info.commit}`],
    enginesModule: loaded.bundle,
    countSteps: s.countSteps,
    // A history counts from the first step: its commits are compared with each other, window alike.
    countSkip: 0,
  };
  startResults(tmp, captureEnv(setup));
  if (!(await runAll(tmp, s, loaded, signal))) {
    rmSync(tmp, { recursive: true, force: true });
    return null;
  }
  const folder = readResultsFolder(tmp);
  const summaries = summarize(folder);
  const engines: EngineFigures[] = loaded.engines.map(({ info: { name }, display }) => {
    const timed = summaries.find((x) => x.engine === name);
    const counts = s.countSteps === null ? null : countsRowOf(folder, name);
    const timeMs = timed?.timeMs?.median ?? null;
    const reason =
      counts?.fault ?? (s.trials > 0 && timeMs === null ? (timed ? statusText(timed) : 'no trial ran') : null);
    return {
      engine: display,
      status: reason === null ? 'ok' : 'failed',
      reason,
      instructionsPerStep: counts?.perStep?.instructions ?? null,
      cyclesPerStep: counts?.perStep?.estimatedCycles ?? null,
      timeMs,
    };
  });
  for (const engine of missing) engines.push({ engine, status: 'failed', reason: 'not at this commit', ...NO_FIGURES });
  const bundle = loaded.bundleHash;
  const record = { ...info, key, wanted: s.engines, measuredAt: now(), bundle, sameAs: null, failure: null, engines };
  return settle(tmp, dir, record);
}

/** The timed trials (if any), then the count runs (if any), each saved as it ends; false when stopped. */
async function runAll(dir: string, s: MeasureSetup, loaded: CommitEngines, signal: AbortSignal): Promise<boolean> {
  const names = loaded.engines.map((e) => e.info.name);
  if (names.length === 0) return true;
  const hooks: ScheduleHooks = { onRunEnd: (_task, record) => appendRun(dir, record) };
  const job = { dataPath: s.dataPath, config: s.config, enginesModule: loaded.bundle };
  const plan = { engines: names, trials: s.trials, warmup: 0, timeoutMs: s.timeoutSeconds * 1000 };
  if (s.trials > 0) {
    const meter = resourceMeter();
    const timed = processExecutor(job, { worker: s.worker, meter });
    const ended = await schedule({ ...plan, kinds: [trainKind] }, timed, hooks, signal);
    meter?.dispose();
    if (ended !== 'completed') return false;
  }
  if (s.countSteps === null) return true;
  const config = countJob(s.config, s.countSteps);
  const counter = countExecutor({ ...job, config, countSkip: 0, externals: [], externalDataPath: '' }, s.worker);
  const ended = await schedule({ ...plan, kinds: [countsKind] }, counter.execute, hooks, signal);
  counter.dispose();
  return ended === 'completed';
}

const NO_FIGURES = { instructionsPerStep: null, cyclesPerStep: null, timeMs: null } as const;
