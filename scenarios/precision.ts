/**
 * What float32 rounding alone does to the training job, so that a float32 engine is held to float32's
 * bounds and no looser (docs/engines.md, "Gradient check: float32 engines").
 *
 * - Gradients: every |g − g_ref| within γ_n·max|g_ref|, γ_n = n·u (u = 2⁻²⁴, float32's unit roundoff),
 *   n the longest sum the model accumulates (`accumulationLength`). The standard bound on a sum of n
 *   float32 terms is γ_n·Σ|terms|; the terms of a gradient here are at most of the largest gradient's
 *   scale, so the largest gradient stands for Σ|terms|/n… with n to spare.
 * - Losses: the first `EARLY_STEPS` within γ_n·|L_ref| of the reference's (the loss is a sum too);
 *   every later one within `SPREAD_MARGIN` times the spread measured by `float32Spread`, and never
 *   tighter than the early bound.
 */
import { Float32Rounded } from '../engines/float32.ts';
import type { Precision } from '../engines/registry.ts';
import { TensorEngine } from '../engines/tensor.ts';
import type { TrainConfig } from '../workload/config.ts';
import type { Dataset } from '../workload/dataset.ts';
import { train } from './train.ts';

/** Half the distance between neighbouring floats at 1: the largest relative error of one rounding. */
export const UNIT_ROUNDOFF: Readonly<Record<Precision, number>> = { float64: 2 ** -53, float32: 2 ** -24 };

/** Steps whose losses must equal the reference's within one forward pass's float32 rounding. */
export const EARLY_STEPS = 5;
/** The measured spread of float32-rounded trajectories, times this, is what a float32 engine may drift. */
export const SPREAD_MARGIN = 4;
/** float32-rounded runs besides the plain one, each starting from parameters nudged by one float32 rounding. */
const NUDGED_RUNS = 3;

/**
 * n of γ_n: the longest sum in one gradient or loss of the model: mlp_fc2's input gradient (4·n_embd
 * terms), lm_head's (vocab), a weight gradient over the positions (block_size).
 */
export function accumulationLength(config: TrainConfig, vocabSize: number): number {
  return Math.max(4 * config.nEmbd, vocabSize, config.blockSize);
}

/**
 * For each of the first `steps` training steps, the largest |loss − float64 loss| seen up to that
 * step among float32-rounded runs of a correct engine (tensor, whose losses are topo's to 1e-12):
 * one with its parameters, values and gradients rounded to float32 (engines/float32.ts), and
 * `NUDGED_RUNS` more whose initial parameters are also moved by one float32 rounding unit up or down
 * (a fixed pseudo-random pattern per run), as a float32 library summing in another order would round
 * them. Running maxima: the spread only widens.
 */
export function float32Spread(config: TrainConfig, dataset: Dataset, steps: number): number[] {
  const job = { config: { ...config, samples: 0 }, dataset, stopAfter: steps, phaseTimers: false, graphStats: false };
  const exact = train({ ...job, engineName: 'tensor', engine: new TensorEngine() }).losses;
  const spread = new Array<number>(exact.length).fill(0);
  for (let run = 0; run <= NUDGED_RUNS; run++) {
    const engine = new Float32Rounded(new TensorEngine(), 0, run === 0 ? null : nudgePattern(run));
    const losses = train({ ...job, engineName: 'tensor (float32-rounded)', engine }).losses;
    let worst = 0;
    exact.forEach((l, i) => {
      worst = Math.max(worst, Math.abs(losses[i] - l));
      spread[i] = Math.max(spread[i], worst);
    });
  }
  return spread;
}

/** A fixed pattern of ±1 per parameter (xorshift32 from `seed`): which way each first rounding goes. */
function nudgePattern(seed: number): (i: number) => 1 | -1 {
  return (i) => {
    let x = (Math.imul(i + 1, 0x9e3779b1) ^ seed) >>> 0 || 1;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x & 1 ? 1 : -1;
  };
}

/** The largest |loss − reference| allowed at each step (0-based `step`) for a float32 engine. */
export function float32LossBound(refLoss: number, step: number, spread: readonly number[], n: number): number {
  const rounding = n * UNIT_ROUNDOFF.float32 * Math.abs(refLoss);
  if (step < EARLY_STEPS) return rounding;
  return Math.max(rounding, SPREAD_MARGIN * (spread[step] ?? Infinity));
}
