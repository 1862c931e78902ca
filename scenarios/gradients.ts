import type { Engine } from '../engines/engine.ts';
import type { TrainConfig } from '../workload/config.ts';
import { stepLoss, trainingStep, type ModelLayout } from '../workload/model.ts';

/** One document's loss at the engine's current parameters (a forward pass only). */
function lossOf(engine: Engine, layout: ModelLayout, cfg: TrainConfig, tokens: readonly number[]): number {
  const out = new Float64Array(1);
  engine.reset();
  engine.read(stepLoss(engine, layout, cfg, tokens, null), out);
  return out[0];
}

/** The loss and every parameter gradient of one document at `params` (through valueAndGrad when the engine has it). */
export function gradientsOf(
  engine: Engine,
  layout: ModelLayout,
  cfg: TrainConfig,
  tokens: readonly number[],
  params: Float64Array,
): { loss: number; grads: Float64Array } {
  engine.writeParams(params);
  engine.reset();
  const out = new Float64Array(1);
  trainingStep(engine, layout, cfg, tokens, null, out, null);
  const grads = new Float64Array(layout.numParams);
  engine.readGrads(grads);
  return { loss: out[0], grads };
}

/** Central finite difference of the loss with respect to parameter `index`: (L(p+h) − L(p−h)) / 2h. */
export function finiteDifference(
  engine: Engine,
  layout: ModelLayout,
  cfg: TrainConfig,
  tokens: readonly number[],
  params: Float64Array,
  index: number,
  h = 1e-5,
): number {
  const p = Float64Array.from(params);
  p[index] = params[index] + h;
  engine.writeParams(p);
  const up = lossOf(engine, layout, cfg, tokens);
  p[index] = params[index] - h;
  engine.writeParams(p);
  const down = lossOf(engine, layout, cfg, tokens);
  engine.writeParams(params);
  return (up - down) / (2 * h);
}
