/**
 * The micro-benchmarks of one engine, in this process only (started by `npm run bench:micro`, one
 * process per engine so no engine runs on JIT state another left behind). Prints its rows as one
 * JSON array on stdout.
 */
import { DEFAULT_MICRO_TIME_MS, microTasks, runMicro } from '../scenarios/micro.ts';
import { DEFAULT_CONFIG } from '../workload/config.ts';
import { loadDataset } from '../workload/dataset.ts';
import { intFlag, parseFlags, runCli } from './cli.ts';
import { engineFlag } from './job-flags.ts';

runCli(() => {
  const { values } = parseFlags(process.argv.slice(2), { engine: { type: 'string' }, time: { type: 'string' }, data: { type: 'string' } });
  const info = engineFlag(values.engine);
  const timeMs = intFlag('time', values.time, DEFAULT_MICRO_TIME_MS);
  const rows = runMicro(info.name, microTasks(info.create, DEFAULT_CONFIG, loadDataset(values.data)), timeMs);
  process.stdout.write(JSON.stringify(rows) + '\n');
});
