/** The results exporters, in the manner of hyperfine's src/export/: one format each, behind one interface. */
import type { ResultsFolder } from '../results.ts';

export interface Exporter {
  /** The file's whole text for these folders (one per machine, or one per bench run). */
  serialize(folders: readonly ResultsFolder[]): string;
}

/** A name for each folder's machine: its host name, plus the folder's name where a host appears twice. */
export function machineLabels(folders: readonly ResultsFolder[]): string[] {
  const hosts = folders.map((f) => f.env.machine);
  return folders.map((f, i) =>
    hosts.indexOf(hosts[i]) === hosts.lastIndexOf(hosts[i]) ? hosts[i] : `${hosts[i]} (${f.name})`,
  );
}
