/**
 * The report as one self-contained HTML page: each chart rendered to inline SVG when the page is
 * written, with the table it summarises beneath it, then the environment and the commands that
 * reproduce it. No script, no stylesheet or font from elsewhere, no network request: it opens from
 * file:// anywhere. Like the Markdown report, it depends only on the folders' runs.jsonl and env.json.
 */
import type { TopLevelSpec } from 'vega-lite';
import { groupByJob } from '../../bench/jobs.ts';
import type { ResultsFolder } from '../../bench/results.ts';
import { BASELINE, statusText, summarize, verdictText } from '../../bench/summary.ts';
import { renderSvg } from '../charts/render.ts';
import {
  countsChart,
  lossChart,
  lossDiffChart,
  phaseChart,
  PHASES,
  timeChart,
  type ChartRow,
} from '../charts/specs.ts';
import { countsRows } from '../../bench/counts/rows.ts';
import { formatLoss, formatSpeedup, formatTime } from '../units.ts';
import { machineLabels, type AsyncExporter, type Folders } from './exporter.ts';
import {
  COST_HEADERS,
  costCells,
  COUNTS_HEADERS,
  COUNTS_NOTE,
  countsCells,
  measuredMsPerStep,
  DIRTY_NOTE,
  environmentRows,
  jobLine,
  PROCESS_COST_NOTE,
  reproduceCommands,
  shellQuote,
} from './report-parts.ts';

export const STYLE = `
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 72em; padding: 0 1em; color: #222; }
table { border-collapse: collapse; margin: .5em 0 2em; }
th, td { border: 1px solid #ccc; padding: .25em .6em; text-align: left; vertical-align: top; }
figure { margin: 1em 0 .5em; }
pre { background: #f4f4f4; padding: .6em; overflow-x: auto; }
.note { color: #555; max-width: 60em; }`;

export const htmlReport: AsyncExporter<Folders> = {
  async serialize(folders) {
    const labels = machineLabels(folders);
    const multi = folders.length > 1;
    const rowsOf = (group: readonly ResultsFolder[]): ChartRow[] =>
      group.flatMap((folder) => {
        const label = labels[folders.indexOf(folder)];
        return summarize(folder).map((s) => ({ name: multi ? `${s.engine} (${label})` : s.engine, s }));
      });
    const rows = rowsOf(folders);
    const engines = rows.filter((r) => !r.s.external);
    const lossSections = await Promise.all(
      groupByJob(folders).map((group, k, groups) => lossSection(rowsOf(group), groups.length > 1 ? k + 1 : null)),
    );
    return [
      '<!doctype html>',
      '<html lang="en">',
      '<head>',
      '<meta charset="utf-8">',
      '<meta name="viewport" content="width=device-width, initial-scale=1">',
      '<title>microgpt-bench: engine comparison</title>',
      `<style>${STYLE}</style>`,
      '</head>',
      '<body>',
      '<h1>microgpt-bench: engine comparison</h1>',
      ...folders.map((f, i) => `<p>${multi ? `<b>${esc(labels[i])}</b>: ` : ''}${esc(jobLine(f))}</p>`),
      '<h2>Training time</h2>',
      await chart('time-chart', timeChart(rows)),
      timeTable(rows),
      '<h2>Phases</h2>',
      await chart('phase-chart', phaseChart(engines)),
      phaseTable(engines),
      ...lossSections,
      '<h2>Process cost</h2>',
      costTable(rows),
      `<p class="note">${esc(PROCESS_COST_NOTE)}</p>`,
      ...(await countsSection(folders, labels, multi)),
      '<h2>Environment</h2>',
      htmlTable(['', ...labels], environmentRows(folders)),
      '<h2>Reproduce</h2>',
      ...folders.flatMap((f, i) => reproduce(f, multi ? labels[i] : null)),
      '<p>Regenerate this page from the saved results (no rerun):</p>',
      `<pre>${esc(`npm run report -- ${folders.map((f) => shellQuote(f.dir)).join(' ')} --format html`)}</pre>`,
      '</body>',
      '</html>',
      '',
    ].join('\n');
  },
};

/** A chart in a figure whose id names it (tests and readers can find it), or a note that there was nothing to draw. */
export async function chart(id: string, spec: TopLevelSpec | null): Promise<string> {
  return spec ? `<figure id="${id}">${await renderSvg(spec)}</figure>` : '<p class="note">No data to chart.</p>';
}

