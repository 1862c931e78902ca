import type { Engine } from '../engines/engine.ts';
import { precisionOf, startEngine, type EngineInfo, type Precision } from '../engines/registry.ts';
import { TopoEngine } from '../engines/topo.ts';
import type { TrainConfig } from '../workload/config.ts';
import type { Dataset } from '../workload/dataset.ts';
import type { ModelLayout } from '../workload/model.ts';
import { finiteDifference, gradientsOf } from './gradients.ts';
import { accumulationLength, float32LossBound, float32Spread, UNIT_ROUNDOFF } from './precision.ts';
import { prepareJob, train } from './train.ts';

/**
 * What "correct" means. Relative errors are |g − ref| / max(|g|, |ref|, floor): the floor keeps a
 * gradient that is ~0 in both from turning rounding noise into a huge ratio.
 * - vs topo, floor 1e-8: an engine passes at ≤ 1e-9 (reordered additions stay far below that), and
 *   a parameter counts as wrong above 1e-6.
 * - vs central finite differences (h = 1e-5, truncation and rounding error ~1e-10), floor 1e-3:
 *   passes at ≤ 1e-6.
 * - the loss trajectory passes when every step's loss is within 1e-6 of topo's.
 * These are a float64 engine's. A float32 engine's bounds come from float32's rounding
 * (scenarios/precision.ts), and its finite differences are taken on the float64 reference.
 */
export const TOLERANCE = {
  refFloor: 1e-8,
  maxRelErr: 1e-9,
  wrongRelErr: 1e-6,
  fdStep: 1e-5,
  fdFloor: 1e-3,
  fdMaxRelErr: 1e-6,
  lossDiff: 1e-6,
} as const;

export const DEFAULT_TRAJECTORY_STEPS = 50;
export const DEFAULT_FD_SAMPLES = 36;

export interface GradcheckOptions {
  readonly engine: EngineInfo;
  readonly dataset: Dataset;
  readonly config: TrainConfig;
  /** Training steps whose losses are compared with topo's (default 50; 0 skips the comparison). */
  readonly trajectorySteps?: number;
  /** Parameters checked by finite differences, spread evenly over the weight matrices (default 36; 0 skips). */
  readonly fdSamples?: number;
  /**
   * Step 1's gradients to compare with in place of topo's, and whose they are (PyTorch's, from
   * scenarios/pytorch.ts); the loss trajectory is still topo's.
   */
  readonly gradientReference?: GradientReference;
}

export interface GradientReference {
  readonly name: string;
  readonly grads: Float64Array;
}

export interface GradcheckResult {
  engine: string;
  pass: boolean;
  /** "pass", "pass (float32: within rounding)", or "FAIL: " and what failed, with its figures. */
  verdict: string;
  /** Whose step-1 gradients they were compared with when not topo's (`pytorch`); absent: topo's. */
  gradientReference?: string;
  /** The precision the engine declared, which set the bounds below. */
  precision: Precision;
  /**
   * float32: the largest |g − topo's| allowed, γ_n·max|topo's gradient| (scenarios/precision.ts);
   * null for float64, whose bound is relative (TOLERANCE).
   */
  gradientBound: number | null;
  /** Step 1's parameter gradients vs topo's (or gradientReference's). */
  maxAbsErr: number;
  maxRelErr: number;
  cosine: number;
  wrongParams: number;
  totalParams: number;
  /**
   * Gradients vs central finite differences of the loss, on `fdSampled` parameters: the engine's own
   * (float64), or topo's (`fdOn: 'reference'`, float32: its loss's rounding would swamp a difference).
   */
  fdMaxRelErr: number;
  fdSampled: number;
  fdOn: 'engine' | 'reference';
  /**
   * The largest |loss − topo's loss| over the first `steps` training steps; `worstOfBound`, for a
   * float32 engine, the largest ratio of that difference to the step's bound (a pass is ≤ 1), else null.
   */
  trajectory: { steps: number; maxLossDiff: number; worstOfBound: number | null };
}

/** topo's side of the comparison, computed once per dataset, config and trajectory length. */
interface Reference {
  grads: Float64Array;
  losses: number[];
  /** Per step, the spread float32 rounding alone gives the losses (computed when a float32 engine asks). */
  float32Spread?: number[];
  /** topo's gradients against its own finite differences, per sample size. */
  fdMaxRelErr: Map<number, number>;
}
const references = new WeakMap<Dataset, Map<string, Reference>>();

/**
 * Checks one engine on training step 1 (the first shuffled document, the initial parameters):
 * its parameter gradients against topo's and against finite differences, then its losses over the
 * first `trajectorySteps` steps against topo's, with the bounds of the precision it declares.
 */
