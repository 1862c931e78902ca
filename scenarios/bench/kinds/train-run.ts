/** The training kind's run, apart from its schemas: what a worker loads to train (kinds/train.ts). */
import { startEngine } from '../../../engines/registry.ts';
import { train, type TrainResult } from '../../train.ts';
import { defineRun } from '../job-kind.ts';

export default defineRun<TrainResult>({
  run: async ({ engine, dataset, config }, progress) =>
    train({
      engineName: engine.name,
      engine: await startEngine(engine),
      config,
      dataset,
      onStart: () => progress.start(config.steps),
      onStep: (step, loss) => progress.step(step, loss),
    }),
});
