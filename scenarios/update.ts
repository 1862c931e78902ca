import type { Engine } from '../engines/engine.ts';
import type { AdamConfig } from '../engines/engine.ts';
import { Adam } from '../workload/adam.ts';

/**
 * The training step's update on one engine: the engine's own fused Adam if it has one, else the
 * default path (read the gradients, workload/adam.ts's Adam, write the parameters back).
 */
export class EngineUpdate {
  private readonly grads: Float64Array;
  private readonly adam: Adam | null;

  constructor(
    private readonly engine: Engine,
    private readonly cfg: AdamConfig,
    /** The parameters the engine was initialised with; the default path updates them in place. */
    private readonly params: Float64Array,
  ) {
    const fused = engine.fusedAdam !== undefined;
    this.grads = new Float64Array(fused ? 0 : params.length);
    this.adam = fused ? null : new Adam(params.length, cfg);
  }

  /** The update of step `step` (from 0), after that step's backward pass. */
  update(step: number): void {
    const { engine, adam } = this;
    if (adam === null) {
      engine.fusedAdam!.update(this.cfg, step);
      return;
    }
    engine.readGrads(this.grads);
    adam.update(this.params, this.grads, step);
    engine.writeParams(this.params);
  }

  /** Brings `params` up to date: a fused update leaves them in the engine. */
  syncParams(): void {
    this.engine.fusedAdam?.readParams(this.params);
  }
}