export async function gradcheck(opts: GradcheckOptions): Promise<GradcheckResult> {
  const config: TrainConfig = { ...opts.config, samples: 0 };
  const precision = precisionOf(opts.engine);
  const steps = Math.min(opts.trajectorySteps ?? DEFAULT_TRAJECTORY_STEPS, config.steps);
  const ref = reference(opts.dataset, config, steps);
  const job = prepareJob(config, opts.dataset);
  const tokens = job.tokenizer.encodeDocument(job.docs[0]);
  const n = accumulationLength(config, job.tokenizer.vocabSize);

  const engine = await startEngine(opts.engine);
  engine.init(job.params);
  const { grads } = gradientsOf(engine, job.layout, config, tokens, job.params);
  const gradientBound = precision === 'float32' ? n * UNIT_ROUNDOFF.float32 * maxAbs(ref.grads) : null;
  const vsTopo = compareGradients(grads, opts.gradientReference?.grads ?? ref.grads, gradientBound);

  const sample = sampleParams(job.layout, ref.grads, opts.fdSamples ?? DEFAULT_FD_SAMPLES);
  const fdOn = precision === 'float32' ? 'reference' : 'engine';
  const fdMaxRelErr =
    fdOn === 'engine'
      ? finiteDifferenceError(engine, grads, { ...job, config, tokens, sample })
      : referenceFiniteDifferenceError(ref, { ...job, config, tokens, sample });

  const trajectory = await lossTrajectory(opts, { config, steps, ref, precision, n });
  const result = {
    engine: opts.engine.name,
    ...(opts.gradientReference && { gradientReference: opts.gradientReference.name }),
    precision,
    gradientBound,
    ...vsTopo,
    fdMaxRelErr,
    fdSampled: sample.length,
    fdOn,
    trajectory,
  } satisfies Omit<GradcheckResult, 'pass' | 'verdict'>;
  const failures = failuresOf(result);
  const passed = precision === 'float32' ? 'pass (float32: within rounding)' : 'pass';
  return {
    ...result,
    pass: failures.length === 0,
    verdict: failures.length === 0 ? passed : `FAIL: ${failures.join('; ')}`,
  };
}

interface StepOne {
  layout: ReturnType<typeof prepareJob>['layout'];
  params: Float64Array;
  config: TrainConfig;
  tokens: number[];
  sample: number[];
}

/** The largest relative error of `grads` against finite differences of `engine`'s loss on the sample. */
function finiteDifferenceError(engine: Engine, grads: Float64Array, s: StepOne): number {
  let worst = 0;
  for (const i of s.sample) {
    const fd = finiteDifference(engine, s.layout, s.config, s.tokens, s.params, i, TOLERANCE.fdStep);
    worst = Math.max(worst, relErr(grads[i], fd, TOLERANCE.fdFloor));
  }
  return worst;
}

/** topo's own finite-difference check, once per reference and sample size. */
function referenceFiniteDifferenceError(ref: Reference, s: StepOne): number {
  const cached = ref.fdMaxRelErr.get(s.sample.length);
  if (cached !== undefined) return cached;
  const topo = new TopoEngine();
  topo.init(s.params);
  const worst = finiteDifferenceError(topo, ref.grads, s);
  ref.fdMaxRelErr.set(s.sample.length, worst);
  return worst;
}

/** The engine's first `steps` losses against topo's: within 1e-6 (float64), or within float32's bounds. */
async function lossTrajectory(
  opts: GradcheckOptions,
  t: { config: TrainConfig; steps: number; ref: Reference; precision: Precision; n: number },
): Promise<GradcheckResult['trajectory']> {
  const { config, steps, ref } = t;
  if (steps === 0) return { steps, maxLossDiff: 0, worstOfBound: t.precision === 'float32' ? 0 : null };
  const engine = await startEngine(opts.engine);
  const run = train({
    engineName: opts.engine.name,
    engine,
    config,
    dataset: opts.dataset,
    stopAfter: steps,
    phaseTimers: false,
  });
  const diffs = run.losses.map((l, i) => distance(l, ref.losses[i]));
  const maxLossDiff = Math.max(0, ...diffs);
  if (t.precision === 'float64') return { steps, maxLossDiff, worstOfBound: null };
  ref.float32Spread ??= float32Spread(config, opts.dataset, steps);
  const spread = ref.float32Spread;
  const worstOfBound = Math.max(0, ...diffs.map((d, i) => d / float32LossBound(ref.losses[i], i, spread, t.n)));
  // Finite, so that JSON keeps it (a NaN or infinite loss is as far out of bounds as can be).
  return { steps, maxLossDiff, worstOfBound: Number.isFinite(worstOfBound) ? worstOfBound : Number.MAX_VALUE };
}

function reference(dataset: Dataset, config: TrainConfig, steps: number): Reference {
  const key = JSON.stringify([config, steps]);
  const cache = references.get(dataset) ?? new Map<string, Reference>();
  references.set(dataset, cache);
  const hit = cache.get(key);
  if (hit) return hit;
  const job = prepareJob(config, dataset);
  const topo = new TopoEngine();
  topo.init(job.params);
  const { grads } = gradientsOf(topo, job.layout, config, job.tokenizer.encodeDocument(job.docs[0]), job.params);
  const losses =
    steps > 0
      ? train({ engineName: 'topo', engine: new TopoEngine(), config, dataset, stopAfter: steps, phaseTimers: false })
          .losses
      : [];
  const ref: Reference = { grads, losses, fdMaxRelErr: new Map() };
  cache.set(key, ref);
  return ref;
}

