/**
 * The TensorFlow.js engines (float32, gradients from tf.variableGrads through valueAndGrad): the
 * gradient check on a small model, and what their training runs record. Few steps: tfjs takes
 * tens of milliseconds a step here.
 */
import { describe, expect, it } from 'vitest';
import { ENGINES, findEngine, startEngine } from '../engines/registry.ts';
import { EngineRegistry } from '../engines/registry.ts';
import { gradcheck } from '../scenarios/gradcheck.ts';
import { train } from '../scenarios/train.ts';
import { TINY } from './helpers.ts';

const TFJS = ['tfjs-cpu', 'tfjs-wasm'];

describe.each(TFJS)('%s', (name) => {
  const info = findEngine(name)!;

  it('passes the gradient check within float32 rounding (finite differences on topo)', async () => {
    const r = await gradcheck({ engine: info, ...TINY, trajectorySteps: 3, fdSamples: 4 });
    console.log(`${name}: ${r.verdict}; max abs err ${r.maxAbsErr.toExponential(2)} (bound ${r.gradientBound})`);
    expect(r.verdict).toBe('pass (float32: within rounding)');
    expect(r.maxAbsErr).toBeGreaterThan(0);
    expect(r.fdOn).toBe('reference');
  });

  it('trains through valueAndGrad: phases split where the model returned, autograd recorded', async () => {
    const engine = await startEngine(info);
    expect(engine.valueAndGrad).toBeTypeOf('function');
    const r = train({ engineName: name, engine, ...TINY, config: { ...TINY.config, samples: 1 }, stopAfter: 2 });
    expect(r.autograd).toBe('function');
    expect(r.losses).toHaveLength(2);
    expect(r.timingMs.forward).toBeGreaterThan(0);
    expect(r.timingMs.backward).toBeGreaterThan(0);
    expect(r.samples).toHaveLength(1);
  });
});

describe('the tfjs engines in the registry', () => {
  it('are float32 and opt-in: the default set leaves them out', () => {
    for (const name of TFJS) expect(findEngine(name)).toMatchObject({ precision: 'float32', optIn: true });
    const defaults = new EngineRegistry(ENGINES).defaults().map((e) => e.name);
    expect(defaults).not.toContain('tfjs-cpu');
    expect(defaults).toContain('tensor');
  });
});
