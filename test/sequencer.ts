/**
 * The order the test files start in, the same in a fresh clone as after a run. vitest's own order is
 * by the last run's durations, or by file size where it has none (a fresh clone, CI): either way the
 * three files that count under valgrind (counts, bench-history, bench-sweep) start together, and the
 * files that mostly wait (on a --timeout to pass, a signal to land) run later, two of them at once
 * with a core idle. Here a file that waits starts beside one that counts, whose benches run several
 * processes at once and fill the core the waiting file leaves; the counting files start one after
 * another. Measured in place: 243 s and 477 s of CPU with both cores 98.6% busy, against 258 s and
 * 495 s at 96.5% in vitest's order; the same count run took 16.5 s and 17.9 s of CPU beside them, so
 * most of that gap is the machine's speed, and what the order buys for sure is the idle core.
 */
import { statSync } from 'node:fs';
import { basename } from 'node:path';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/** These first, in this order; the rest after them, larger files first. */
const FIRST: readonly string[] = [
  'counts.test.ts',
  'faults-output.test.ts',
  'externals-bench.test.ts',
  'bench-history.test.ts',
  'external-hangs.test.ts',
  'bench-sweep.test.ts',
  'faults-processes.test.ts',
];

export class SuiteSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const rank = (file: TestSpecification) => {
      const at = FIRST.indexOf(basename(file.moduleId));
      return at < 0 ? FIRST.length : at;
    };
    const size = (file: TestSpecification) => statSync(file.moduleId).size;
    return [...files].sort((a, b) => rank(a) - rank(b) || size(b) - size(a));
  }
}
