/**
 * One micro-benchmark — one engine, one operation — in this process only (started by
 * `npm run bench:micro`, a process per pair, so no measurement runs on JIT state another left
 * behind). Prints its row as JSON on stdout.
 */
import { DEFAULT_MICRO_TIME_MS, MICRO_OPERATIONS, microTask, runMicro } from '../scenarios/micro.ts';
import { DEFAULT_CONFIG } from '../workload/config.ts';
import { loadDataset } from '../workload/dataset.ts';
import { choiceListFlag, intFlag, parseFlags, runCli } from './cli.ts';
import { engineFlag } from './job-flags.ts';

runCli(() => {
  const { values } = parseFlags(process.argv.slice(2), {
    engine: { type: 'string' },
    operation: { type: 'string' },
    time: { type: 'string' },
    data: { type: 'string' },
  });
  const info = engineFlag(values.engine);
  const [operation] = choiceListFlag(
    'operation',
    values.operation,
    MICRO_OPERATIONS,
  ) as (typeof MICRO_OPERATIONS)[number][];
  const timeMs = intFlag('time', values.time, DEFAULT_MICRO_TIME_MS);
  const task = microTask(operation, info.create, DEFAULT_CONFIG, loadDataset(values.data));
  process.stdout.write(JSON.stringify(runMicro(info.name, operation, task, timeMs)) + '\n');
});
