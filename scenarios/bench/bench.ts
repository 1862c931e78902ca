/**
 * The comparison run: every engine's training job, `trials` times each in fresh processes, then
 * every engine's gradient check. Trials go round-robin (trial 1 of every engine, then trial 2, …)
 * so a noisy machine's slow spell is shared out instead of landing on one engine.
 */
import type { TrainConfig } from '../../workload/config.ts';
import { runChild, type Progress, type RunOutcome } from './runner.ts';
import { appendRun, type GradcheckRun, type RunRecord, type TrainRun } from './results.ts';

export interface BenchPlan {
  readonly engines: readonly string[];
  readonly trials: number;
  readonly warmup: number;
  readonly timeoutMs: number;
  /** The dataset file, or null for the embedded list. */
  readonly dataPath: string | null;
  readonly config: TrainConfig;
}

/** Which run is under way, for progress displays. */
export interface RunLabel {
  readonly kind: 'train' | 'gradcheck';
  readonly engine: string;
  readonly trial: number;
  readonly warmup: boolean;
}

export interface BenchHooks {
  onProgress?(label: RunLabel, progress: Progress): void;
  onRunEnd?(label: RunLabel, record: RunRecord): void;
}

/**
 * Runs the plan, appending each finished run to `dir`'s runs.jsonl at once. An engine whose run
 * fails or diverges sits out its remaining trials (the job is deterministic, so they would end the
 * same way, possibly only after a long timeout), but still gets its gradient check.
 */
export async function runBench(
  plan: BenchPlan,
  dir: string,
  hooks: BenchHooks,
  signal?: AbortSignal,
): Promise<'completed' | 'interrupted'> {
  const benched = new Set<string>();
  const rounds = [
    ...Array.from({ length: plan.warmup }, (_, i) => ({ trial: i + 1, warmup: true })),
    ...Array.from({ length: plan.trials }, (_, i) => ({ trial: i + 1, warmup: false })),
  ];
  const attempt = async (label: RunLabel, toRecord: (outcome: Finished) => RunRecord) => {
    const outcome = await runChild(
      { kind: label.kind, engine: label.engine, dataPath: plan.dataPath, config: plan.config },
      { timeoutMs: plan.timeoutMs, signal, onProgress: (p) => hooks.onProgress?.(label, p) },
    );
    if (outcome.status === 'interrupted') return false;
    const record = toRecord(outcome);
    appendRun(dir, record);
    hooks.onRunEnd?.(label, record);
    if (record.status !== 'ok') benched.add(label.engine);
    return true;
  };

  for (const { trial, warmup } of rounds) {
    for (const engine of plan.engines) {
      if (benched.has(engine)) continue;
      if (!(await attempt({ kind: 'train', engine, trial, warmup }, (o) => trainRecord(engine, trial, warmup, o))))
        return 'interrupted';
    }
  }
  for (const engine of plan.engines) {
    if (!(await attempt({ kind: 'gradcheck', engine, trial: 1, warmup: false }, (o) => gradcheckRecord(engine, o))))
      return 'interrupted';
  }
  return 'completed';
}

type Finished = Exclude<RunOutcome, { status: 'interrupted' }>;

function trainRecord(engine: string, trial: number, warmup: boolean, o: Finished): TrainRun {
  const head = { kind: 'train', engine, trial, warmup } as const;
  switch (o.status) {
    case 'ok':
      return { ...head, status: 'ok', wallMs: o.wallMs, result: o.result as TrainRun['result'] };
    case 'diverged':
      return { ...head, status: 'diverged', reason: o.reason, divergedAtStep: o.step, wallMs: o.wallMs };
    case 'failed':
      return { ...head, status: 'failed', reason: o.reason, wallMs: o.wallMs };
  }
}

function gradcheckRecord(engine: string, o: Finished): GradcheckRun {
  const head = { kind: 'gradcheck', engine } as const;
  if (o.status === 'ok') return { ...head, status: 'ok', wallMs: o.wallMs, result: o.result as GradcheckRun['result'] };
  return { ...head, status: 'failed', reason: o.reason, wallMs: o.wallMs };
}
