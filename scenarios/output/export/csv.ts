/**
 * The results CSVs: summary.csv (one row per engine and per external program) and, for each job
 * kind that declares columns, a row per run of that kind (runs.csv for training runs,
 * external-runs.csv for external programs'). Numbers keep full precision, so the CSV parses back to
 * exactly the values in runs.jsonl.
 */
import { stringify } from 'csv-stringify/sync';
import type { Columns, RunKind } from '../../bench/job-kind.ts';
import { trainKind } from '../../bench/kinds/index.ts';
import { runsOf, type ResultsFolder } from '../../bench/results.ts';
import { summarize, statusText, verdictText, type EngineSummary } from '../../bench/summary.ts';
import { machineLabels, type Exporter, type Folders } from './exporter.ts';
import type { CacheCounts } from '../../bench/counts/callgrind.ts';
import { countsRows, type CountsRow } from '../../bench/counts/rows.ts';

export const SUMMARY_COLUMNS: Columns<EngineSummary> = {
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
  gradcheck_pass: (s) => (s.gradcheck?.status === 'ok' ? s.gradcheck.result.pass : undefined),
  gradient_verdict: (s) => (s.external ? undefined : verdictText(s)),
  kind: (s) => (s.external ? 'external' : 'engine'),
  loss_verdict: (s) => (s.external ? verdictText(s) : undefined),
  speedup_basis: (s) => (s.speedup ? s.speedupBasis : undefined),
  wall_median_ms: (s) => s.wallMs?.median,
  wall_min_ms: (s) => s.wallMs?.min,
  wall_max_ms: (s) => s.wallMs?.max,
  startup_ms: (s) => s.cost.startupMs,
  user_ms: (s) => s.cost.userMs,
  system_ms: (s) => s.cost.systemMs,
  max_rss_bytes: (s) => s.cost.maxRssBytes,
};

/** A CSV with a leading machine column, `rowsOf` giving each folder's rows. */
function csvExporter<T>(columns: Columns<T>, rowsOf: (folder: ResultsFolder) => readonly T[]): Exporter<Folders> {
  return {
    serialize(folders) {
      const labels = machineLabels(folders);
      const records = folders.flatMap((folder, i) =>
        rowsOf(folder).map((row) => [labels[i], ...Object.values(columns).map((cell) => cell(row))]),
      );
      return writeCsv(['machine', ...Object.keys(columns)], records);
    },
  };
}

/**
 * A text cell a spreadsheet would not read as a formula: one starting with `=`, `+`, `-`, `@`, a tab
 * or a carriage return gets a leading `'`, as OWASP's CSV-injection guidance says. Only text cells:
 * numbers (negative ones too) stay numbers.
 */
export function safeCell(text: string): string {
  return /^[=+\-@\t\r]/.test(text) ? `'${text}` : text;
}

/** Every CSV of the project: a header row, then the records; numbers at full precision, text through safeCell. */
export function writeCsv(columns: readonly string[], records: readonly (readonly unknown[])[]): string {
  return stringify(records as unknown[][], {
    header: true,
    columns: [...columns],
    cast: { boolean: (b) => String(b), string: safeCell },
  });
}

export const summaryCsv = csvExporter(SUMMARY_COLUMNS, summarize);

/** A stretch's counts as columns, `prefix` naming the stretch. */
const countColumns = (prefix: string, part: (c: CountsRow) => CacheCounts | null | undefined): Columns<CountsRow> => ({
  [`${prefix}_instructions`]: (c) => part(c)?.instructions,
  [`${prefix}_data_reads`]: (c) => part(c)?.dataReads,
  [`${prefix}_data_writes`]: (c) => part(c)?.dataWrites,
  [`${prefix}_l1_misses`]: (c) => part(c)?.l1Misses,
  [`${prefix}_ll_misses`]: (c) => part(c)?.llMisses,
  [`${prefix}_est_cycles`]: (c) => part(c)?.estimatedCycles,
});

export const COUNTS_COLUMNS: Columns<CountsRow> = {
  name: (c) => c.engine,
  status: (c) => (c.counts ? 'ok' : 'failed'),
  reason: (c) => c.fault ?? undefined,
  count_steps: (c) => c.steps,
  skipped_steps: (c) => c.skipped,
  per_step_basis: (c) => (c.counts ? c.basis : undefined),
  instructions_per_step: (c) => c.perStep?.instructions,
  est_cycles_per_step: (c) => c.perStep?.estimatedCycles,
  l1_miss_rate: (c) => c.l1MissRate,
  ll_miss_rate: (c) => c.llMissRate,
  processes: (c) => c.counts?.processes,
  ...countColumns('whole', (c) => c.counts?.whole),
  ...countColumns('training', (c) => c.counts?.training),
};

/** counts.csv: a row per count run (bench:all --counts), engines then programs; only the header without one. */
export const countsCsv = csvExporter(COUNTS_COLUMNS, countsRows);

/** One loss per row (long format), so any tool can plot the curves: every counted training trial that finished. */
export const lossesCsv: Exporter<Folders> = {
  serialize(folders) {
    const labels = machineLabels(folders);
    const records = folders.flatMap((folder, i) =>
      runsOf(folder, trainKind).flatMap((r) =>
        r.status === 'ok' && !r.warmup
          ? r.result.losses.map((loss, step) => [labels[i], r.engine, r.trial, step + 1, loss])
          : [],
      ),
    );
    return writeCsv(['machine', 'engine', 'trial', 'step', 'loss'], records);
  },
};

/** A kind's per-run CSV (warm-up runs included, marked), or null if the kind declares no columns. */
export function kindCsv<R>(kind: RunKind<R>): Exporter<Folders> | null {
  return kind.csv ? csvExporter(kind.csv.columns, (folder) => runsOf(folder, kind)) : null;
}
