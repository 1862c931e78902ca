/**
 * One micro-benchmark — one engine, one operation — in this process only (started by
 * `npm run bench:micro`, a process per pair, so no measurement runs on JIT state another left
 * behind). Prints its row as JSON on stdout.
 */
import {
  DEFAULT_MICRO_TIME_MS,
  MICRO_OPERATIONS,
  microTask,
  runMicro,
  type MicroOperation,
} from '../scenarios/micro.ts';
import { DEFAULT_CONFIG } from '../workload/config.ts';
import { loadDataset } from '../workload/dataset.ts';
import { choiceListFlag, command, intFlag } from './cli.ts';
import { engineFlag } from './job-flags.ts';

command({
  help: () => 'Internal: one engine × operation of `npm run bench:micro` (see its --help).',
  flags: {
    engine: { type: 'string' },
    operation: { type: 'string' },
    time: { type: 'string' },
    data: { type: 'string' },
  },
  run({ values, engines }) {
    const info = engineFlag(engines, values.engine);
    const [operation] = choiceListFlag('operation', values.operation, MICRO_OPERATIONS) as MicroOperation[];
    const timeMs = intFlag('time', values.time, DEFAULT_MICRO_TIME_MS);
    const task = microTask(operation, info.create, DEFAULT_CONFIG, loadDataset(values.data));
    process.stdout.write(JSON.stringify(runMicro(info.name, operation, task, timeMs)) + '\n');
  },
});
