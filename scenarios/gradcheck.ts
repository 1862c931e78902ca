import type { EngineInfo } from '../engines/registry.ts';
import { TopoEngine } from '../engines/topo.ts';
import type { TrainConfig } from '../workload/config.ts';
import type { Dataset } from '../workload/dataset.ts';
import type { ModelLayout } from '../workload/model.ts';
import { finiteDifference, gradientsOf } from './gradients.ts';
import { prepareJob, train } from './train.ts';

/**
 * What "correct" means. Relative errors are |g − ref| / max(|g|, |ref|, floor): the floor keeps a
 * gradient that is ~0 in both from turning rounding noise into a huge ratio.
 * - vs topo, floor 1e-8: an engine passes at ≤ 1e-9 (reordered additions stay far below that), and
 *   a parameter counts as wrong above 1e-6.
 * - vs central finite differences (h = 1e-5, truncation and rounding error ~1e-10), floor 1e-3:
 *   passes at ≤ 1e-6.
 * - the loss trajectory passes when every step's loss is within 1e-6 of topo's.
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
  /** "pass", or "FAIL: " and what failed, with its figures. */
  verdict: string;
  /** Whose step-1 gradients they were compared with when not topo's (`pytorch`); absent: topo's. */
  gradientReference?: string;
  /** Step 1's parameter gradients vs topo's (or gradientReference's). */
  maxAbsErr: number;
  maxRelErr: number;
  cosine: number;
  wrongParams: number;
  totalParams: number;
  /** The engine's gradients vs central finite differences of its own loss, on `fdSampled` parameters. */
  fdMaxRelErr: number;
  fdSampled: number;
  /** The largest |loss − topo's loss| over the first `steps` training steps. */
  trajectory: { steps: number; maxLossDiff: number };
}

/** topo's side of the comparison, computed once per dataset, config and trajectory length. */
interface Reference {
  grads: Float64Array;
  losses: number[];
}
const references = new WeakMap<Dataset, Map<string, Reference>>();

/**
 * Checks one engine on training step 1 (the first shuffled document, the initial parameters):
 * its parameter gradients against topo's and against finite differences, then its losses over the
 * first `trajectorySteps` steps against topo's.
 */
export function gradcheck(opts: GradcheckOptions): GradcheckResult {
  const config: TrainConfig = { ...opts.config, samples: 0 };
  const steps = Math.min(opts.trajectorySteps ?? DEFAULT_TRAJECTORY_STEPS, config.steps);
  const ref = reference(opts.dataset, config, steps);
  const job = prepareJob(config, opts.dataset);
  const tokens = job.tokenizer.encodeDocument(job.docs[0]);

  const engine = opts.engine.create();
  engine.init(job.params);
  const { grads } = gradientsOf(engine, job.layout, config, tokens, job.params);
  const vsTopo = compareGradients(grads, opts.gradientReference?.grads ?? ref.grads);

  const sample = sampleParams(job.layout, ref.grads, opts.fdSamples ?? DEFAULT_FD_SAMPLES);
  let fdMaxRelErr = 0;
  for (const i of sample) {
    const fd = finiteDifference(engine, job.layout, config, tokens, job.params, i, TOLERANCE.fdStep);
    fdMaxRelErr = Math.max(fdMaxRelErr, relErr(grads[i], fd, TOLERANCE.fdFloor));
  }

  let maxLossDiff = 0;
  if (steps > 0) {
    const run = train({
      engineName: opts.engine.name,
      engine: opts.engine.create(),
      config,
      dataset: opts.dataset,
      stopAfter: steps,
      phaseTimers: false,
    });
    run.losses.forEach((l, i) => (maxLossDiff = Math.max(maxLossDiff, distance(l, ref.losses[i]))));
  }

  const result = {
    engine: opts.engine.name,
    ...(opts.gradientReference && { gradientReference: opts.gradientReference.name }),
    ...vsTopo,
    fdMaxRelErr,
    fdSampled: sample.length,
    trajectory: { steps, maxLossDiff },
  };
  const failures = failuresOf(result);
  return {
    ...result,
    pass: failures.length === 0,
    verdict: failures.length === 0 ? 'pass' : `FAIL: ${failures.join('; ')}`,
  };
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
  const ref = { grads, losses };
  cache.set(key, ref);
  return ref;
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

/** Error figures of `grads` against the reference gradients `ref`. */
export function compareGradients(grads: Float64Array, ref: Float64Array) {
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
    if (rel > TOLERANCE.wrongRelErr) wrongParams++;
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
  if (r.wrongParams > 0)
    out.push(`${n(r.wrongParams)} of ${n(r.totalParams)} gradients wrong, cosine ${r.cosine.toFixed(3)}`);
  else if (r.maxRelErr > TOLERANCE.maxRelErr)
    out.push(`gradients off ${r.gradientReference ?? 'topo'}'s by up to ${r.maxRelErr.toExponential(1)} (relative)`);
  if (r.fdMaxRelErr > TOLERANCE.fdMaxRelErr) {
    out.push(
      `finite differences disagree by up to ${r.fdMaxRelErr.toExponential(1)} (relative, ${r.fdSampled} parameters)`,
    );
  }
  if (r.trajectory.maxLossDiff > TOLERANCE.lossDiff) {
    out.push(
      `losses drift up to ${r.trajectory.maxLossDiff.toExponential(1)} from topo's over ${r.trajectory.steps} steps`,
    );
  }
  return out;
}
