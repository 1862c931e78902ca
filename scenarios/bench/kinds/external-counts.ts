/** An external program's count run: its whole process tree once under callgrind. */
import external from './external.ts';
import type { ExternalResult } from './external.ts';
import type { RunKind } from '../job-kind.ts';

const kind: RunKind<ExternalResult> = {
  name: 'external-counts',
  runLabel: 'count run',
  result: external.result,
  rounds: () => ({ warmup: 0, trials: 1 }),
  describe: external.describe,
};
export default kind;
