/** The training kind's run, apart from its schemas: what a worker loads to train (kinds/train.ts). */
import { train, type TrainResult } from '../../train.ts';
import { defineRun } from '../job-kind.ts';

export default defineRun<TrainResult>({
  run: ({ engine, dataset, config }, progress) =>
    train({
      engineName: engine.name,
      engine: engine.create(),
      config,
      dataset,
      onStart: () => progress.start(config.steps),
      onStep: (step, loss) => progress.step(step, loss),
    }),
});
