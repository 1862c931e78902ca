/** `npm run compare`'s outputs: a Markdown table for people, a JSON document at full precision. */
import { formatPct, type Comparison, type EngineChange } from '../../compare/compare.ts';
import { markdownTable } from '../table.ts';
import { formatCount, formatExp, formatNumber } from '../units.ts';
import type { Exporter } from './exporter.ts';
import { functionSections } from './compare-functions.ts';

/** "+12.3% (+8.1% … +16.0%)": the change of the median time as new/base − 1, with its interval. */
function changeText(e: EngineChange): string {
  if (e.ratio === null) return '—';
  const pct = (r: number) => `${r >= 1 ? '+' : '−'}${Math.abs(100 * (r - 1)).toFixed(1)}%`;
  return `${pct(e.ratio)} (${pct(e.ratioLow!)} … ${pct(e.ratioHigh!)})`;
}

function lossText(e: EngineChange): string {
  return e.losses ? `changed from step ${e.losses.firstStep} (up to ${formatExp(e.losses.maxDiff)})` : 'identical';
}

function gradientText(e: EngineChange): string {
  const g = e.gradient;
  const text = g.base === g.new ? g.new : `${g.base} → ${g.new}`;
  return g.regressed ? `**${text}**` : text;
}

const ms = (v: number | null) => (v === null ? '—' : formatNumber(v));

/** "2.51M → 2.53M (+0.8%)": estimated cycles per step on each side and the change. */
function countsText(e: EngineChange): string {
  const c = e.counts;
  if (!c) return '—';
  const change = `${c.ratio >= 1 ? '+' : '−'}${Math.abs(100 * (c.ratio - 1)).toFixed(2)}%`;
  return `${formatCount(c.baseCyclesPerStep)} → ${formatCount(c.newCyclesPerStep)} (${change})`;
}

/** A verdict, its word marked when it is the one that decides a regression; the other one plain. */
function verdictCell(e: EngineChange, which: 'time' | 'counts'): string {
  const noCounts = e.countsNote === null ? '—' : `none: ${e.countsNote}`;
  const verdict = which === 'time' ? e.verdict : (e.counts?.verdict ?? noCounts);
  // Counts that cannot vouch for an engine fail the regression check themselves.
  const decides = (which === 'counts') === (e.counts !== null || e.countsUnverified);
  const word = decides && e.regression ? `**${verdict}**` : verdict;
  return which === 'time' ? `${word}: ${e.note}` : word;
}

export const compareMarkdown: Exporter<Comparison> = {
  serialize(c) {
    const pct = `${Math.round(100 * c.options.confidence)}%`;
    const rows = c.engines.map((e) => [
      e.basis === 'wall' ? `${e.engine} (wall time)` : e.engine,
      `${e.baseTrials} / ${e.newTrials}`,
      ms(e.baseMedianMs),
      ms(e.newMedianMs),
      changeText(e),
      e.p === null ? '—' : e.p.toFixed(3),
      verdictCell(e, 'time'),
      countsText(e),
      verdictCell(e, 'counts'),
      lossText(e),
      gradientText(e),
    ]);
    const lines = [
      '# Comparison',
      '',
      `BASE ${c.base} · NEW ${c.new} · threshold ±${formatPct(c.options.threshold)} · ${pct} confidence`,
      '',
      ...markdownTable(
        [
          'engine',
          'trials',
          'BASE median ms',
          'NEW median ms',
          `change (${pct} interval)`,
          'p',
          'time verdict',
          'est. cycles/step',
          'counts verdict',
          'losses',
          'gradients',
        ],
        rows,
        ['---', '---:', '---:', '---:', '---:', '---:', '---', '---:', '---', '---', '---'],
      ),
      '',
      'The change is the Hodges–Lehmann estimate of NEW / BASE over the training times, its interval the',
      "exact one from the Mann–Whitney U distribution, p that test's two-sided exact p-value. A program is",
      'compared on the training time it printed, or on its wall time where a trial printed none.',
      decidedBy(c),
      ...(c.warnings.length ? ['', ...c.warnings.map((w) => `- warning: ${w}`)] : []),
      ...functionSections(c),
      '',
    ];
    return lines.join('\n');
  },
};

/** Which measure decides each engine's regression: its counts where both folders counted it alike. */
function decidedBy(c: Comparison): string {
  const counted = c.engines.filter((e) => e.counts).map((e) => e.engine);
  if (counted.length === 0) return 'Time decides every verdict: the folders have no counts to compare.';
  const timed = c.engines.filter((e) => !e.counts).map((e) => e.engine);
  const rest = timed.length ? `; time decides for ${timed.join(', ')}` : '';
  return (
    `Counts decide for ${counted.join(', ')}${rest}: estimated cycles per training step of the count job, ` +
    `deterministic, so a change beyond ±${formatPct(c.options.threshold)} is slower or faster, ` +
    'and no interval is needed.'
  );
}

export const compareJson: Exporter<Comparison> = {
  serialize: (c) => JSON.stringify(c, null, 2) + '\n',
};
