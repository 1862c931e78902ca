/** Which results folders ran the same job, so that their figures may share a table. */
import type { ResultsFolder } from './results.ts';

/** The same dataset bytes and the same hyperparameters, seed and step count included. */
export function jobKey(folder: ResultsFolder): string {
  return JSON.stringify([folder.env.dataset.sha256, folder.env.config]);
}

/** The folders grouped by job, groups and folders in the order given. */
export function groupByJob<F extends ResultsFolder>(folders: readonly F[]): F[][] {
  const groups = new Map<string, F[]>();
  for (const folder of folders) {
    const key = jobKey(folder);
    groups.set(key, [...(groups.get(key) ?? []), folder]);
  }
  return [...groups.values()];
}
