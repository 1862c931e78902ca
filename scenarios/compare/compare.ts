/**
 * Two results folders of the same job, engine by engine: did the training time change beyond the
 * noise, with what confidence, and did anything that should not change (the losses, the gradient
 * verdict) change?
 */
import { isDeepStrictEqual } from 'node:util';
import type { TrainConfig } from '../../workload/config.ts';
import type { GradcheckResult } from '../gradcheck.ts';
import type { RunKind, RunRecord } from '../bench/job-kind.ts';
import { externalKind, gradcheckKind, trainKind } from '../bench/kinds/index.ts';
import { runsOf, type ResultsFolder } from '../bench/results.ts';
import { spread } from '../bench/spread.ts';
import { summarize } from '../bench/summary.ts';
import { InputError } from '../../engines/input-error.ts';
import { countsChange, countsSetupText, type CountsChange, type CountsOutcome } from './counts.ts';
import { coefficientOfVariation, hodgesLehmann, mannWhitneyP, trialsNeeded } from './rank-stats.ts';

export interface CompareOptions {
  /** A change smaller than this fraction (0.02 = 2%) counts as no change. */
  readonly threshold: number;
  /** Of the interval of the time ratio (0.95). */
  readonly confidence: number;
}

export type TimeVerdict = 'faster' | 'slower' | 'no change' | 'not significant' | 'too few trials';

/** Above this coefficient of variation a side's timings are too noisy to trust, as pyperf warns. */
export const UNSTABLE_CV = 0.1;

/** pyperf's advice, with the spread that prompted it. */
export function unstableWarning(what: string, cv: number): string {
  return `${what}: CV ${(100 * cv).toFixed(0)}%; run more trials or quiet the machine`;
}

export interface EngineChange {
  /** An engine's name, or an external program's. */
  readonly engine: string;
  /**
   * The times compared: training time between engines; for a program, the training time it printed
   * when every trial on both sides printed one, its wall time otherwise.
   */
  readonly basis: 'training' | 'wall';
  readonly baseTrials: number;
  readonly newTrials: number;
  readonly baseMedianMs: number | null;
  readonly newMedianMs: number | null;
  /** New time / base time: the Hodges–Lehmann estimate on log times, and its interval. */
  readonly ratio: number | null;
  readonly ratioLow: number | null;
  readonly ratioHigh: number | null;
  readonly p: number | null;
  readonly verdict: TimeVerdict;
  /** Why the verdict, in a phrase ("need 4 trials on each side for a 95% interval"). */
  readonly note: string;
  /**
   * The largest |new loss − base loss| over the steps, and the first step that differs; null when
   * equal. A program's losses are those it printed, compared as printed.
   */
  readonly losses: { readonly maxDiff: number; readonly firstStep: number } | null;
  /** The gradient check's verdict (pass, FAIL, not checked); a program's loss verdict (reproduces, differs, …). */
  readonly gradient: { readonly base: string; readonly new: string; readonly regressed: boolean };
  readonly cv: { readonly base: number | null; readonly new: number | null };
  /** The change of the counts, when both folders counted the engine alike; it then decides. */
  readonly counts: CountsChange | null;
  /** Why there is no count verdict though a folder counted ("no count run in NEW"); null otherwise. */
  readonly countsNote: string | null;
  /** Both folders counted alike, but this engine's counts are missing, failed or unlike on one side. */
  readonly countsUnverified: boolean;
  /**
   * Slower beyond the threshold (by its counts when there are counts, else by its times with
   * confidence), losses changed, the gradient check went from pass to FAIL, or both folders
   * counted alike and this engine's counts are missing, failed or unlike on one side only.
   */
  readonly regression: boolean;
}

export interface Comparison {
  readonly base: string;
  readonly new: string;
  readonly options: CompareOptions;
  readonly warnings: readonly string[];
  readonly engines: readonly EngineChange[];
}

/** A results folder, or a bench about to run, as far as its job goes. */
export interface JobOf {
  readonly dir: string;
  readonly env: { readonly dataset: { readonly sha256: string }; readonly config: TrainConfig };
}

/** The job both folders must have run: a different one makes every figure meaningless. */
export function assertSameJob(base: JobOf, next: JobOf): void {
  const [a, b] = [base.env, next.env];
  const differs = (what: string, x: unknown, y: unknown) =>
    new InputError(`${base.dir} and ${next.dir} ran different jobs: ${what} ${String(x)} vs ${String(y)}`);
  if (a.dataset.sha256 !== b.dataset.sha256) throw differs('dataset sha256', a.dataset.sha256, b.dataset.sha256);
  for (const key of Object.keys(a.config) as (keyof typeof a.config)[]) {
    if (a.config[key] !== b.config[key]) throw differs(key, a.config[key], b.config[key]);
  }
}

