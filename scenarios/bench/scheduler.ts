/**
 * The order of a comparison run's isolated runs, independent of how a run is carried out. For each
 * job kind in turn, runs go round-robin (round 1 of every engine, then round 2, …), so a noisy
 * machine's slow spell is shared out instead of landing on one engine; warm-up rounds come first.
 * An engine whose run fails or diverges sits out its remaining runs of that kind (the job is
 * deterministic, so they would end the same way, possibly only after a long timeout), but still
 * gets its runs of the next kinds. The executor is a parameter, as hyperfine's `Executor`: the
 * process executor runs each in a fresh Node process; tests pass a fake one.
 */
import type { JobKind, Rounds, RunOutcome, RunRecord } from './job-kind.ts';
import type { AnyKind } from './kinds/index.ts';

/** Progress a running job reports. */
export type Progress = { type: 'start'; steps: number } | { type: 'step'; step: number; loss: number };

/** One run to carry out. */
export interface Task<R> {
  readonly kind: JobKind<R>;
  readonly engine: string;
  readonly trial: number;
  readonly warmup: boolean;
}

export interface ExecuteOptions {
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
  readonly onProgress?: (progress: Progress) => void;
}

/** A finished run with its wall time, or `interrupted` (stopped by the caller's signal: nothing to record). */
export type Executed<R> = (RunOutcome<R> & { wallMs: number }) | { status: 'interrupted' };

export type Executor = <R>(task: Task<R>, opts: ExecuteOptions) => Promise<Executed<R>>;

export interface SchedulePlan extends Rounds {
  readonly engines: readonly string[];
  readonly kinds: readonly AnyKind[];
  readonly timeoutMs: number;
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
    const sittingOut = new Set<string>();
    for (const { trial, warmup } of roundsOf(kind, plan)) {
      for (const engine of plan.engines) {
        if (sittingOut.has(engine)) continue;
        const task: Task<unknown> = { kind, engine, trial, warmup };
        if (signal?.aborted) return 'interrupted';
        const outcome = await execute(task, {
          timeoutMs: plan.timeoutMs,
          signal,
          onProgress: (p) => hooks.onProgress?.(task, p),
        });
        if (outcome.status === 'interrupted') return 'interrupted';
        const record: RunRecord = { kind: kind.name, engine, trial, warmup, ...outcome };
        hooks.onRunEnd?.(task, record);
        if (record.status !== 'ok') sittingOut.add(engine);
      }
    }
  }
  return 'completed';
}
