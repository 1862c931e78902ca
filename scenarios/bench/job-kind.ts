/**
 * What a job kind is: a kind of isolated run bench:all schedules per engine (a training run, a
 * gradient check, …) or per external program (a run of it). One file per kind describes its result
 * (a schema, checked wherever a result crosses a process or file boundary), how many runs each
 * gets, optionally a per-run CSV and, for a kind run on engines, what its worker runs. The scheduler,
 * the executors, the results folder and the exporters know kinds only through this interface.
 */
import type { z } from 'zod';
import type { EngineInfo } from '../../engines/registry.ts';
import type { TrainConfig } from '../../workload/config.ts';
import type { Dataset } from '../../workload/dataset.ts';
import type { ProcessCounts } from './counts/callgrind.ts';

/** What a run is given, in its worker process. */
export interface JobInput {
  readonly engine: EngineInfo;
  readonly dataset: Dataset;
  readonly config: TrainConfig;
  /** A count run's steps before the counted ones (ChildJob.countSkip). */
  readonly countSkip?: number;
}

/** How a run reports while it works. `step` throws when the loss is not finite, ending the run as diverged. */
export interface JobProgress {
  start(steps: number): void;
  step(step: number, loss: number): void;
}

/** Runs per engine: untimed warm-up runs first, then the counted ones. */
export interface Rounds {
  readonly warmup: number;
  readonly trials: number;
}

export type Cell = string | number | boolean | null | undefined;
/** CSV columns: header → cell. */
export type Columns<T> = Readonly<Record<string, (row: T) => Cell>>;

/** A kind of run, as the scheduler, the results folder and the exporters see it. */
export interface RunKind<R> {
  /** The `kind` of its records in runs.jsonl. */
  readonly name: string;
  /** What one run is called in progress lines: "trial" (numbered) or "gradient check". */
  readonly runLabel: string;
  /** The result's schema: a result that does not fit is a failed run (from a worker) or a bad line (from a file). */
  readonly result: z.ZodType<R>;
  /** Runs per engine, given bench:all's --warmup and --trials. */
  rounds(plan: Rounds): Rounds;
  /** The run's outcome in a few words, for the line printed as it ends. */
  describe(result: R): string;
  /** A CSV with a row per run of this kind, written with the results folder. */
  readonly csv?: { readonly file: string; readonly columns: Columns<RunRecord<R>> };
}

/** A kind whose runs are this project's code on an engine, in a worker process. */
export interface JobKind<R> extends RunKind<R> {
  /**
   * The URL of the module the worker process imports and whose default export's `run` it calls: the
   * kind's own, or one holding the run alone (`defineRun`), which keeps the kind's schemas and zod,
   * a tenth of a second to load, out of every run's start-up.
   */
  readonly module: string;
  /** Runs in the worker process. */
  run(input: JobInput, progress: JobProgress): R | Promise<R>;
}

/** A kind's run alone, as the default export of the module its `module` names. */
export type KindRun<R> = Pick<JobKind<R>, 'run'>;

/** How a run ended, as a discriminated union (tinybench's TaskResult style): only `ok` has a result. */
export type RunOutcome<R> =
  | { status: 'ok'; result: R }
  | { status: 'failed'; reason: string }
  /** The loss turned NaN or infinite at `divergedAtStep`. */
  | { status: 'diverged'; reason: string; divergedAtStep: number };

/** What a run's whole process cost: the same footing for an engine's worker and an external program. */
export interface ProcessCost {
  /** Wall-clock time of the whole process, start-up included. */
  wallMs: number;
  /** From the process's start to its job's first step (module loading, dataset, model); null for external programs. */
  startupMs: number | null;
  /** CPU time of the process and its children, and the largest peak RSS among them; null unmeasured (no GNU time). */
  userMs: number | null;
  systemMs: number | null;
  maxRssBytes: number | null;
  /** What callgrind counted, for a run made under it (a count run); null for every other run. */
  counts: ProcessCounts | null;
}

/**
 * What a run's process printed (its first 4 KB: a worker's libraries' banners and warnings), kept in
 * its record and out of the tables; absent when it printed nothing.
 */
export interface Printed {
  output?: string;
}

/** One line of runs.jsonl. Warm-up runs are saved too but left out of every statistic. */
export type RunRecord<R = unknown> = {
  kind: string;
  engine: string;
  /** 1-based, counted separately for warm-up and counted runs. */
  trial: number;
  warmup: boolean;
  /** Processes it left running when it exited (killed then): `sleep 200 (pid 4242)`; absent when none. */
  lingering?: string[];
} & ProcessCost &
  Printed &
  RunOutcome<R>;

export function runsInWorker<R>(kind: RunKind<R>): kind is JobKind<R> {
  return 'module' in kind;
}

/** Identity, typed: lets a run's module declare it with its result type inferred. */
export function defineRun<R>(run: KindRun<R>): KindRun<R> {
  return run;
}

/** Identity, typed: lets a kind's file declare its object with its result type inferred. */
export function defineKind<R>(kind: JobKind<R>): JobKind<R> {
  return kind;
}