function timeTable(rows: readonly ChartRow[]): string {
  return htmlTable(
    [
      'engine or program',
      'training time, median (min–max)',
      'wall time',
      `speedup vs ${BASELINE}`,
      'verdict',
      'status',
    ],
    rows.map(({ name, s }) => [
      name,
      s.timeMs ? formatTime(s.timeMs) : '—',
      s.wallMs ? formatTime(s.wallMs) : '—',
      s.speedup ? `${formatSpeedup(s.speedup)}${s.speedupBasis === 'wall' ? ' (wall)' : ''}` : '—',
      `${s.external ? 'losses' : 'gradients'}: ${verdictText(s)}`,
      statusText(s),
    ]),
  );
}

function phaseTable(rows: readonly ChartRow[]): string {
  const ms = (x: number | null | undefined) => (x === null || x === undefined ? '—' : x.toFixed(1));
  return htmlTable(
    ['engine', ...PHASES.map((p) => `${p} (ms)`), 'total (ms)'],
    rows.map(({ name, s }) => {
      const t = s.typical?.result.timingMs;
      return [name, ...PHASES.map((p) => ms(t?.[p])), ms(t?.total)];
    }),
  );
}

async function lossSection(rows: ChartRow[], job: number | null): Promise<string> {
  const engines = rows.filter((r) => !r.s.external);
  const reference = engines.find((r) => r.s.engine === BASELINE);
  const refLosses = reference?.s.typical?.result.losses;
  const suffix = job === null ? '' : `-${job}`;
  const table = htmlTable(
    ['engine', 'final loss', 'mean loss, last 100 steps', `largest |loss − ${BASELINE}'s|`],
    engines.map(({ name, s }) => {
      const losses = s.typical?.result.losses;
      const gap = losses && refLosses ? Math.max(...losses.map((l, i) => Math.abs(l - refLosses[i]))) : null;
      return [
        name,
        formatLoss(s.typical?.result.finalLoss),
        formatLoss(s.typical?.result.meanLossLast100),
        gap === null ? '—' : gap.toExponential(2),
      ];
    }),
  );
  return [
    `<h2>Loss curves${job === null ? '' : ` (job ${job})`}</h2>`,
    await chart(`loss-chart${suffix}`, lossChart(engines)),
    await chart(`loss-diff-chart${suffix}`, reference ? lossDiffChart(engines, reference.name) : null),
    table,
  ].join('\n');
}

function costTable(rows: readonly ChartRow[]): string {
  return htmlTable(
    ['name', ...COST_HEADERS],
    rows.map(({ name, s }) => [name, ...costCells(s)]),
  );
}

/** The count pass's chart and table, when any folder has one. */
async function countsSection(folders: Folders, labels: readonly string[], multi: boolean): Promise<string[]> {
  const rows = folders.flatMap((folder, i) => {
    const summaries = summarize(folder);
    return countsRows(folder).map((c) => {
      const s = summaries.find((x) => x.engine === c.engine);
      const name = multi ? `${c.engine} (${labels[i]})` : c.engine;
      return { name, c, external: s?.external != null, ms: s ? measuredMsPerStep(s, folder.env.config.steps) : null };
    });
  });
  if (rows.length === 0) return [];
  const points = rows.flatMap(({ name, c, ms }) =>
    c.perStep && ms !== null ? [{ name, cyclesPerStep: c.perStep.estimatedCycles, msPerStep: ms }] : [],
  );
  return [
    '<h2>Instruction counts</h2>',
    await chart('counts-chart', countsChart(points)),
    htmlTable(
      ['name', ...COUNTS_HEADERS],
      rows.map(({ name, c, external, ms }) => [name, ...countsCells(c, ms, external)]),
    ),
    `<p class="note">${esc(COUNTS_NOTE)}</p>`,
  ];
}

function reproduce(f: ResultsFolder, label: string | null): string[] {
  const { lines, dirty } = reproduceCommands(f);
  return [
    ...(label ? [`<p>On ${esc(label)}:</p>`] : []),
    `<pre>${esc(lines.join('\n'))}</pre>`,
    ...(dirty ? [`<p class="note">${esc(DIRTY_NOTE)}</p>`] : []),
  ];
}

export function htmlTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const cell = (tag: string, text: string) => `<${tag}>${esc(text)}</${tag}>`;
  return [
    '<table>',
    `<tr>${headers.map((h) => cell('th', h)).join('')}</tr>`,
    ...rows.map((r) => `<tr>${r.map((c) => cell('td', c)).join('')}</tr>`),
    '</table>',
  ].join('\n');
}

export function esc(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
