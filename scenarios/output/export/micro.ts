/** bench:micro's table: Markdown for people, CSV for tools; a failed engine × operation is a row with its reason. */
import type { MicroRow } from '../../micro.ts';
import { markdownTable, oneLine } from '../table.ts';
import { formatCount } from '../units.ts';
import { writeCsv } from './csv.ts';
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
      oneLine(
        `${m.date} · Node ${m.node} · ${m.cpu.count} × ${m.cpu.model} · ` +
          `tinybench, ${m.timeMs} ms per operation · training-step documents: ${m.data}`,
      ),
      '',
      ...markdownTable(
        ['operation', 'engine', 'mean ns/op', 'median ns/op', '±', 'samples', 'status'],
        m.rows.map((r) =>
          r.status === 'ok'
            ? [
                r.operation,
                r.engine,
                formatCount(r.meanNs),
                formatCount(r.medianNs),
                `±${r.rmePercent.toFixed(2)}%`,
                String(r.samples),
                'ok',
              ]
            : [r.operation, r.engine, '—', '—', '—', '—', `failed: ${r.reason}`],
        ),
        ['---', '---', '---:', '---:', '---:', '---:', '---'],
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
    return writeCsv(
      ['engine', 'operation', 'mean_ns', 'median_ns', 'rme_percent', 'samples', 'status', 'reason'],
      m.rows.map((r) =>
        r.status === 'ok'
          ? [r.engine, r.operation, r.meanNs, r.medianNs, r.rmePercent, r.samples, r.status, '']
          : [r.engine, r.operation, undefined, undefined, undefined, undefined, r.status, r.reason],
      ),
    );
  },
};
