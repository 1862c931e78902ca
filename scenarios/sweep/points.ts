/**
 * A sweep boiled down to one row per point × engine (points.csv and the report), from each point's
 * results folder, plus the fitted exponents per engine.
 */
import { summarize, statusText, verdictText } from '../bench/summary.ts';
import type { ResultsFolder } from '../bench/results.ts';
import type { TrainConfig } from '../../workload/config.ts';
import type { Dataset } from '../../workload/dataset.ts';
import { prepareJob } from '../train.ts';
import { powerLawFit, type PowerLawFit } from './fit.ts';
import { countsRowOf } from '../bench/counts/rows.ts';

/** One varied job flag and its values, in grid order. */
export interface Axis {
  readonly key: string;
  readonly values: readonly string[];
}

/** `n-embd=16, n-layer=2`. */
export function pointLabel(values: Readonly<Record<string, string | undefined>>): string {
  return Object.entries(values)
    .map(([k, v]) => `${k}=${v}`)
    .join(', ');
}

export interface SweepPointInfo {
  readonly index: number;
  readonly values: Readonly<Record<string, string>>;
  readonly config: TrainConfig;
  /** From the job's shapes, computed when the sweep starts (`analyticFlopsPerStep`). */
  readonly params: number;
  readonly flopsPerStep: number;
}

export interface PointRow {
  readonly point: number;
  readonly values: Readonly<Record<string, string>>;
  readonly engine: string;
  readonly status: string;
  readonly params: number;
  readonly flopsPerStep: number;
  /** Of the engine's median trial: scalar nodes (a vector engine's, its vectors) per step. */
  readonly nodesPerStep: number | null;
  readonly medianMs: number | null;
  readonly msPerStep: number | null;
  readonly peakRssBytes: number | null;
  readonly peakHeapBytes: number | null;
  readonly finalLoss: number | null;
  readonly verdict: string;
  /** Of the count run (bench:sweep --counts), per training step of the count job; null without one. */
  readonly instructionsPerStep: number | null;
  readonly cyclesPerStep: number | null;
}

/**
 * Floating-point operations of one training step's forward and backward, from the shapes: the linear
 * layers (6 · rows · cols per position: a multiply-add is 2, backward does twice the forward) and
 * attention's scores and mix (12 · t · n_embd per layer at a position with t keys). Averaged over
 * the job's steps, each step one document of its own length; lower-order terms (softmax, norms,
 * Adam) are left out.
 */
export function analyticFlopsPerStep(config: TrainConfig, dataset: Dataset): { flopsPerStep: number; params: number } {
  const { docs, tokenizer, layout } = prepareJob(config, dataset);
  const e = config.nEmbd;
  const perPosition = 6 * (12 * config.nLayer * e * e + tokenizer.vocabSize * e);
  let total = 0;
  for (let step = 0; step < config.steps; step++) {
    const positions = Math.min(config.blockSize, docs[step % docs.length].length + 1);
    for (let t = 1; t <= positions; t++) total += perPosition + 12 * config.nLayer * t * e;
  }
  return { flopsPerStep: total / config.steps, params: layout.numParams };
}

/** Per point index, the engines that sat it out and why (`skipped: over budget at …`). */
export type Skips = Readonly<Record<number, Readonly<Record<string, string>>>>;

export function pointRows(
  points: readonly SweepPointInfo[],
  folders: readonly ResultsFolder[],
  engines: readonly string[],
  skips: Skips,
): PointRow[] {
  return points.flatMap((point, i) => {
    const { params, flopsPerStep } = point;
    const summaries = summarize(folders[i]);
    const unmeasured = {
      nodesPerStep: null,
      medianMs: null,
      msPerStep: null,
      peakRssBytes: null,
      peakHeapBytes: null,
      instructionsPerStep: null,
      cyclesPerStep: null,
    };
    return engines.map((engine): PointRow => {
      const base = { point: point.index, values: point.values, engine, params, flopsPerStep };
      const skipped = skips[point.index]?.[engine];
      const s = summaries.find((x) => x.engine === engine);
      if (skipped !== undefined || s === undefined) {
        const status = skipped ?? 'not run (interrupted)';
        return { ...base, ...unmeasured, status, finalLoss: null, verdict: 'not checked' };
      }
      const typical = s.typical?.result ?? null;
      // Only an engine's marked training steps: a whole process (marks not found) is another measure.
      const row = countsRowOf(folders[i], engine);
      const counted = row?.basis === 'training' ? row.perStep : null;
      return {
        ...base,
        status: statusText(s),
        nodesPerStep: typical?.nodesPerStep.mean ?? null,
        medianMs: s.timeMs?.median ?? null,
        msPerStep: s.timeMs ? s.timeMs.median / point.config.steps : null,
        peakRssBytes: s.cost.maxRssBytes ?? typical?.memory.peakRssBytes ?? null,
        peakHeapBytes: typical?.memory.peakHeapBytes ?? null,
        finalLoss: typical?.finalLoss ?? null,
        verdict: verdictText(s),
        instructionsPerStep: counted?.instructions ?? null,
        cyclesPerStep: counted?.estimatedCycles ?? null,
      };
    });
  });
}

/** What an exponent was fitted on: counts where every point of the engine has them, else times. */
export type FitMeasure = 'est. cycles/step' | 'ms/step';

export interface EngineFits {
  readonly engine: string;
  readonly measure: FitMeasure;
  /** Per step: the step count may vary too. */
  readonly byParams: PowerLawFit | null;
  readonly byFlops: PowerLawFit | null;
}

/**
 * Per engine, its cost per step against parameters and against flops per step. Estimated cycles when
 * every point it ran was counted: they do not depend on the machine's load, so shards run on
 * different machines merge into comparable points; ms per step otherwise.
 */
export function engineFits(rows: readonly PointRow[]): EngineFits[] {
  const engines = [...new Set(rows.map((r) => r.engine))];
  return engines.map((engine) => {
    const ran = rows.filter((r) => r.engine === engine && (r.msPerStep !== null || r.cyclesPerStep !== null));
    const counted = ran.length > 0 && ran.every((r) => r.cyclesPerStep !== null);
    const cost = (r: PointRow) => (counted ? r.cyclesPerStep : r.msPerStep);
    const measured = ran.filter((r) => cost(r) !== null);
    const fit = (size: (r: PointRow) => number) => powerLawFit(measured.map((r) => ({ x: size(r), y: cost(r)! })));
    const measure: FitMeasure = counted ? 'est. cycles/step' : 'ms/step';
    return { engine, measure, byParams: fit((r) => r.params), byFlops: fit((r) => r.flopsPerStep) };
  });
}
