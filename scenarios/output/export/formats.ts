/**
 * The one registry of output formats: name → the files it writes → the exporter of each. Every
 * command writes through it, choosing where each file goes; a new format is one exporter file plus
 * one entry here.
 */
import { writeFileAtomic } from '../../files.ts';
import { KINDS } from '../../bench/kinds/index.ts';
import type { Comparison } from '../../compare/compare.ts';
import { compareJson, compareMarkdown } from './compare.ts';
import { compareHtml } from './compare-html.ts';
import { countsCsv, kindCsv, lossesCsv, summaryCsv } from './csv.ts';
import type { AsyncExporter, Exporter, Folders } from './exporter.ts';
import { htmlReport } from './html.ts';
import { jsonExport } from './json.ts';
import { markdownReport } from './markdown.ts';
import { microCsv, microMarkdown, type MicroReport } from './micro.ts';

/** One file of a format: its name's ending ("md", "summary.csv") and what writes it. */
export interface FormatFile<T> {
  readonly suffix: string;
  readonly exporter: Exporter<T> | AsyncExporter<T>;
}

export interface Format<T> {
  readonly name: string;
  readonly files: readonly FormatFile<T>[];
}

/** The formats of bench:all's results (bench:all and `report`). */
export const RESULTS_FORMATS: readonly Format<Folders>[] = [
  { name: 'md', files: [{ suffix: 'md', exporter: markdownReport }] },
  {
    name: 'csv',
    files: [
      ...KINDS.flatMap((kind) => {
        const exporter = kindCsv(kind);
        return exporter && kind.csv ? [{ suffix: kind.csv.file, exporter }] : [];
      }),
      { suffix: 'summary.csv', exporter: summaryCsv },
      { suffix: 'losses.csv', exporter: lossesCsv },
      { suffix: 'counts.csv', exporter: countsCsv },
    ],
  },
  { name: 'json', files: [{ suffix: 'json', exporter: jsonExport }] },
  { name: 'html', files: [{ suffix: 'html', exporter: htmlReport }] },
];

/** The formats of bench:micro's table. */
export const MICRO_FORMATS: readonly Format<MicroReport>[] = [
  { name: 'md', files: [{ suffix: 'md', exporter: microMarkdown }] },
  { name: 'csv', files: [{ suffix: 'csv', exporter: microCsv }] },
];

/** The formats of `npm run compare`'s result. */
export const COMPARE_FORMATS: readonly Format<Comparison>[] = [
  { name: 'md', files: [{ suffix: 'md', exporter: compareMarkdown }] },
  { name: 'json', files: [{ suffix: 'json', exporter: compareJson }] },
  { name: 'html', files: [{ suffix: 'html', exporter: compareHtml }] },
];

export function formatNames<T>(registry: readonly Format<T>[]): string[] {
  return registry.map((f) => f.name);
}

/** The registry's formats named, in the registry's order. */
export function selectFormats<T>(registry: readonly Format<T>[], names: readonly string[]): Format<T>[] {
  return registry.filter((f) => names.includes(f.name));
}

/** The paths each file of `formats` would go to, `pathOf` choosing from its suffix. */
export function plannedFiles<T>(formats: readonly Format<T>[], pathOf: (suffix: string) => string): string[] {
  return formats.flatMap((f) => f.files.map((file) => pathOf(file.suffix)));
}

/** Serializes every file first, then writes each atomically: an exporter that throws leaves nothing half-written. */
export async function writeFormats<T>(
  formats: readonly Format<T>[],
  data: T,
  pathOf: (suffix: string) => string,
): Promise<string[]> {
  const files = formats.flatMap((f) => f.files);
  const texts = await Promise.all(
    files.map(async (file) => [pathOf(file.suffix), await file.exporter.serialize(data)]),
  );
  for (const [path, text] of texts) writeFileAtomic(path, text);
  return texts.map(([path]) => path);
}