function maxAbs(xs: Float64Array): number {
  let m = 0;
  for (const x of xs) if (Number.isFinite(x)) m = Math.max(m, Math.abs(x));
  return m;
}

/** |a − b|, with a NaN anywhere counting as infinitely far (Math.max would let NaN through as a pass). */
function distance(a: number, b: number): number {
  const d = Math.abs(a - b);
  return Number.isNaN(d) ? Infinity : d;
}

function relErr(a: number, b: number, floor: number): number {
  const r = distance(a, b) / Math.max(Math.abs(a), Math.abs(b), floor);
  return Number.isNaN(r) ? Infinity : r;
}

/**
 * Error figures of `grads` against the reference gradients `ref`. A parameter is wrong above
 * TOLERANCE.wrongRelErr (relative), or, given `absBound` (a float32 engine's), above it (absolute).
 */
export function compareGradients(grads: Float64Array, ref: Float64Array, absBound: number | null = null) {
  let maxAbsErr = 0;
  let maxRelErr = 0;
  let wrongParams = 0;
  let dot = 0;
  let gg = 0;
  let rr = 0;
  for (let i = 0; i < ref.length; i++) {
    const rel = relErr(grads[i], ref[i], TOLERANCE.refFloor);
    maxAbsErr = Math.max(maxAbsErr, distance(grads[i], ref[i]));
    maxRelErr = Math.max(maxRelErr, rel);
    if (absBound === null ? rel > TOLERANCE.wrongRelErr : !(distance(grads[i], ref[i]) <= absBound)) wrongParams++;
    dot += grads[i] * ref[i];
    gg += grads[i] * grads[i];
    rr += ref[i] * ref[i];
  }
  // Clamped: rounding can put identical directions a hair above 1.
  const cosine = gg === 0 && rr === 0 ? 1 : Math.min(1, dot / Math.sqrt(gg * rr));
  if (Number.isNaN(cosine)) return { maxAbsErr, maxRelErr, cosine: 0, wrongParams, totalParams: ref.length };
  return { maxAbsErr, maxRelErr, cosine, wrongParams, totalParams: ref.length };
}

/**
 * `count` parameters spread over the weight matrices (as evenly as the count allows), each
 * matrix's share evenly spaced among its parameters that have a nonzero gradient (a parameter
 * the document never touches has a zero gradient in every engine and would check nothing).
 */
export function sampleParams(layout: ModelLayout, refGrads: Float64Array, count: number): number[] {
  const matrices = layout.matrices;
  const out: number[] = [];
  matrices.forEach((m, k) => {
    const share = Math.floor(count / matrices.length) + (k < count % matrices.length ? 1 : 0);
    const all = Array.from({ length: m.rows * m.cols }, (_, i) => m.offset + i);
    const live = all.filter((i) => refGrads[i] !== 0);
    const pool = live.length > 0 ? live : all;
    const take = Math.min(share, pool.length);
    for (let j = 0; j < take; j++) out.push(pool[Math.floor(((j + 0.5) * pool.length) / take)]);
  });
  return out;
}

function failuresOf(r: Omit<GradcheckResult, 'pass' | 'verdict'>): string[] {
  const out: string[] = [];
  const n = (x: number) => x.toLocaleString('en-US');
  const float32 = r.gradientBound !== null;
  if (r.wrongParams > 0) {
    const beyond = float32 ? ` beyond float32 rounding (|Δ| > ${r.gradientBound!.toExponential(1)})` : '';
    out.push(`${n(r.wrongParams)} of ${n(r.totalParams)} gradients wrong${beyond}, cosine ${r.cosine.toFixed(3)}`);
  } else if (!float32 && r.maxRelErr > TOLERANCE.maxRelErr)
    out.push(`gradients off ${r.gradientReference ?? 'topo'}'s by up to ${r.maxRelErr.toExponential(1)} (relative)`);
  if (r.fdMaxRelErr > TOLERANCE.fdMaxRelErr) {
    const whose = r.fdOn === 'reference' ? ", on topo's loss" : '';
    const worst = r.fdMaxRelErr.toExponential(1);
    out.push(`finite differences disagree by up to ${worst} (relative, ${r.fdSampled} parameters${whose})`);
  }
  const { trajectory: t } = r;
  const drift = `losses drift up to ${t.maxLossDiff.toExponential(1)} from topo's over ${t.steps} steps`;
  if (t.worstOfBound !== null ? !(t.worstOfBound <= 1) : t.maxLossDiff > TOLERANCE.lossDiff) {
    out.push(t.worstOfBound !== null ? `${drift}, ${t.worstOfBound.toPrecision(2)}x float32 rounding's bound` : drift);
  }
  return out;
}
