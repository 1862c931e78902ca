/**
 * The process the profilers watch (started by `npm run flame` and `npm run clinic`, not by users):
 * the training job on one engine, silent, without phase timers so the profile shows the job and not
 * the timing code. On success it writes a one-object JSON summary to --summary, which tells the
 * caller the job really ran to the end (the profilers report success even when their target fails).
 */
import { writeFileAtomic } from '../scenarios/files.ts';
import { startEngine } from '../engines/registry.ts';
import { train } from '../scenarios/train.ts';
import { loadDataset } from '../workload/dataset.ts';
import { InputError } from '../engines/input-error.ts';
import { command } from './cli.ts';
import { JOB_FLAGS, assertEngineFits, configFromFlags, engineFlag } from './job-flags.ts';

command({
  help: () => 'Internal: the job `npm run flame` and `npm run clinic` profile (see their --help).',
  flags: { ...JOB_FLAGS, engine: { type: 'string' }, summary: { type: 'string' } },
  async run({ values, engines }) {
    if (values.summary === undefined) throw new InputError('--summary PATH is required');
    const info = engineFlag(engines, values.engine);
    const config = configFromFlags(values);
    const dataset = loadDataset(values.data);
    assertEngineFits(info, config, dataset);
    const result = train({
      engineName: info.name,
      engine: await startEngine(info),
      config,
      dataset,
      phaseTimers: false,
      // A profile shows what is timed: no untimed graph walks between the steps.
      graphStats: false,
    });
    const summary = {
      engine: result.engine,
      steps: config.steps,
      dataset: result.dataset.source,
      trainingMs: result.timingMs.total,
      msPerStep: result.msPerStep,
      finalLoss: result.finalLoss,
    };
    writeFileAtomic(values.summary, JSON.stringify(summary, null, 2) + '\n');
  },
});
