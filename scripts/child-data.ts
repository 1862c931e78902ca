import { join, resolve } from 'node:path';
import { InputError } from '../engines/input-error.ts';
import { writeFileAtomic } from '../scenarios/files.ts';
import type { Dataset } from '../workload/dataset.ts';

/**
 * The dataset as a file in a results folder: a copy of --data that could be read only once, or, for
 * external programs' {data} without --data, the embedded list (bench-all.ts).
 */
export const DATA_COPY_FILE = 'dataset.txt';

/**
 * The --data path a command's child processes (workers, external programs, count runs, a profiled
 * job) are given: --data itself for a regular file, which each of them reads again. What can be read
 * only once (a pipe, /dev/stdin, a process substitution) the command has read, and the children get
 * a copy of those bytes, written as `<dir>/dataset.txt`: given /dev/stdin, every run read nothing
 * and failed (`contains no documents`). null without --data (the embedded list).
 */
export function dataPathForChildren(dataset: Dataset, dataPath: string | null, dir: string): string | null {
  if (dataPath === null) return null;
  if (dataset.readOnce === undefined) return resolve(dataPath);
  const copy = join(dir, DATA_COPY_FILE);
  writeFileAtomic(copy, dataset.readOnce);
  return copy;
}

/**
 * For a command whose children read --data again but that keeps no folder of the run to put a copy
 * in (bench:history's cache, a profiler's run): what can be read only once is refused, one line.
 */
export function assertRereadable(dataset: Dataset, dataPath: string): void {
  if (dataset.readOnce !== undefined)
    throw new InputError(
      `--data ${dataPath}: can be read only once (a pipe or a device), and each run reads it again; save it to a file`,
    );
}
