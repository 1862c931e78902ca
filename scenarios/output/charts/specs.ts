/**
 * The report's charts as Vega-Lite specifications, built from the summaries (never from engines):
 * training time with its range, the phase split, and the loss curves with each engine's departure
 * from the reference. Data goes in inline, already reduced (moving averages, downsampled points), so
 * the page stays small and the same folders give the same page.
 */
import type { TopLevelSpec } from 'vega-lite';
import type { EngineSummary } from '../../bench/summary.ts';

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';
const WIDTH = 640;
/** Steps in the moving average drawn over each loss curve. */
export const LOSS_WINDOW = 50;
/** At most this many raw loss points per engine: the page must stay small whatever the step count. */
export const RAW_POINTS = 200;

export const PHASES = ['forward', 'softmax', 'backward', 'update'] as const;

/** A row of a chart: its name (the engine, with the machine when several are merged) and its summary. */
export interface ChartRow {
  readonly name: string;
  readonly s: EngineSummary;
}

export type Verdict = 'correct' | 'wrong' | 'not checked';
const VERDICT_COLOURS: Record<Verdict, string> = { correct: '#4c78a8', wrong: '#e45756', 'not checked': '#9d9d9d' };

/**
 * Gradients pass or fail, or were not checked. An external program: it reproduces the reference, or
 * its losses or samples differ; a program that was not comparable (another job, no loss lines) is
 * not checked.
 */
export function verdictOf(s: EngineSummary): Verdict {
  if (s.external) {
    const v = s.external.verdict;
    if (v?.reproduces) return 'correct';
    return v && /^(differs|reproduces)/.test(v.text) ? 'wrong' : 'not checked';
  }
  const g = s.gradcheck;
  return g?.status === 'ok' ? (g.result.pass ? 'correct' : 'wrong') : 'not checked';
}

/** Median training time per row with a min–max whisker, log scale, coloured by verdict; null without times. */
export function timeChart(rows: readonly ChartRow[]): TopLevelSpec | null {
  const values = rows.flatMap(({ name, s }) =>
    s.timeMs ? [{ name, median: s.timeMs.median, min: s.timeMs.min, max: s.timeMs.max, verdict: verdictOf(s) }] : [],
  );
  if (values.length === 0) return null;
  const x = { type: 'quantitative', scale: { type: 'log' } } as const;
  return {
    $schema: SCHEMA,
    title: 'Training time per engine: median, and the range over the trials',
    width: WIDTH,
    data: { values },
    encoding: { y: { field: 'name', type: 'nominal', sort: null, title: null } },
    layer: [
      {
        mark: { type: 'bar' },
        encoding: {
          // Not stacked: a stack starts at zero, which a log scale cannot hold (every whisker became NaN).
          x: { ...x, field: 'median', title: 'training time (ms, log scale)', stack: null },
          color: {
            field: 'verdict',
            type: 'nominal',
            title: 'verdict',
            scale: { domain: Object.keys(VERDICT_COLOURS), range: Object.values(VERDICT_COLOURS) },
          },
        },
      },
      { mark: { type: 'rule' }, encoding: { x: { ...x, field: 'min' }, x2: { field: 'max' } } },
    ],
  };
}

/** Stacked bars: each engine's typical trial split into forward, softmax, backward and update, in ms. */
export function phaseChart(rows: readonly ChartRow[]): TopLevelSpec | null {
  const values = rows.flatMap(({ name, s }) => {
    const t = s.typical?.result.timingMs;
    if (!t || PHASES.some((p) => t[p] === null)) return [];
    return PHASES.map((phase, order) => ({ name, phase, ms: t[phase], order }));
  });
  if (values.length === 0) return null;
  return {
    $schema: SCHEMA,
    title: "Where each engine's training time goes (its median trial)",
    width: WIDTH,
    data: { values },
    mark: { type: 'bar' },
    encoding: {
      y: { field: 'name', type: 'nominal', sort: null, title: null },
      x: { field: 'ms', type: 'quantitative', stack: 'zero', title: 'time (ms)' },
      color: { field: 'phase', type: 'nominal', sort: [...PHASES], scale: { domain: [...PHASES] }, title: 'phase' },
      order: { field: 'order' },
    },
  };
}

/** Trailing mean over the last `window` values (fewer at the start). */
export function movingAverage(xs: readonly number[], window: number): number[] {
  let sum = 0;
  return xs.map((x, i) => {
    sum += x - (i >= window ? xs[i - window] : 0);
    return sum / Math.min(i + 1, window);
  });
}

/** Every k-th index so that at most `max` remain, the last one always kept. */
export function downsample(n: number, max: number): number[] {
  const k = Math.max(1, Math.ceil(n / max));
  const kept = Array.from({ length: Math.ceil(n / k) }, (_, i) => i * k);
  return kept.at(-1) === n - 1 ? kept : [...kept, n - 1];
}

