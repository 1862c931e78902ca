import type { AdamConfig } from '../engines/engine.ts';

/**
 * microgpt.py's Adam with bias correction and linear learning-rate decay, float operation for
 * float operation. One operation is not the same function in both: the bias corrections' powers.
 * CPython's `beta ** t` is the C library's pow and `Math.pow` is V8's own, and they round
 * differently in the last bit for about one t in ten (0.99 ** 6 and 0.85 ** 7 are the first; 196
 * of the 2,000 powers of a 1000-step job). So the parameters match the Python run's bit for bit
 * (when the gradients do) through step 5, then within a few units in the last place: the 1000
 * losses printed to 4 decimals stay microgpt.py's, and tensor's stay within 1e-12 of its
 * (test/reference-job.test.ts, test/tensor.test.ts).
 */
export class Adam {
  private readonly m: Float64Array;
  private readonly v: Float64Array;

  constructor(
    size: number,
    private readonly cfg: AdamConfig,
  ) {
    this.m = new Float64Array(size);
    this.v = new Float64Array(size);
  }

  /** Updates `params` in place from `grads`; `step` counts from 0. */
  update(params: Float64Array, grads: Float64Array, step: number): void {
    const { learningRate, beta1, beta2, epsAdam, steps } = this.cfg;
    const lrT = learningRate * (1 - step / steps);
    const mCorrection = 1 - Math.pow(beta1, step + 1);
    const vCorrection = 1 - Math.pow(beta2, step + 1);
    const m = this.m;
    const v = this.v;
    for (let i = 0; i < params.length; i++) {
      const g = grads[i];
      m[i] = beta1 * m[i] + (1 - beta1) * g;
      v[i] = beta2 * v[i] + (1 - beta2) * (g * g);
      const mHat = m[i] / mCorrection;
      const vHat = v[i] / vCorrection;
      params[i] -= (lrT * mHat) / (Math.sqrt(vHat) + epsAdam);
    }
  }
}
