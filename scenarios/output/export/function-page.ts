/**
 * One engine's per-function profile from counts as a page: an icicle of its training steps'
 * estimated cycles (groups, then functions; callgrind's own cost per function, no call stacks) and
 * a table of the most costly functions with V8's tiers apart.
 */
import type { FunctionProfile } from '../../bench/counts/functions.ts';
import { icicleChart } from '../charts/functions.ts';
import { formatCount } from '../units.ts';
import { chart, esc, htmlTable, STYLE } from './html.ts';

/** Functions listed in the table. */
const LISTED = 40;

export async function functionPage(
  engine: string,
  profile: FunctionProfile,
  steps: number,
  job: string,
): Promise<string> {
  const total = profile.total.estimatedCycles;
  const share = (x: number, of = total) => `${((100 * x) / of).toFixed(2)}%`;
  const rows = profile.functions.slice(0, LISTED).map((f) => [
    f.name,
    f.group,
    formatCount(f.estimatedCycles / steps),
    share(f.estimatedCycles),
    formatCount(f.instructions / steps),
    f.tiers
      ? Object.entries(f.tiers)
          .map(([tier, c]) => `${tier} ${share(c.estimatedCycles, f.estimatedCycles)}`)
          .join(', ')
      : '',
    f.location ?? '',
  ]);
  const unattributed = profile.unattributed.instructions / profile.total.instructions;
  const contested = profile.contested.instructions / profile.total.instructions;
  return [
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    `<title>microgpt-bench: ${esc(engine)} per function (counts)</title>`,
    `<style>${STYLE}</style>`,
    '</head>',
    '<body>',
    `<h1>${esc(engine)}: the training steps per function, counted</h1>`,
    `<p>${esc(job)}</p>`,
    await chart('function-icicle', icicleChart(profile, steps, `${engine}: estimated cycles per step`)),
    htmlTable(['function', 'group', 'est. cycles/step', 'share', 'instructions/step', 'tiers', 'at'], rows),
    `<p class="note">${esc(
      `Counted under callgrind: each function's own instructions and estimated cycles (no call stacks: a ` +
        `function's callees are counted in their own rows), JavaScript and wasm named by V8's perf map, ` +
        `native code by its symbol. Unattributed: ${(100 * unattributed).toFixed(3)}% of the instructions; ` +
        `contested (code compiled in the steps over a range older code had used): ${(100 * contested).toFixed(3)}%.`,
    )}</p>`,
    '</body>',
    '</html>',
    '',
  ].join('\n');
}
