/**
 * The perf map V8 writes with --perf-basic-prof (`/tmp/perf-<pid>.map`, a fixed path in V8), and
 * where the count run notes how far it had got at the steps' two marks (`/tmp/perf-<pid>.marks`):
 * entries written after the last mark name code that never ran in the steps. V8 writes the map line
 * by line (unbuffered per line), so its size at a mark is every entry made before it.
 */
import { existsSync, rmSync, statSync } from 'node:fs';
import { writeFileAtomic } from '../../files.ts';

export const perfMapPath = (pid: number | string) => `/tmp/perf-${pid}.map`;
export const perfMarksPath = (pid: number | string) => `/tmp/perf-${pid}.marks`;

/** Whether this process writes a perf map. */
export const writesPerfMap = () => process.execArgv.includes('--perf-basic-prof');

/** The map's size now (0 if it has none yet). */
export function perfMapSize(pid = process.pid): number {
  const path = perfMapPath(pid);
  return existsSync(path) ? statSync(path).size : 0;
}

/** Saves the sizes noted at the marks, once the steps are over (writing a file inside them would be counted). */
export function savePerfMarks(sizes: readonly number[], pid = process.pid): void {
  writeFileAtomic(perfMarksPath(pid), sizes.join(' ') + '\n');
}

/** Removes a process's map and marks (the count run's reader does, once it has read them). */
export function removePerfFiles(pid: number | string): void {
  rmSync(perfMapPath(pid), { force: true });
  rmSync(perfMarksPath(pid), { force: true });
}
