/**
 * A walk's figures as a table: one row per commit, per engine its estimated cycles and instructions
 * per step (or its training time without counts), the change from the previous commit where that
 * engine had figures, and a flag where the change is beyond the threshold. Text for the terminal,
 * Markdown, a CSV (a row per commit and engine) and an HTML page with a line per engine.
 */
import type { TopLevelSpec } from 'vega-lite';
import { chart, esc, htmlTable, STYLE } from '../output/export/html.ts';
import { writeCsv } from '../output/export/csv.ts';
import { markdownTable, textRow } from '../output/table.ts';
import { formatCount } from '../output/units.ts';
import type { CommitRecord, EngineFigures } from './measure.ts';

/** An engine's cell at one commit. */
export interface HistoryCell {
  readonly figures: EngineFigures | null;
  /** This commit's measure / the previous commit's with figures for the engine, minus 1; null for the first. */
  readonly change: number | null;
  /** 'slower' or 'faster' beyond the threshold, or null. */
  readonly flag: 'slower' | 'faster' | null;
}

export interface HistoryRow {
  readonly record: CommitRecord;
  /** By engine, in the table's order. */
  readonly cells: ReadonlyMap<string, HistoryCell>;
}

export interface HistoryTable {
  readonly engines: readonly string[];
  readonly rows: readonly HistoryRow[];
  /** Percent. */
  readonly threshold: number;
  /** What the change is of: estimated cycles per step, or training time when there were no counts. */
  readonly measure: 'cycles' | 'time';
}

/** The figure the change is taken on. */
export function measureOf(f: EngineFigures | null, measure: HistoryTable['measure']): number | null {
  if (!f || f.status !== 'ok') return null;
  return measure === 'cycles' ? f.cyclesPerStep : f.timeMs;
}

export function historyTable(
  records: readonly CommitRecord[],
  threshold: number,
  measure: HistoryTable['measure'],
): HistoryTable {
  const engines = [...new Set(records.flatMap((r) => r.engines.map((e) => e.engine)))];
  const previous = new Map<string, number>();
  const rows = records.map((record) => {
    const cells = new Map<string, HistoryCell>();
    for (const engine of engines) {
      const figures = record.engines.find((e) => e.engine === engine) ?? null;
      const value = measureOf(figures, measure);
      const before = previous.get(engine);
      const change = value !== null && before !== undefined ? value / before - 1 : null;
      const beyond = change !== null && Math.abs(change) * 100 > threshold;
      cells.set(engine, { figures, change, flag: beyond ? (change > 0 ? 'slower' : 'faster') : null });
      if (value !== null) previous.set(engine, value);
    }
    return { record, cells };
  });
  return { engines, rows, threshold, measure };
}

const short = (commit: string) => commit.slice(0, 10);
const day = (date: string) => date.slice(0, 10);
const SUBJECT_WIDTH = 48;

function percent(change: number | null): string {
  if (change === null) return '';
  const text = (change * 100).toFixed(2);
  // A change below half a hundredth of a percent either way is no change.
  return text === '-0.00' || text === '0.00' ? '0.00%' : `${change > 0 ? '+' : ''}${text}%`;
}

function flagMark(flag: HistoryCell['flag']): string {
  return flag === 'slower' ? ' ▲ slower' : flag === 'faster' ? ' ▼ faster' : '';
}

function headers(t: HistoryTable): string[] {
  const per = (e: string) =>
    t.measure === 'cycles'
      ? [`${e} est. cycles/step`, `${e} instr./step`, `${e} change`]
      : [`${e} time (ms)`, `${e} change`];
  // A walk where no commit had an engine still has a column for its failures.
  return ['commit', 'date', 'subject', ...(t.engines.length === 0 ? ['result'] : t.engines.flatMap(per))];
}

