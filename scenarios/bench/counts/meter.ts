/**
 * The counting meter: a ResourceMeter that runs each command under callgrind instead of GNU time, so
 * the executors that run engines' workers and external programs count them unchanged.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UNMEASURED, type ResourceMeter } from '../resource-meter.ts';
import { callgrindRun, COUNTED_UNSET_ENV, DETERMINISTIC_ENV, DETERMINISTIC_NODE_FLAGS } from './callgrind.ts';

export function countingMeter(): ResourceMeter {
  const dir = mkdtempSync(join(tmpdir(), 'microgpt-bench-counts-'));
  return {
    nodeFlags: DETERMINISTIC_NODE_FLAGS,
    env: DETERMINISTIC_ENV,
    unsetEnv: COUNTED_UNSET_ENV,
    wrap(argv) {
      const run = callgrindRun(argv, dir);
      return { argv: run.argv, read: () => ({ ...UNMEASURED, counts: run.read(), signal: null }) };
    },
    dispose: () => rmSync(dir, { recursive: true, force: true }),
  };
}
