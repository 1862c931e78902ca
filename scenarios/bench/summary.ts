/**
 * One results folder boiled down to one row per engine: what the report, summary.csv and the
 * terminal all show, computed once.
 */
import type { GradcheckResult } from '../gradcheck.ts';
import type { TrainResult } from '../train.ts';
import { externalVerdict, type ExternalVerdict } from './external/verdict.ts';
import type { ProcessCost, RunRecord } from './job-kind.ts';
import type { ExternalSpec } from './external/spec.ts';
import type { ExternalResult } from './kinds/external.ts';
import { externalKind, gradcheckKind, trainKind } from './kinds/index.ts';
import type { Reference } from './reference.ts';
import { runsOf, type ResultsFolder } from './results.ts';
import { spread, type Spread } from './spread.ts';

type TrainRun = RunRecord<TrainResult>;
type Timed = RunRecord<TrainResult> | RunRecord<ExternalResult>;
type Faulted = Exclude<Timed, { status: 'ok' }>;

/** The engine every speedup is measured against. */
export const BASELINE = 'topo';

/** Medians over the ok trials of what each whole process cost; null where nothing was measured. */
export type CostMedians = { readonly [K in Exclude<keyof ProcessCost, 'wallMs' | 'counts'>]: number | null };

/** An external program's row: its typical run and the verdict on its printed losses. */
export interface ExternalSummary {
  readonly command: readonly string[];
  readonly typical: { trial: number; result: ExternalResult } | null;
  readonly verdict: ExternalVerdict | null;
}

export interface EngineSummary {
  /** An engine's name, or an external program's. */
  readonly engine: string;
  readonly study: string;
  /** Timed trials planned per engine (env.json), and those that ran. */
  readonly plannedTrials: number;
  readonly trials: readonly Timed[];
  readonly okTrials: number;
  /** Training time (timingMs.total) over the ok trials; an external's only if it printed one every time. */
  readonly timeMs: Spread | null;
  /** Wall time of the whole process over the ok trials. */
  readonly wallMs: Spread | null;
  readonly cost: CostMedians;
  /**
   * Baseline median / this median; the range pairs the extremes: baseline min / this max … baseline
   * max / this min. Of training times between engines, of wall times when an external is involved.
   */
  readonly speedup: Spread | null;
  readonly speedupBasis: 'training' | 'wall';
  /** Set on an external program's row. */
  readonly external: ExternalSummary | null;
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
  const { engines: listed, externals } = folder.env.bench;
  const names = [
    ...new Set([...listed.map((e) => e.name), ...externals.map((e) => e.name), ...folder.runs.map((r) => r.engine)]),
  ];
  const trainRuns = runsOf(folder, trainKind);
  const externalRuns = runsOf(folder, externalKind);
  const checks = runsOf(folder, gradcheckKind);
  const rows = names.map((engine) => {
    const spec = externals.find((e) => e.name === engine);
    const timed: Timed[] = spec
      ? externalRuns.filter((r) => r.engine === engine)
      : trainRuns.filter((r) => r.engine === engine);
    const trials = timed.filter((r) => !r.warmup);
    const ok = trials.filter((r) => r.status === 'ok');
    const common = {
      engine,
      study: listed.find((e) => e.name === engine)?.study ?? '',
      plannedTrials: folder.env.bench.trials,
      trials,
      okTrials: ok.length,
      wallMs: spread(ok.map((r) => r.wallMs)),
      cost: costMedians(ok),
      fault: timed.find((r): r is Faulted => r.status !== 'ok') ?? null,
      gradcheck: checks.find((r) => r.engine === engine) ?? null,
    };
    return { ...common, ...(spec ? externalFigures(ok as OkExternal[], spec) : engineFigures(ok as OkTrain[])) };
  });
  const base = rows.find((r) => r.engine === BASELINE);
  const reference = base?.typical ? topoReference(base.typical, folder.reference) : folder.reference;
  return rows.map(({ external, ...r }) => {
    // Training time between engines; wall time once an external is involved, the only time both have.
    const [b, t] = external ? [base?.wallMs, r.wallMs] : [base?.timeMs, r.timeMs];
    return {
      ...r,
      speedupBasis: external ? 'wall' : 'training',
      speedup: b && t ? { median: b.median / t.median, min: b.min / t.max, max: b.max / t.min } : null,
      external: external && {
        command: external.command,
        typical: external.typical,
        verdict:
          external.typical &&
          externalVerdict(
            external.typical.result,
            { config: folder.env.config, fixedJob: external.fixedJob, precision: external.precision },
            reference,
          ),
      },
    };
  });
}

type OkTrain = Extract<TrainRun, { status: 'ok' }>;
type OkExternal = Extract<RunRecord<ExternalResult>, { status: 'ok' }>;

/** The run at the median of `by` (the lower middle for an even count). */
function middle<T>(runs: readonly T[], by: (r: T) => number): T | undefined {
  const sorted = [...runs].sort((a, b) => by(a) - by(b));
  return sorted[(sorted.length - 1) >> 1];
}

/** An engine's training time; the trial at the median time stands for it. */
function engineFigures(ok: readonly OkTrain[]) {
  const typical = middle(ok, (r) => r.result.timingMs.total);
  return {
    timeMs: spread(ok.map((r) => r.result.timingMs.total)),
    typical: typical ? { trial: typical.trial, result: typical.result } : null,
    external: null,
  };
}

/** An external's training time, if it printed one every time; the trial at the median wall time stands for it. */
function externalFigures(ok: readonly OkExternal[], spec: ExternalSpec) {
  const typical = middle(ok, (r) => r.wallMs);
  const printed = ok.map((r) => r.result.trainingMs);
  return {
    timeMs: printed.every((t) => t !== null) ? spread(printed as number[]) : null,
    typical: null,
    external: {
      command: spec.command,
      typical: typical ? { trial: typical.trial, result: typical.result } : null,
      fixedJob: spec.fixedJob,
      precision: spec.precision,
    },
  };
}

/** The baseline's typical trial, the reference itself, settles every printed digit. */
function topoReference(
  { trial, result }: { trial: number; result: TrainResult },
  fallback: Reference | null,
): Reference {
  return {
    against: `${result.engine}'s trial ${trial}`,
    losses: result.losses,
    samples: result.samples,
    decimals: Infinity,
    float32Spread: fallback?.float32Spread ?? null,
    vocabSize: result.vocabSize,
  };
}

function costMedians(ok: readonly Timed[]): CostMedians {
  const median = (pick: (r: Timed) => number | null) => {
    const xs = ok.map(pick).filter((x): x is number => x !== null);
    return spread(xs)?.median ?? null;
  };
  return {
    startupMs: median((r) => r.startupMs),
    userMs: median((r) => r.userMs),
    systemMs: median((r) => r.systemMs),
    maxRssBytes: median((r) => r.maxRssBytes),
  };
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

/** The gradient check's one-line verdict, or why there is none; for an external, the verdict on its losses. */
export function verdictText(s: EngineSummary): string {
  if (s.external) return s.external.verdict?.text ?? 'not checked: no successful run';
  const g = s.gradcheck;
  if (!g) return 'not checked';
  return g.status === 'ok' ? g.result.verdict : `not checked: ${g.reason}`;
}
