/** A sweep's outputs: points.csv (one row per point × engine, full precision) and the Markdown report. */
import { stringify } from 'csv-stringify/sync';
import type { Sweep } from '../../sweep/folder.ts';
import { engineFits, pointRows, type Axis, type EngineFits, type PointRow } from '../../sweep/points.ts';
import { scalingChart } from '../charts/specs.ts';
import { markdownTable } from '../table.ts';
import { chart, esc, htmlTable, STYLE } from './html.ts';
import { formatCount, formatLoss, formatMiB, formatNumber } from '../units.ts';

export function sweepCsv(axes: readonly Axis[], rows: readonly PointRow[]): string {
  const header = [
    'point',
    ...axes.map((a) => a.key),
    'engine',
    'status',
    'params',
    'flops_per_step',
    'nodes_per_step',
    'median_ms',
    'ms_per_step',
    'peak_rss_bytes',
    'peak_heap_bytes',
    'final_loss',
    'verdict',
    'instructions_per_step',
    'est_cycles_per_step',
  ];
  const body = rows.map((r) => [
    r.point,
    ...axes.map((a) => r.values[a.key]),
    r.engine,
    r.status,
    r.params,
    r.flopsPerStep,
    r.nodesPerStep,
    r.medianMs,
    r.msPerStep,
    r.peakRssBytes,
    r.peakHeapBytes,
    r.finalLoss,
    r.verdict,
    r.instructionsPerStep,
    r.cyclesPerStep,
  ]);
  return stringify([header, ...body]);
}

const ms = (v: number | null) => (v === null ? '—' : `${formatNumber(v)} ms`);
const fitCell = (f: EngineFits['byParams']) =>
  f === null ? '—' : `${f.exponent.toFixed(2)} (R² ${f.r2.toFixed(3)}, ${f.points} points)`;

const EXPONENT_HEADERS = ['engine', 'measure', 'vs parameters', 'vs flops/step'];
const exponentCells = (f: EngineFits) => [f.engine, f.measure, fitCell(f.byParams), fitCell(f.byFlops)];

/** One axis's table: its values across; every engine and combination of the other axes down. */
function axisTable(axis: Axis, axes: readonly Axis[], rows: readonly PointRow[]): string[] {
  const others = axes.filter((a) => a !== axis);
  const groups = new Map<string, PointRow[]>();
  for (const r of rows) {
    const key = [r.engine, ...others.map((a) => `${a.key}=${r.values[a.key]}`)].join(', ');
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  const table = [...groups].map(([key, group]) => [
    key,
    ...axis.values.map((v) => {
      const r = group.find((g) => g.values[axis.key] === v);
      return r === undefined ? '' : r.medianMs === null ? r.status : ms(r.medianMs);
    }),
  ]);
  return markdownTable(['engine, other values', ...axis.values.map((v) => `${axis.key}=${v}`)], table);
}

/** Every point's row as table cells, for the Markdown report and the page. */
function pointsTable(axes: readonly Axis[], rows: readonly PointRow[]): { headers: string[]; cells: string[][] } {
  const headers = ['point', ...axes.map((a) => a.key), 'engine', 'time', 'ms/step', 'est. cycles/step'];
  return {
    headers: [...headers, 'params', 'flops/step', 'peak RSS', 'final loss', 'gradients', 'status'],
    cells: rows.map((r) => [
      String(r.point),
      ...axes.map((a) => r.values[a.key] ?? ''),
      r.engine,
      ms(r.medianMs),
      r.msPerStep === null ? '—' : formatNumber(r.msPerStep),
      r.cyclesPerStep === null ? '—' : formatCount(r.cyclesPerStep),
      formatCount(r.params),
      formatCount(Math.round(r.flopsPerStep)),
      r.peakRssBytes === null ? '—' : formatMiB(r.peakRssBytes),
      formatLoss(r.finalLoss),
      r.verdict,
      r.status,
    ]),
  };
}

/** A table per axis (median training time per cell), the exponents per engine, and every row in full. */
export function sweepMarkdown(
  title: string,
  axes: readonly Axis[],
  rows: readonly PointRow[],
  fits: readonly EngineFits[],
): string {
  const points = pointsTable(axes, rows);
  const lines = [`# ${title}`, ''];
  for (const axis of axes) lines.push(`## Training time by ${axis.key}`, '', ...axisTable(axis, axes, rows), '');
  lines.push(
    '## Exponents',
    '',
    "The slope of log(cost per step) on log(parameters) and on log(flops per step) over each engine's " +
      'measured points, with the R² of that straight line: cost per step grows as size^exponent. The cost is ' +
      'estimated cycles per step where every point of the engine was counted (--counts: the same on any machine, ' +
      'so shards from different machines fit together), else the measured ms per step; the measure column says which.',
    '',
    ...markdownTable(EXPONENT_HEADERS, fits.map(exponentCells)),
    '',
    '## Every point',
    '',
    ...markdownTable(points.headers, points.cells),
    '',
  );
  return lines.join('\n');
}

/** A whole (or merged) sweep's points.csv, Markdown report, HTML page and fits. */
export function sweepReport(sweep: Sweep) {
  const rows = pointRows(sweep.points, sweep.folders, sweep.engines, sweep.skips);
  const fits = engineFits(rows);
  const title = `microgpt-bench: sweep of ${sweep.axes.map((a) => a.key).join(' × ')}`;
  return {
    csv: sweepCsv(sweep.axes, rows),
    markdown: sweepMarkdown(title, sweep.axes, rows, fits),
    /** Drawn when asked for: its chart takes most of a report's time (bench:sweep --no-page skips it). */
    html: () => sweepHtml(title, sweep.axes, rows, fits),
    fits,
  };
}

/** The page: the log-log chart over the exponents and every point, self-contained as the results page. */
async function sweepHtml(title: string, axes: readonly Axis[], rows: readonly PointRow[], fits: readonly EngineFits[]) {
  const timed = rows.flatMap((r) =>
    r.msPerStep === null ? [] : [{ engine: r.engine, params: r.params, msPerStep: r.msPerStep }],
  );
  const points = pointsTable(axes, rows);
  return [
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    `<title>${esc(title)}</title>`,
    `<style>${STYLE}</style>`,
    '</head>',
    '<body>',
    `<h1>${esc(title)}</h1>`,
    await chart('scaling-chart', scalingChart(timed)),
    '<h2>Exponents</h2>',
    htmlTable(EXPONENT_HEADERS, fits.map(exponentCells)),
    '<h2>Every point</h2>',
    htmlTable(points.headers, points.cells),
    '</body>',
    '</html>',
    '',
  ].join('\n');
}

/** The terminal's summary of the fits, a line per engine. */
export function fitLines(fits: readonly EngineFits[]): string[] {
  return fits.map((f) => {
    const fit = f.byParams;
    const exponent = fit ? `${fit.exponent.toFixed(2)} (R² ${fit.r2.toFixed(3)})` : '— (too few points)';
    const what = f.measure === 'ms/step' ? 'time' : 'estimated cycles';
    return `  ${f.engine}: ${what} per step grows as parameters^${exponent}`;
  });
}
