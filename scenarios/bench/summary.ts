/**
 * One results folder boiled down to one row per engine: what the report, summary.csv and the
 * terminal all show, computed once.
 */
import type { GradcheckResult } from '../gradcheck.ts';
import type { TrainResult } from '../train.ts';
import type { RunRecord } from './job-kind.ts';
import { gradcheckKind, trainKind } from './kinds/index.ts';
import { runsOf, type ResultsFolder } from './results.ts';

type TrainRun = RunRecord<TrainResult>;
type Faulted = Exclude<TrainRun, { status: 'ok' }>;

/** The engine every speedup is measured against. */
export const BASELINE = 'topo';

export interface Spread {
  readonly median: number;
  readonly min: number;
  readonly max: number;
}

export interface EngineSummary {
  readonly engine: string;
  readonly study: string;
  /** Timed trials planned per engine (env.json), and those that ran. */
  readonly plannedTrials: number;
  readonly trials: readonly TrainRun[];
  readonly okTrials: number;
  /** Training time (timingMs.total) over the ok trials. */
  readonly timeMs: Spread | null;
  /** Baseline median / this median; the range pairs the extremes: baseline min / this max … baseline max / this min. */
  readonly speedup: Spread | null;
  /**
   * The ok trial at the median time (the lower middle for an even count): its loss, graph size and
   * profile stand for the engine.
   */
  readonly typical: { trial: number; result: TrainResult } | null;
  /** The first run (warmup included) that failed or diverged. */
  readonly fault: Faulted | null;
  readonly gradcheck: RunRecord<GradcheckResult> | null;
}

export function summarize(folder: ResultsFolder): EngineSummary[] {
  const listed = folder.env.bench.engines;
  const names = [...new Set([...listed.map((e) => e.name), ...folder.runs.map((r) => r.engine)])];
  const trainRuns = runsOf(folder, trainKind);
  const checks = runsOf(folder, gradcheckKind);
  const rows = names.map((engine) => {
    const train = trainRuns.filter((r) => r.engine === engine);
    const trials = train.filter((r) => !r.warmup);
    const ok = trials.filter((r) => r.status === 'ok');
    const byTime = [...ok].sort((a, b) => a.result.timingMs.total - b.result.timingMs.total);
    const typical = byTime[(byTime.length - 1) >> 1];
    return {
      engine,
      study: listed.find((e) => e.name === engine)?.study ?? '',
      plannedTrials: folder.env.bench.trials,
      trials,
      okTrials: ok.length,
      timeMs: spread(ok.map((r) => r.result.timingMs.total)),
      typical: typical ? { trial: typical.trial, result: typical.result } : null,
      fault: train.find((r): r is Faulted => r.status !== 'ok') ?? null,
      gradcheck: checks.find((r) => r.engine === engine) ?? null,
    };
  });
  const base = rows.find((r) => r.engine === BASELINE)?.timeMs;
  return rows.map((r) => ({
    ...r,
    speedup:
      base && r.timeMs
        ? { median: base.median / r.timeMs.median, min: base.min / r.timeMs.max, max: base.max / r.timeMs.min }
        : null,
  }));
}

/** Median (the mean of the middle two for an even count), min and max; null for no values. */
export function spread(xs: readonly number[]): Spread | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return { median: s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2, min: s[0], max: s[s.length - 1] };
}

/** The engine's state in one phrase: "ok", "failed: …", "diverged at step 3 (…)", "2 of 3 trials (interrupted)". */
export function statusText(s: EngineSummary): string {
  if (s.fault) {
    const f = s.fault;
    const what = f.status === 'diverged' ? `diverged at step ${f.divergedAtStep} (${f.reason})` : `failed: ${f.reason}`;
    const where = f.warmup ? `warmup run ${f.trial}` : `trial ${f.trial}`;
    return s.okTrials > 0 || f.warmup ? `${where} ${what}` : what;
  }
  if (s.trials.length < s.plannedTrials) return `${s.okTrials} of ${s.plannedTrials} trials (interrupted)`;
  return 'ok';
}

/** The gradient check's one-line verdict, or why there is none. */
export function verdictText(s: EngineSummary): string {
  const g = s.gradcheck;
  if (!g) return 'not checked';
  return g.status === 'ok' ? g.result.verdict : `not checked: ${g.reason}`;
}
