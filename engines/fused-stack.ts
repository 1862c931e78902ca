import type { ParamMatrix } from './engine.ts';
import { fusedLinear } from './fused.ts';
import { StackEngine } from './stack.ts';
import type { Value } from './value-graph.ts';

/** The study's "optimized" configuration: fused linear nodes with the published stack backward. */
export class FusedStackEngine extends StackEngine {
  override linear(x: Value[], w: ParamMatrix): Value[] {
    return fusedLinear(x, w, this.params);
  }
}