/** Differences that do not forbid the comparison but weaken it, one line each. */
function environmentWarnings(base: ResultsFolder, next: ResultsFolder): string[] {
  const out: string[] = [];
  const [a, b] = [base.env, next.env];
  if (a.machine !== b.machine) out.push(`different machines: ${a.machine} vs ${b.machine}`);
  if (a.node !== b.node) out.push(`different Node versions: ${a.node} vs ${b.node}`);
  if (!isDeepStrictEqual(a.cpu, b.cpu)) out.push(`different CPUs: ${a.cpu.model} vs ${b.cpu.model}`);
  const [ca, cb] = [a.bench.counts, b.bench.counts];
  if (ca && cb && !isDeepStrictEqual(ca, cb))
    out.push(`counts made differently (${countsSetupText(ca)} vs ${countsSetupText(cb)}): not compared`);
  return out;
}

export function compareFolders(base: ResultsFolder, next: ResultsFolder, options: CompareOptions): Comparison {
  assertSameJob(base, next);
  const engines = [
    ...inBoth(base, next, trainKind).map((engine) => compareEngine(engine, base, next, options)),
    ...inBoth(base, next, externalKind).map((program) => compareProgram(program, base, next, options)),
  ];
  const unstable = engines.flatMap((e) =>
    (['base', 'new'] as const).flatMap((side) => {
      const cv = e.cv[side];
      if (cv === null || cv <= UNSTABLE_CV) return [];
      return [unstableWarning(`${e.engine}: unstable in ${side === 'base' ? 'BASE' : 'NEW'}`, cv)];
    }),
  );
  return {
    base: base.dir,
    new: next.dir,
    options,
    warnings: [...environmentWarnings(base, next), ...unstable],
    engines,
  };
}

/** The engines (or programs) both folders ran, in BASE's order. */
function inBoth<R>(base: ResultsFolder, next: ResultsFolder, kind: RunKind<R>): string[] {
  const names = (f: ResultsFolder) => new Set(runsOf(f, kind).map((r) => r.engine));
  return [...names(base)].filter((e) => names(next).has(e));
}

type Ok<R> = Extract<RunRecord<R>, { status: 'ok' }>;

function okTrials<R>(folder: ResultsFolder, kind: RunKind<R>, engine: string): Ok<R>[] {
  return runsOf(folder, kind).filter((r): r is Ok<R> => r.engine === engine && !r.warmup && r.status === 'ok');
}

function compareEngine(engine: string, base: ResultsFolder, next: ResultsFolder, o: CompareOptions): EngineChange {
  const [b, n] = [okTrials(base, trainKind, engine), okTrials(next, trainKind, engine)];
  const [bt, nt] = [b, n].map((trials) => trials.map((r) => r.result.timingMs.total));
  const losses = lossChange(b[0]?.result.losses, n[0]?.result.losses);
  const gradient = gradientChange(verdictOf(base, engine), verdictOf(next, engine));
  const counts = countsChange(engine, base, next, o.threshold, 'engine');
  return change(engine, 'training', bt, nt, losses, gradient, counts, o);
}

/** A program: its printed training times when both sides have them all, else its wall times; its printed losses. */
function compareProgram(program: string, base: ResultsFolder, next: ResultsFolder, o: CompareOptions): EngineChange {
  const [b, n] = [okTrials(base, externalKind, program), okTrials(next, externalKind, program)];
  const printed = [...b, ...n].every((r) => r.result.trainingMs !== null);
  const times = (trials: typeof b) => trials.map((r) => (printed ? r.result.trainingMs! : r.wallMs));
  const asNumbers = (trials: typeof b) => trials[0]?.result.losses.map((l) => Number(l.loss));
  const losses = lossChange(asNumbers(b), asNumbers(n));
  const gradient = programVerdictChange(base, next, program);
  const counts = countsChange(program, base, next, o.threshold, 'program');
  return change(program, printed ? 'training' : 'wall', times(b), times(n), losses, gradient, counts, o);
}