/** The cells of a row: a commit that failed as a whole says so once, in its first engine's place. */
function cellsOf(t: HistoryTable, row: HistoryRow, subjectWidth = Infinity): string[] {
  const { record } = row;
  const subject =
    record.subject.length > subjectWidth ? `${record.subject.slice(0, subjectWidth - 1)}…` : record.subject;
  const head = [short(record.commit), day(record.date), subject];
  const width = t.measure === 'cycles' ? 3 : 2;
  if (record.failure !== null)
    return [...head, `failed: ${record.failure}`, ...Array<string>(Math.max(0, t.engines.length * width - 1)).fill('')];
  return [
    ...head,
    ...t.engines.flatMap((engine) => {
      const { figures, change, flag } = row.cells.get(engine)!;
      if (!figures) return Array<string>(width).fill('');
      if (figures.status !== 'ok') return [`failed: ${figures.reason}`, ...Array<string>(width - 1).fill('')];
      const shift = percent(change) + flagMark(flag);
      return t.measure === 'cycles'
        ? [
            formatCount(Math.round(figures.cyclesPerStep!)),
            formatCount(Math.round(figures.instructionsPerStep!)),
            shift,
          ]
        : [figures.timeMs!.toFixed(2), shift];
    }),
  ];
}

/** The flagged commits, a line each. */
export function flaggedLines(t: HistoryTable): string[] {
  return t.rows.flatMap((row) =>
    [...row.cells.entries()]
      .filter(([, c]) => c.flag !== null)
      .map(
        ([engine, c]) =>
          `${short(row.record.commit)} ${engine}: ${percent(c.change)} (${c.flag}) — ${row.record.subject}`,
      ),
  );
}

export function historyText(t: HistoryTable): string[] {
  const table = [headers(t), ...t.rows.map((r) => cellsOf(t, r, SUBJECT_WIDTH))];
  const widths = headers(t).map((_, i) => Math.max(...table.map((cells) => cells[i]?.length ?? 0)));
  return table.map((cells) => textRow(cells, widths));
}

export function historyMarkdown(t: HistoryTable): string {
  return (
    markdownTable(
      headers(t),
      t.rows.map((r) => cellsOf(t, r)),
    ).join('\n') + '\n'
  );
}

export const HISTORY_CSV_COLUMNS = [
  'commit',
  'date',
  'subject',
  'engine',
  'status',
  'reason',
  'instructions_per_step',
  'est_cycles_per_step',
  'time_ms',
  'change',
  'flag',
] as const;

export function historyCsv(t: HistoryTable): string {
  const records = t.rows.flatMap(({ record, cells }) => {
    const info = [record.commit, record.date, record.subject];
    if (record.failure !== null) return [[...info, '', 'failed', record.failure, null, null, null, null, null]];
    return t.engines.flatMap((engine) => {
      const { figures: f, change, flag } = cells.get(engine)!;
      if (!f) return [];
      return [[...info, engine, f.status, f.reason, f.instructionsPerStep, f.cyclesPerStep, f.timeMs, change, flag]];
    });
  });
  return writeCsv(HISTORY_CSV_COLUMNS, records);
}

/** Estimated cycles per step (or time) per commit, a line per engine, commits in the walk's order. */
export function historyChart(t: HistoryTable): TopLevelSpec | null {
  const values = t.rows.flatMap(({ record, cells }, order) =>
    t.engines.flatMap((engine) => {
      const value = measureOf(cells.get(engine)!.figures, t.measure);
      return value === null ? [] : [{ order, commit: short(record.commit), engine, value, subject: record.subject }];
    }),
  );
  if (values.length === 0) return null;
  const title = t.measure === 'cycles' ? 'estimated cycles per training step' : 'training time (ms)';
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: `${title} per commit (oldest first)`,
    width: 640,
    data: { values },
    mark: { type: 'line', point: true },
    encoding: {
      x: {
        field: 'commit',
        type: 'ordinal',
        sort: { field: 'order' },
        title: 'commit',
        axis: { labelAngle: -60 },
      },
      y: { field: 'value', type: 'quantitative', title, scale: { zero: false } },
      color: { field: 'engine', type: 'nominal' },
      tooltip: [{ field: 'commit' }, { field: 'engine' }, { field: 'value', format: ',.0f' }, { field: 'subject' }],
    },
  };
}

export async function historyHtml(t: HistoryTable, title: string): Promise<string> {
  const flagged = flaggedLines(t);
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
    await chart('history-chart', historyChart(t)),
    htmlTable(
      headers(t),
      t.rows.map((r) => cellsOf(t, r)),
    ),
    `<p class="note">${esc(
      flagged.length === 0
        ? `No change beyond ±${t.threshold}% from one commit to the next.`
        : `Beyond ±${t.threshold}%: ${flagged.join('; ')}`,
    )}</p>`,
    '</body>',
    '</html>',
    '',
  ].join('\n');
}
