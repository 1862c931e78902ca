/**
 * One JSON document with everything: per folder its environment, the summary (a row per engine, with
 * summary.csv's fields) and every run as runs.jsonl holds it. Infinite figures are written as null.
 */
import { runsInJobOrder } from '../../bench/results.ts';
import { summarize } from '../../bench/summary.ts';
import { SUMMARY_COLUMNS } from './csv.ts';
import { machineLabels, type Exporter, type Folders } from './exporter.ts';

export const jsonExport: Exporter<Folders> = {
  serialize(folders) {
    const labels = machineLabels(folders);
    const document = {
      folders: folders.map((f, i) => ({
        machine: labels[i],
        name: f.name,
        dir: f.dir,
        env: f.env,
        summary: summarize(f).map((s) =>
          Object.fromEntries(Object.entries(SUMMARY_COLUMNS).map(([column, cell]) => [column, cell(s) ?? null])),
        ),
        runs: runsInJobOrder(f),
      })),
    };
    return JSON.stringify(document, null, 2) + '\n';
  },
};
