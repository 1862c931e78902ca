/**
 * Exporters in the manner of hyperfine's src/export/: one format each, behind one interface, each
 * turning fixed input into the whole text of one file (so each is tested on fixed results).
 */
import type { ResultsFolder } from '../../bench/results.ts';

export interface Exporter<T> {
  serialize(data: T): string;
}

/** An exporter that must wait for something (a chart renderer) before its text is whole. */
export interface AsyncExporter<T> {
  serialize(data: T): Promise<string>;
}

/** What the results exporters read: one folder per machine, or one per bench run. */
export type Folders = readonly ResultsFolder[];

/** A name for each folder's machine: its host name, plus the folder's name where a host appears twice. */
export function machineLabels(folders: Folders): string[] {
  const hosts = folders.map((f) => f.env.machine);
  return folders.map((f, i) =>
    hosts.indexOf(hosts[i]) === hosts.lastIndexOf(hosts[i]) ? hosts[i] : `${hosts[i]} (${f.name})`,
  );
}
