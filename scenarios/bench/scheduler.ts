/**
 * The order of a comparison run's isolated runs, independent of how a run is carried out. For each
 * job kind in turn, runs go round-robin (round 1 of every engine and of every external program run
 * alongside, then round 2, …), so a noisy
 * machine's slow spell is shared out instead of landing on one engine; warm-up rounds come first.
 * An engine whose run fails or diverges sits out its remaining runs of that kind (the job is
 * deterministic, so they would end the same way, possibly only after a long timeout), but still
 * gets its runs of the next kinds. The executor is a parameter, as hyperfine's `Executor`: the
 * process executor runs each in a fresh Node process; tests pass a fake one.
 */
import type { Printed, ProcessCost, Rounds, RunKind, RunOutcome, RunRecord } from './job-kind.ts';
import type { AnyKind } from './kinds/index.ts';
import { UNMEASURED } from './resource-meter.ts';

/** Progress a running job reports. */
export type Progress = { type: 'start'; steps: number } | { type: 'step'; step: number; loss: number };

/** One run to carry out. */
export interface Task<R> {
  readonly kind: RunKind<R>;
  readonly engine: string;
  readonly trial: number;
  readonly warmup: boolean;
}

export interface ExecuteOptions {
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
  readonly onProgress?: (progress: Progress) => void;
}

/**
 * A finished run with its wall time and whatever else of its cost the executor measured, or
 * `interrupted` (stopped by the caller's signal: nothing to record).
 */
export type Executed<R> =
  | (RunOutcome<R> & Pick<ProcessCost, 'wallMs'> & Partial<ProcessCost> & Printed & { lingering?: string[] })
  | { status: 'interrupted' };

const UNKNOWN_COST = { startupMs: null, ...UNMEASURED };

export type Executor = <R>(task: Task<R>, opts: ExecuteOptions) => Promise<Executed<R>>;

/** Runs of another kind that go round-robin within a kind's rounds: external programs beside the training trials. */
export interface Alongside {
  readonly with: AnyKind;
  readonly kind: AnyKind;
  readonly names: readonly string[];
}

export interface SchedulePlan extends Rounds {
  readonly engines: readonly string[];
  readonly kinds: readonly AnyKind[];
  readonly alongside?: readonly Alongside[];
  readonly timeoutMs: number;
  /** Which runs this process carries out (default all): a sweep's shard takes its share. */
  readonly include?: (task: Task<unknown>) => boolean;
  /**
   * Runs of one round carried out at once (default 1). Only for runs whose figures the machine's load
   * cannot change (counts); a round's runs never depend on each other, as sit-outs act from the next.
   */
  readonly concurrency?: number;
}

export interface ScheduleHooks {
  onProgress?(task: Task<unknown>, progress: Progress): void;
  /** Each finished run, as it ends: the place to save it. */
  onRunEnd?(task: Task<unknown>, record: RunRecord): void;
}

/** The runs of one kind, in the order they are attempted (sit-outs are decided as they go). */
export function roundsOf(kind: AnyKind, plan: Rounds): { trial: number; warmup: boolean }[] {
  const { warmup, trials } = kind.rounds(plan);
  return [
    ...Array.from({ length: warmup }, (_, i) => ({ trial: i + 1, warmup: true })),
    ...Array.from({ length: trials }, (_, i) => ({ trial: i + 1, warmup: false })),
  ];
}

export async function schedule(
  plan: SchedulePlan,
  execute: Executor,
  hooks: ScheduleHooks = {},
  signal?: AbortSignal,
): Promise<'completed' | 'interrupted'> {
  for (const kind of plan.kinds) {
    const lanes = [{ kind, names: plan.engines }, ...(plan.alongside ?? []).filter((a) => a.with === kind)];
    const sittingOut = new Set<string>();
    for (const { trial, warmup } of roundsOf(kind, plan)) {
      const round = lanes.flatMap((lane) =>
        lane.names
          .filter((engine) => !sittingOut.has(engine))
          .map((engine): Task<unknown> => ({ kind: lane.kind, engine, trial, warmup }))
          .filter((task) => !plan.include || plan.include(task)),
      );
      const run = async (task: Task<unknown>): Promise<boolean> => {
        if (signal?.aborted) return false;
        const outcome = await execute(task, {
          timeoutMs: plan.timeoutMs,
          signal,
          onProgress: (p) => hooks.onProgress?.(task, p),
        });
        if (outcome.status === 'interrupted') return false;
        const record: RunRecord = {
          kind: task.kind.name,
          engine: task.engine,
          trial,
          warmup,
          ...UNKNOWN_COST,
          ...outcome,
        };
        hooks.onRunEnd?.(task, record);
        if (record.status !== 'ok') sittingOut.add(task.engine);
        return true;
      };
      if (!(await inPool(round, plan.concurrency ?? 1, run))) return 'interrupted';
    }
  }
  return 'completed';
}

/** `run` over the tasks in order, at most `width` at once; false once a run was stopped (the rest are not started). */
async function inPool<T>(tasks: readonly T[], width: number, run: (task: T) => Promise<boolean>): Promise<boolean> {
  let next = 0;
  let completed = true;
  const lane = async () => {
    while (completed && next < tasks.length) completed = (await run(tasks[next++])) && completed;
  };
  await Promise.all(Array.from({ length: Math.min(width, tasks.length) }, lane));
  return completed;
}
