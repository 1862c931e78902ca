/**
 * runs.csv (one row per training run) and summary.csv (one row per engine). Numbers keep full
 * precision, so the CSV parses back to exactly the values in runs.jsonl.
 */
import { stringify } from 'csv-stringify/sync';
import type { ResultsFolder, TrainRun } from '../results.ts';
import { summarize, statusText, verdictText, type EngineSummary } from '../summary.ts';
import { machineLabels, type Exporter } from './exporter.ts';

type Cell = string | number | boolean | null | undefined;
type Columns<T> = Record<string, (row: T) => Cell>;

const RUN_COLUMNS: Columns<TrainRun> = {
  engine: (r) => r.engine,
  trial: (r) => r.trial,
  warmup: (r) => r.warmup,
  status: (r) => r.status,
  reason: (r) => r.reason,
  diverged_at_step: (r) => r.divergedAtStep,
  wall_ms: (r) => r.wallMs,
  steps: (r) => r.result?.losses.length,
  total_ms: (r) => r.result?.timingMs.total,
  forward_ms: (r) => r.result?.timingMs.forward,
  softmax_ms: (r) => r.result?.timingMs.softmax,
  backward_ms: (r) => r.result?.timingMs.backward,
  update_ms: (r) => r.result?.timingMs.update,
  ms_per_step: (r) => r.result?.msPerStep,
  final_loss: (r) => r.result?.finalLoss,
  mean_loss_last100: (r) => r.result?.meanLossLast100,
  nodes_per_step_mean: (r) => r.result?.nodesPerStep.mean,
  nodes_per_step_max: (r) => r.result?.nodesPerStep.max,
  edges_per_step_mean: (r) => r.result?.edgesPerStep.mean,
  edges_per_step_max: (r) => r.result?.edgesPerStep.max,
  peak_rss_bytes: (r) => r.result?.memory.peakRssBytes,
  peak_heap_bytes: (r) => r.result?.memory.peakHeapBytes,
  gflops: (r) => r.result?.gflops,
};

const SUMMARY_COLUMNS: Columns<EngineSummary> = {
  engine: (s) => s.engine,
  study: (s) => s.study,
  status: statusText,
  trials_ok: (s) => s.okTrials,
  trials_planned: (s) => s.plannedTrials,
  median_ms: (s) => s.timeMs?.median,
  min_ms: (s) => s.timeMs?.min,
  max_ms: (s) => s.timeMs?.max,
  speedup_vs_topo: (s) => s.speedup?.median,
  speedup_min: (s) => s.speedup?.min,
  speedup_max: (s) => s.speedup?.max,
  final_loss: (s) => s.typical?.result.finalLoss,
  mean_loss_last100: (s) => s.typical?.result.meanLossLast100,
  nodes_per_step: (s) => s.typical?.result.nodesPerStep.mean,
  edges_per_step: (s) => s.typical?.result.edgesPerStep.mean,
  peak_heap_bytes: (s) => s.typical?.result.memory.peakHeapBytes,
  gflops: (s) => s.typical?.result.gflops,
  gradcheck_pass: (s) => s.gradcheck?.result?.pass,
  gradient_verdict: verdictText,
};

/** A CSV with a leading machine column, `rowsOf` giving each folder's rows. */
function csvExporter<T>(columns: Columns<T>, rowsOf: (folder: ResultsFolder) => readonly T[]): Exporter {
  return {
    serialize(folders) {
      const labels = machineLabels(folders);
      const records = folders.flatMap((folder, i) =>
        rowsOf(folder).map((row) => [labels[i], ...Object.values(columns).map((cell) => cell(row))]),
      );
      return stringify(records, {
        header: true,
        columns: ['machine', ...Object.keys(columns)],
        cast: { boolean: (b) => String(b) },
      });
    },
  };
}

export const runsCsv = csvExporter(RUN_COLUMNS, (folder) =>
  folder.runs.filter((r): r is TrainRun => r.kind === 'train'),
);
export const summaryCsv = csvExporter(SUMMARY_COLUMNS, summarize);