const lossesOf = (rows: readonly ChartRow[]) =>
  rows.flatMap(({ name, s }) => (s.typical ? [{ name, losses: s.typical.result.losses }] : []));

/** Each engine's loss per step: a moving average over faint raw points. */
export function lossChart(rows: readonly ChartRow[]): TopLevelSpec | null {
  const curves = lossesOf(rows);
  if (curves.length === 0) return null;
  const smooth = curves.flatMap(({ name, losses }) =>
    movingAverage(losses, LOSS_WINDOW).map((loss, i) => ({ name, step: i + 1, loss })),
  );
  const raw = curves.flatMap(({ name, losses }) =>
    downsample(losses.length, RAW_POINTS).map((i) => ({ name, step: i + 1, loss: losses[i] })),
  );
  const x = { field: 'step', type: 'quantitative', title: 'step' } as const;
  const color = { field: 'name', type: 'nominal', sort: null, title: 'engine' } as const;
  return {
    $schema: SCHEMA,
    title: `Loss per step: moving average over ${LOSS_WINDOW} steps, raw losses faint`,
    width: WIDTH,
    height: 300,
    layer: [
      {
        data: { values: raw },
        mark: { type: 'point', filled: true, size: 10, opacity: 0.25 },
        encoding: { x, y: { field: 'loss', type: 'quantitative', scale: { zero: false } }, color },
      },
      {
        data: { values: smooth },
        mark: { type: 'line', strokeWidth: 1.5 },
        encoding: {
          x,
          y: { field: 'loss', type: 'quantitative', title: 'loss (nats)', scale: { zero: false } },
          color,
        },
      },
    ],
  };
}

/** Each engine's loss minus the reference's, step by step: correct engines stay at zero. */
export function lossDiffChart(rows: readonly ChartRow[], reference: string): TopLevelSpec | null {
  const curves = lossesOf(rows);
  const ref = curves.find((c) => c.name === reference)?.losses;
  const others = curves.filter((c) => c.name !== reference);
  if (!ref || others.length === 0) return null;
  const values = others.flatMap(({ name, losses }) =>
    losses.slice(0, ref.length).map((loss, i) => ({ name, step: i + 1, diff: loss - ref[i] })),
  );
  return {
    $schema: SCHEMA,
    title: `Each engine's loss minus ${reference}'s`,
    width: WIDTH,
    height: 220,
    data: { values },
    mark: { type: 'line', strokeWidth: 1 },
    encoding: {
      x: { field: 'step', type: 'quantitative', title: 'step' },
      y: {
        field: 'diff',
        type: 'quantitative',
        title: `loss − ${reference}'s loss (nats)`,
        // Correct engines differ by a few ulps: 2e-15, not 0.0000000000000020.
        axis: { format: '~g' },
      },
      color: { field: 'name', type: 'nominal', sort: null, title: 'engine' },
    },
  };
}

/** A sweep's points: ms per step against parameters, both on log scales, a line per engine. */
export function scalingChart(
  points: readonly { engine: string; params: number; msPerStep: number }[],
): TopLevelSpec | null {
  if (points.length === 0) return null;
  const log = { type: 'quantitative', scale: { type: 'log' } } as const;
  return {
    $schema: SCHEMA,
    title: 'Time per step against model size (log-log: a power law is a straight line)',
    width: WIDTH,
    data: { values: [...points] },
    mark: { type: 'line', point: true },
    encoding: {
      x: { ...log, field: 'params', title: 'parameters (log scale)' },
      y: { ...log, field: 'msPerStep', title: 'ms per step (log scale)' },
      color: { field: 'engine', type: 'nominal', title: 'engine', sort: null },
      order: { field: 'params' },
    },
  };
}

/** A point of the counts chart: a row's estimated cycles per counted step and its measured time per step. */
export interface CountsPoint {
  readonly name: string;
  readonly cyclesPerStep: number;
  readonly msPerStep: number;
}

/**
 * Estimated cycles per step against measured ms per step, log-log, a labelled point per row: how
 * well the counts predict time on this machine (a row off the others' line spends its time where
 * the estimate does not look: divisions, branch misses, system calls).
 */
export function countsChart(points: readonly CountsPoint[]): TopLevelSpec | null {
  if (points.length === 0) return null;
  const log = { type: 'quantitative', scale: { type: 'log' } } as const;
  return {
    $schema: SCHEMA,
    title: 'Estimated cycles per step (counted) against time per step (measured)',
    width: WIDTH,
    height: 360,
    data: { values: [...points] },
    encoding: {
      x: { ...log, field: 'cyclesPerStep', title: 'estimated cycles per step (log scale)' },
      y: { ...log, field: 'msPerStep', title: 'measured ms per step (log scale)' },
    },
    layer: [
      { mark: { type: 'point', filled: true, size: 60 } },
      { mark: { type: 'text', align: 'left', dx: 6 }, encoding: { text: { field: 'name' } } },
    ],
  };
}
