import { describe, expect, it } from 'vitest';
import { Adam } from '../workload/adam.ts';
import { DEFAULT_CONFIG } from '../workload/config.ts';

describe('Adam against microgpt.py’s update, computed by CPython', () => {
  // CPython 3.11.7 ran microgpt.py's update loop (lr 0.01, beta1 0.85, beta2 0.99, eps 1e-8,
  // num_steps 10, bias correction, linear decay) on these parameters and gradients, printing repr(p).
  const GRADS = [
    [0.1, -2.0, 0.0, 3e-4],
    [-0.05, 1.5, 1e-3, 2.0],
    [0.2, 0.25, -0.7, 0.0],
  ];
  const AFTER = [
    [0.4900000009999999, -0.29000000005, 0.0, 1.1900003333222227],
    [0.48784297953943034, -0.28944921580063104, -0.006862639613095016, 1.1831367220256437],
    [0.48245749910875657, -0.28962126408126737, -0.0015097040933189478, 1.1785576568159921],
  ];

  it('three steps, bit for bit', () => {
    const params = Float64Array.from([0.5, -0.3, 0.0, 1.2]);
    const adam = new Adam(params.length, { ...DEFAULT_CONFIG, steps: 10 });
    GRADS.forEach((grads, step) => {
      adam.update(params, Float64Array.from(grads), step);
      expect(Array.from(params), `after step ${step + 1}`).toEqual(AFTER[step]);
    });
  });

  it('uses microgpt.py’s hyperparameters by default: lr 0.01, beta1 0.85, beta2 0.99, eps 1e-8', () =>
    expect(DEFAULT_CONFIG).toMatchObject({ learningRate: 0.01, beta1: 0.85, beta2: 0.99, epsAdam: 1e-8 }));
});
