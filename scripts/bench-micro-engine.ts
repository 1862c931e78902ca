/**
 * One micro-benchmark — one engine, one operation — in this process only (started by
 * `npm run bench:micro`, a process per pair, so no measurement runs on JIT state another left
 * behind). Prints its row as JSON on stdout; an engine that throws ends it with one line on stderr
 * ("error: threw …") and exit code 1.
 */
import { startEngine } from '../engines/registry.ts';
import {
  DEFAULT_MICRO_TIME_MS,
  MICRO_OPERATIONS,
  microTask,
  runMicro,
  type MicroOperation,
} from '../scenarios/micro.ts';
import { DEFAULT_CONFIG } from '../workload/config.ts';
import { loadDataset } from '../workload/dataset.ts';
import { choiceListFlag, command, CommandError, intFlag } from './cli.ts';
import { engineFlag } from './job-flags.ts';

command({
  help: () => 'Internal: one engine × operation of `npm run bench:micro` (see its --help).',
  flags: {
    engine: { type: 'string' },
    operation: { type: 'string' },
    time: { type: 'string' },
    data: { type: 'string' },
  },
  async run({ values, engines }) {
    const info = engineFlag(engines, values.engine);
    const [operation] = choiceListFlag('operation', values.operation, MICRO_OPERATIONS) as MicroOperation[];
    const timeMs = intFlag('time', values.time, DEFAULT_MICRO_TIME_MS);
    const dataset = loadDataset(values.data);
    let row;
    try {
      row = runMicro(
        info.name,
        operation,
        microTask(operation, await startEngine(info), DEFAULT_CONFIG, dataset),
        timeMs,
      );
    } catch (err) {
      // The engine's fault, in the one line bench:micro records as the row's reason.
      throw new CommandError(`threw ${(err instanceof Error ? err.message : String(err)).split('\n')[0]}`);
    }
    // A timer or handle the engine left open must not keep a finished measurement alive until its timeout.
    process.stdout.write(JSON.stringify(row) + '\n', (err) => process.exit(err ? 1 : 0));
  },
});
