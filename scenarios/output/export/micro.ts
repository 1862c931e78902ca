/** bench:micro's table: Markdown for people, CSV for tools. */
import { stringify } from 'csv-stringify/sync';
import type { MicroRow } from '../../micro.ts';
import { markdownTable } from '../table.ts';
import { formatCount } from '../units.ts';
import type { Exporter } from './exporter.ts';

/** One bench:micro run: its rows and the conditions they were measured under. */
export interface MicroReport {
  readonly rows: readonly MicroRow[];
  readonly timeMs: number;
  /** The training-step documents: a file, or the embedded list. */
  readonly data: string;
  readonly date: string;
  readonly node: string;
  readonly cpu: { readonly model: string; readonly count: number };
}

export const microMarkdown: Exporter<MicroReport> = {
  serialize(m) {
    const lines = [
      '# Micro-benchmarks: build + backward of one operation',
      '',
      `${m.date} · Node ${m.node} · ${m.cpu.count} × ${m.cpu.model} · ` +
        `tinybench, ${m.timeMs} ms per operation · training-step documents: ${m.data}`,
      '',
      ...markdownTable(
        ['operation', 'engine', 'mean ns/op', 'median ns/op', '±', 'samples'],
        m.rows.map((r) => [
          r.operation,
          r.engine,
          formatCount(r.meanNs),
          formatCount(r.medianNs),
          `±${r.rmePercent.toFixed(2)}%`,
          String(r.samples),
        ]),
        ['---', '---', '---:', '---:', '---:', '---:'],
      ),
      '',
      "± is tinybench's relative margin of error of the mean (95% confidence, within this run only).",
      'Each operation is reduced to a scalar with `sum` before `backward`; the time includes `reset`.',
    ];
    return lines.join('\n') + '\n';
  },
};

export const microCsv: Exporter<MicroReport> = {
  serialize(m) {
    return stringify(
      m.rows.map((r) => [r.engine, r.operation, r.meanNs, r.medianNs, r.rmePercent, r.samples]),
      { header: true, columns: ['engine', 'operation', 'mean_ns', 'median_ns', 'rme_percent', 'samples'] },
    );
  },
};
