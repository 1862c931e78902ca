/** bench:all's closing lines on the terminal: a line per engine, then how much faster each ran. */
import type { TrainConfig } from '../../workload/config.ts';
import { UNSTABLE_CV, unstableWarning } from '../compare/compare.ts';
import { coefficientOfVariation } from '../compare/rank-stats.ts';
import { BASELINE, statusText, verdictText, type EngineSummary } from '../bench/summary.ts';
import { printable } from './table.ts';
import { datasetLabel, digits, formatElapsed, formatLoss, formatTime } from './units.ts';

export interface BenchTotals {
  readonly trials: number;
  readonly config: TrainConfig;
  readonly datasetSource: string;
  readonly elapsedMs: number;
}

export function benchSummaryLines(summaries: readonly EngineSummary[], totals: BenchTotals): string[] {
  const { trials, config } = totals;
  const width = Math.max(...summaries.map((s) => s.engine.length));
  const head =
    `Summary: ${trials} trial${trials === 1 ? '' : 's'} per engine of ${config.steps} steps ` +
    `on ${datasetLabel(totals.datasetSource)}, ${formatElapsed(totals.elapsedMs)} in all`;
  const rows = summaries.map((s) => {
    const status = statusText(s);
    // An external's wall time: the only time every program has.
    const shown = s.external ? s.wallMs : s.timeMs;
    const what = s.external && shown ? ' wall' : '';
    const time = shown ? `${formatTime(shown)}${what}${status === 'ok' ? '' : `, ${status}`}` : status;
    const loss = s.typical ? `  loss ${formatLoss(s.typical.result.finalLoss)}` : '';
    return `  ${s.engine.padEnd(width)}  ${time}${loss}  ${s.external ? 'losses' : 'gradients'}: ${verdictText(s)}`;
  });
  const speedups = summaries.map(speedupLine).filter((line): line is string => line !== null);
  // Names, reasons and verdicts quote what programs printed: control bytes are shown, not sent.
  return [head, ...rows, ...speedups, ...summaries.flatMap(unstableLine)].map(printable);
}

/** A warning when an engine's trial times spread more than UNSTABLE_CV around their mean. */
function unstableLine(s: EngineSummary): string[] {
  const times = s.trials.flatMap((r) => {
    if (r.status !== 'ok') return [];
    return ['timingMs' in r.result ? r.result.timingMs.total : r.wallMs];
  });
  if (times.length < 2) return [];
  const cv = coefficientOfVariation(times);
  return cv > UNSTABLE_CV ? [`warning: ${unstableWarning(`${s.engine}: unstable`, cv)}`] : [];
}

/**
 * hyperfine's closing lines, against the baseline: "tape ran 83.2x faster than topo (range 80.1–85.0)",
 * with "(wrong gradients)" or "(2 of 3 trials)" where they apply. Null for the baseline itself and for
 * engines without a time.
 */
export function speedupLine(s: EngineSummary): string | null {
  if (s.engine === BASELINE || !s.speedup) return null;
  const faster = s.speedup.median >= 1;
  // Slower engines are told by the inverse factor, so their range flips too.
  const [median, low, high] = faster
    ? [s.speedup.median, s.speedup.min, s.speedup.max]
    : [1 / s.speedup.median, 1 / s.speedup.max, 1 / s.speedup.min];
  const d = digits(median);
  const range = low === high ? '' : ` (range ${low.toFixed(d)}–${high.toFixed(d)})`;
  const basis = s.speedupBasis === 'wall' ? ' in wall time' : '';
  const how = `${median.toFixed(d)}x ${faster ? 'faster' : 'slower'}`;
  return `${s.engine} ran ${how} than ${BASELINE}${basis}${range}${caveats(s)}`;
}

/** What a speedup line must not hide: the engine computes something else, or fewer trials stand behind it. */
function caveats(s: EngineSummary): string {
  const notes = [
    ...(s.gradcheck?.status === 'ok' && !s.gradcheck.result.pass ? ['wrong gradients'] : []),
    // The verdict's headline only ("differs from step 2"): its details are on the engine's own line.
    ...(s.external?.verdict && !s.external.verdict.reproduces ? [verdictText(s).split(' (')[0]] : []),
    ...(s.okTrials < s.plannedTrials ? [`${s.okTrials} of ${s.plannedTrials} trials`] : []),
  ];
  return notes.map((n) => ` (${n})`).join('');
}
