/**
 * Per-function charts of counts: an icicle of one profile (the whole part, then its groups, then
 * their functions, each as wide as its estimated cycles), and the difference between two profiles
 * (the functions that moved most, and the rest). Positions are computed here, so the spec holds
 * only rectangles and the page stays small and the same for the same data.
 */
import type { TopLevelSpec } from 'vega-lite';
import type { FunctionProfile } from '../../bench/counts/functions.ts';
import type { FunctionChanges } from '../../compare/functions.ts';

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';
const WIDTH = 900;
/** A box narrower than this share of the whole gets no label (it would not fit). */
const LABEL_FROM = 0.035;
/** Functions below this share of the whole are left out of the icicle's bottom row (their group shows them). */
const DRAW_FROM = 0.001;

interface Box {
  readonly level: string;
  readonly name: string;
  readonly group: string;
  readonly x0: number;
  readonly x1: number;
  readonly label: string;
}

const LEVELS = ['all', 'group', 'function'] as const;

/** The icicle's boxes: in estimated cycles per step, groups and their functions most costly first. */
export function icicleBoxes(profile: FunctionProfile, steps: number): Box[] {
  const total = profile.total.estimatedCycles / steps;
  const groups = new Map<string, { cycles: number; functions: { name: string; cycles: number }[] }>();
  for (const f of profile.functions) {
    const g = groups.get(f.group) ?? { cycles: 0, functions: [] };
    g.cycles += f.estimatedCycles / steps;
    g.functions.push({ name: f.name, cycles: f.estimatedCycles / steps });
    groups.set(f.group, g);
  }
  const label = (name: string, width: number) => (width / total >= LABEL_FROM ? name : '');
  const boxes: Box[] = [{ level: 'all', name: 'all', group: 'all', x0: 0, x1: total, label: 'training steps' }];
  let x = 0;
  for (const [group, g] of [...groups].sort((a, b) => b[1].cycles - a[1].cycles)) {
    boxes.push({ level: 'group', name: group, group, x0: x, x1: x + g.cycles, label: label(group, g.cycles) });
    let fx = x;
    for (const f of g.functions.sort((a, b) => b.cycles - a.cycles)) {
      if (f.cycles / total >= DRAW_FROM) {
        boxes.push({
          level: 'function',
          name: f.name,
          group,
          x0: fx,
          x1: fx + f.cycles,
          label: label(f.name, f.cycles),
        });
      }
      fx += f.cycles;
    }
    x += g.cycles;
  }
  return boxes;
}

/** An icicle of one profile (a flame graph upside down, without call stacks: callgrind's self cost per function). */
export function icicleChart(profile: FunctionProfile, steps: number, title: string): TopLevelSpec {
  return {
    $schema: SCHEMA,
    title,
    width: WIDTH,
    height: 150,
    data: { values: icicleBoxes(profile, steps) },
    encoding: {
      y: { field: 'level', type: 'ordinal', sort: [...LEVELS], axis: { title: null } },
    },
    layer: [
      {
        mark: { type: 'rect', stroke: 'white', strokeWidth: 0.5 },
        encoding: {
          x: { field: 'x0', type: 'quantitative', title: 'estimated cycles per step' },
          x2: { field: 'x1' },
          color: { field: 'group', type: 'nominal', legend: { title: 'group', orient: 'bottom', columns: 4 } },
        },
      },
      {
        transform: [{ calculate: '(datum.x0 + datum.x1) / 2', as: 'xm' }],
        mark: { type: 'text', fontSize: 9, limit: 110 },
        encoding: { x: { field: 'xm', type: 'quantitative' }, text: { field: 'label' } },
      },
    ],
  };
}

/** The change of each function that moved most, and of the rest, in estimated cycles per step. */
export function functionDiffChart(changes: FunctionChanges, title: string): TopLevelSpec {
  const rows = [
    ...changes.top.map((f) => ({ name: f.name, change: f.change })),
    { name: `(${changes.rest.functions} other functions)`, change: changes.rest.change },
  ].map((r, order) => ({ ...r, order, direction: r.change >= 0 ? 'more (slower)' : 'less (faster)' }));
  return {
    $schema: SCHEMA,
    title,
    width: WIDTH - 300,
    data: { values: rows },
    mark: 'bar',
    encoding: {
      y: { field: 'name', type: 'nominal', sort: { field: 'order' }, title: null, axis: { labelLimit: 300 } },
      x: { field: 'change', type: 'quantitative', title: 'change in estimated cycles per step (NEW − BASE)' },
      color: {
        field: 'direction',
        type: 'nominal',
        scale: { domain: ['more (slower)', 'less (faster)'], range: ['#e45756', '#4c78a8'] },
        legend: { title: null, orient: 'bottom' },
      },
    },
  };
}
