/**
 * `npm run compare --format html`: the comparison as a page, and under each engine whose counts made
 * it slower or faster, where the change went: the functions that moved most (table and chart) and
 * an icicle of each side's estimated cycles per step, by group and function.
 */
import type { Comparison, EngineChange } from '../../compare/compare.ts';
import { formatPct } from '../../compare/compare.ts';
import { functionDiffChart, icicleChart } from '../charts/functions.ts';
import { formatCount } from '../units.ts';
import { changedEngines, functionRows } from './compare-functions.ts';
import type { AsyncExporter } from './exporter.ts';
import { chart, esc, htmlTable, STYLE } from './html.ts';

function countsCell(e: EngineChange): string {
  const c = e.counts;
  if (!c) return '—';
  const pct = `${c.ratio >= 1 ? '+' : '−'}${Math.abs(100 * (c.ratio - 1)).toFixed(2)}%`;
  return `${formatCount(c.baseCyclesPerStep)} → ${formatCount(c.newCyclesPerStep)} (${pct})`;
}

export const compareHtml: AsyncExporter<Comparison> = {
  async serialize(c) {
    const sections = await Promise.all(
      changedEngines(c).map(async ({ engine, functions: f, e }, i) => [
        `<h2>${esc(engine)}: where the change went (${esc(e.counts!.verdict)})</h2>`,
        await chart(`function-diff-${i}`, functionDiffChart(f, `${engine}: change per function`)),
        htmlTable(
          ['function', 'group', 'BASE', 'NEW', 'change', '% of BASE total', 'share of change'],
          functionRows(f).map((r) => r.map((cell) => cell.replace(/\*\*/g, ''))),
        ),
        await chart(`function-icicle-base-${i}`, icicleChart(f.profiles.base, f.steps.base, `${engine}, BASE`)),
        await chart(`function-icicle-new-${i}`, icicleChart(f.profiles.new, f.steps.new, `${engine}, NEW`)),
        `<p class="note">Estimated cycles per training step, callgrind's own cost of each function (no call ` +
          `stacks). Unattributed: ${(100 * f.unattributed.base).toFixed(3)}% of BASE, ` +
          `${(100 * f.unattributed.new).toFixed(3)}% of NEW.</p>`,
      ]),
    );
    return [
      '<!doctype html>',
      '<html lang="en">',
      '<head>',
      '<meta charset="utf-8">',
      '<title>microgpt-bench: compare</title>',
      `<style>${STYLE}</style>`,
      '</head>',
      '<body>',
      '<h1>Comparison</h1>',
      `<p>BASE ${esc(c.base)} · NEW ${esc(c.new)} · threshold ±${esc(formatPct(c.options.threshold))}</p>`,
      htmlTable(
        ['engine', 'time verdict', 'est. cycles/step', 'counts verdict'],
        c.engines.map((e) => [e.engine, `${e.verdict}: ${e.note}`, countsCell(e), e.counts?.verdict ?? '—']),
      ),
      ...c.warnings.map((w) => `<p class="note">warning: ${esc(w)}</p>`),
      ...sections.flat(),
      '</body>',
      '</html>',
      '',
    ].join('\n');
  },
};