function change(
  engine: string,
  basis: EngineChange['basis'],
  bt: number[],
  nt: number[],
  losses: EngineChange['losses'],
  gradient: EngineChange['gradient'],
  counts: CountsOutcome,
  o: CompareOptions,
): EngineChange {
  const time = timeChange(nt, bt, o);
  const cv = (xs: number[]) => (xs.length >= 2 ? coefficientOfVariation(xs) : null);
  const slower = counts.change ? counts.change.verdict === 'slower' : time.verdict === 'slower';
  return {
    engine,
    basis,
    baseTrials: bt.length,
    newTrials: nt.length,
    baseMedianMs: spread(bt)?.median ?? null,
    newMedianMs: spread(nt)?.median ?? null,
    ...time,
    losses,
    gradient,
    cv: { base: cv(bt), new: cv(nt) },
    counts: counts.change,
    countsNote: counts.note,
    countsUnverified: counts.unverified,
    regression: slower || counts.unverified || losses !== null || gradient.regressed,
  };
}

type TimeFields = Pick<EngineChange, 'ratio' | 'ratioLow' | 'ratioHigh' | 'p' | 'verdict' | 'note'>;

/**
 * The verdict from the interval of new/base: inside ±threshold is no change; wholly above 1 with the
 * estimate beyond the threshold is slower (below, faster); a significant change within the threshold
 * is no change too (criterion's "change within noise threshold"); anything else is not significant.
 */
function timeChange(nt: number[], bt: number[], o: CompareOptions): TimeFields {
  const needed = Math.max(3, trialsNeeded(o.confidence));
  const pct = `${Math.round(100 * o.confidence)}%`;
  if (nt.length < needed || bt.length < needed) {
    const none = { ratio: null, ratioLow: null, ratioHigh: null, p: null };
    return {
      ...none,
      verdict: 'too few trials',
      note: `${bt.length} and ${nt.length} trials; ${needed} on each side are needed for a ${pct} interval`,
    };
  }
  const shift = hodgesLehmann(nt.map(Math.log), bt.map(Math.log), o.confidence);
  const [ratio, low, high] = [shift.estimate, shift.low!, shift.high!].map(Math.exp);
  const p = mannWhitneyP(nt, bt);
  const [lo, hi] = [1 - o.threshold, 1 + o.threshold];
  const band = `±${formatPct(o.threshold)}`;
  const fields = { ratio, ratioLow: low, ratioHigh: high, p };
  if (low >= lo && high <= hi)
    return { ...fields, verdict: 'no change', note: `the ${pct} interval is within ${band}` };
  const significant = low > 1 || high < 1;
  if (significant && Math.abs(ratio - 1) <= o.threshold)
    return { ...fields, verdict: 'no change', note: `a change within the ${band} noise threshold` };
  if (low > 1) return { ...fields, verdict: 'slower', note: `slower with ${pct} confidence` };
  if (high < 1) return { ...fields, verdict: 'faster', note: `faster with ${pct} confidence` };
  return { ...fields, verdict: 'not significant', note: `the ${pct} interval includes no change` };
}

function lossChange(base?: readonly number[], next?: readonly number[]): EngineChange['losses'] {
  if (!base || !next) return null;
  let maxDiff = 0;
  let firstStep = 0;
  const steps = Math.max(base.length, next.length);
  for (let i = 0; i < steps; i++) {
    if (base[i] === next[i]) continue;
    const d = Math.abs(base[i] - next[i]);
    maxDiff = Math.max(maxDiff, Number.isNaN(d) ? Infinity : d);
    firstStep ||= i + 1;
  }
  return firstStep ? { maxDiff, firstStep } : null;
}

function verdictOf(folder: ResultsFolder, engine: string): string {
  const r = runsOf(folder, gradcheckKind).find((x) => x.engine === engine) as RunRecord<GradcheckResult> | undefined;
  if (!r) return 'not checked';
  return r.status === 'ok' ? (r.result.pass ? 'pass' : 'FAIL') : 'not checked';
}

/** A program's loss verdict on each side: reproducing the reference and then not is a regression. */
function programVerdictChange(base: ResultsFolder, next: ResultsFolder, program: string): EngineChange['gradient'] {
  const of = (folder: ResultsFolder) => {
    const v = summarize(folder).find((s) => s.engine === program)?.external?.verdict;
    return v ? (v.reproduces ? 'reproduces' : v.text.split(' (')[0]) : 'not checked';
  };
  const [b, n] = [of(base), of(next)];
  return { base: b, new: n, regressed: b === 'reproduces' && n !== 'reproduces' };
}

function gradientChange(base: string, next: string): EngineChange['gradient'] {
  return { base, new: next, regressed: base === 'pass' && next === 'FAIL' };
}

export function formatPct(fraction: number): string {
  return `${+(100 * fraction).toFixed(2)}%`;
}
