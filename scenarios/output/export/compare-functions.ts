/**
 * compare's per-function sections: under each engine whose counts made it slower or faster, the
 * functions whose estimated cycles per step moved most, and the rest summed, so the rows add up to
 * the engine's change.
 */
import type { Comparison, EngineChange } from '../../compare/compare.ts';
import type { FunctionChanges } from '../../compare/functions.ts';
import { markdownTable } from '../table.ts';
import { formatCount } from '../units.ts';

/** The engines the sections are for: a counts verdict of slower or faster, with functions on both sides. */
export function changedEngines(c: Comparison): { engine: string; functions: FunctionChanges; e: EngineChange }[] {
  return c.engines.flatMap((e) =>
    e.counts?.functions && e.counts.verdict !== 'no change'
      ? [{ engine: e.engine, functions: e.counts.functions, e }]
      : [],
  );
}

const signed = (x: number) => `${x >= 0 ? '+' : '−'}${formatCount(Math.abs(x))}`;
const signedPct = (x: number, digits = 2) => `${x >= 0 ? '+' : '−'}${Math.abs(100 * x).toFixed(digits)}%`;

/** The rows of one engine's table: function, group, BASE, NEW, change, % of BASE's total, share of the change. */
export function functionRows(f: FunctionChanges): string[][] {
  const rows = f.top.map((r) => [
    r.name,
    r.group,
    formatCount(r.baseCyclesPerStep),
    formatCount(r.newCyclesPerStep),
    signed(r.change),
    signedPct(r.ofTotal, 3),
    signedPct(r.ofChange, 1),
  ]);
  const restShare = f.change === 0 ? 0 : f.rest.change / f.change;
  rows.push([
    `(${f.rest.functions} other functions)`,
    '',
    '',
    '',
    signed(f.rest.change),
    signedPct(f.rest.ofTotal, 3),
    signedPct(restShare, 1),
  ]);
  rows.push(['**total**', '', '', '', `**${signed(f.change)}**`, '', '']);
  return rows;
}

export function functionSections(c: Comparison): string[] {
  return changedEngines(c).flatMap(({ engine, functions: f, e }) => [
    '',
    `## ${engine}: where the change went (${e.counts!.verdict}, estimated cycles per step)`,
    '',
    ...markdownTable(
      ['function', 'group', 'BASE', 'NEW', 'change', '% of BASE total', 'share of change'],
      functionRows(f),
      ['---', '---', '---:', '---:', '---:', '---:', '---:'],
    ),
    '',
    `Unattributed (no name for the address): ${(100 * f.unattributed.base).toFixed(3)}% of BASE's instructions, ` +
      `${(100 * f.unattributed.new).toFixed(3)}% of NEW's.`,
  ]);
}
