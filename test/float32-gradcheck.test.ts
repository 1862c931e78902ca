import { describe, expect, it } from 'vitest';
import type { Engine } from '../engines/engine.ts';
import { Float32Rounded, float32Neighbour } from '../engines/float32.ts';
import { findEngine, type EngineInfo } from '../engines/registry.ts';
import { TensorEngine } from '../engines/tensor.ts';
import { gradcheck } from '../scenarios/gradcheck.ts';
import { float32Spread, UNIT_ROUNDOFF } from '../scenarios/precision.ts';
import { engines as float32Engines } from './fixtures/float32-engines.ts';
import { TINY } from './helpers.ts';

const fixture = (name: string) => ({ expected: 'correct' as const, ...float32Engines.find((e) => e.name === name)! });

/** A float32 engine built on tensor (rounded to float32), with `change` applied to it. */
function float32Tensor(name: string, change: (engine: Engine) => Engine): EngineInfo {
  return {
    name,
    description: 'test',
    study: 'test',
    expected: 'correct',
    precision: 'float32',
    create: () => change(new Float32Rounded(new TensorEngine())),
  };
}

/** The engine with every gradient it reads scaled by (1 + relative). */
const scaledGradients = (relative: number) => (engine: Engine) =>
  Object.assign(Object.create(engine) as Engine, {
    readGrads(out: Float64Array) {
      engine.readGrads(out);
      for (let i = 0; i < out.length; i++) out[i] *= 1 + relative;
    },
  });

/** The engine with every parameter written moved by `relative` (an update slightly off). */
const offUpdate = (relative: number) => (engine: Engine) =>
  Object.assign(Object.create(engine) as Engine, {
    writeParams(src: Float64Array) {
      engine.writeParams(src.map((p) => p * (1 + relative)));
    },
  });

const check = (engine: EngineInfo, trajectorySteps = 8) =>
  gradcheck({ engine, ...TINY, trajectorySteps, fdSamples: 4 });

describe('the gradient check of a float32 engine', () => {
  it('passes a correct engine rounded to float32, saying so; its finite differences are taken on topo', async () => {
    const r = await check(fixture('tensor-f32'));
    expect(r.verdict).toBe('pass (float32: within rounding)');
    expect(r.precision).toBe('float32');
    expect(r.fdOn).toBe('reference');
    expect(r.wrongParams).toBe(0);
    expect(r.maxAbsErr).toBeGreaterThan(0);
    expect(r.maxAbsErr).toBeLessThanOrEqual(r.gradientBound!);
    expect(r.trajectory.worstOfBound).toBeLessThanOrEqual(1);
  });

  it('fails the published stack backward in float32, as in float64', async () => {
    const r = await check(fixture('stack-f32'));
    expect(r.pass).toBe(false);
    expect(r.verdict).toMatch(
      /^FAIL: [\d,]+ of 992 gradients wrong beyond float32 rounding \(\|Δ\| > \d\.\de-\d+\), cosine 0\.\d{3}; losses drift/,
    );
    expect(r.wrongParams).toBeGreaterThan(496);
  });

  it('fails a float32 engine whose gradients are 1e-4 off (relative), far less than the stack is', async () => {
    const r = await check(float32Tensor('scaled', scaledGradients(1e-4)), 0);
    expect(r.pass).toBe(false);
    expect(r.verdict).toMatch(/^FAIL: \d+ of 992 gradients wrong beyond float32 rounding/);
  });

  it('passes one whose gradients are 1e-7 off (relative): within float32 rounding', async () => {
    const r = await check(float32Tensor('scaled', scaledGradients(1e-7)), 0);
    expect(r.verdict).toBe('pass (float32: within rounding)');
  });

  it('fails a float32 engine whose update is 1e-5 off (relative): its losses leave the rounding bounds', async () => {
    const r = await check(float32Tensor('off-update', offUpdate(1e-5)), 20);
    expect(r.wrongParams).toBe(0);
    expect(r.verdict).toMatch(
      /^FAIL: losses drift up to .* from topo's over 20 steps, [\d.]+x float32 rounding's bound$/,
    );
  });

  it("bounds the gradients by n·u·max|g|: n the model's longest sum (4·n_embd, vocab or block_size)", async () => {
    const r = await check(fixture('tensor-f32'), 0);
    // TINY: n_embd 8 (32), vocab 15, block_size 8: n = 32.
    const ref = await gradcheck({ engine: findEngine('topo')!, ...TINY, trajectorySteps: 0, fdSamples: 0 });
    expect(ref.gradientBound).toBeNull();
    expect(r.gradientBound! / (32 * UNIT_ROUNDOFF.float32)).toBeGreaterThan(0.01);
    expect(r.gradientBound! / (32 * UNIT_ROUNDOFF.float32)).toBeLessThan(10);
  });
});

describe('float32 rounding, measured', () => {
  it('float32Neighbour moves one float32 step away from or towards zero', () => {
    const x = Math.fround(0.1);
    expect(float32Neighbour(0.1, 1)).toBeGreaterThan(x);
    expect(float32Neighbour(0.1, -1)).toBeLessThan(x);
    expect(Math.fround(float32Neighbour(0.1, 1))).toBe(float32Neighbour(0.1, 1));
    expect((float32Neighbour(0.1, 1) - x) / x).toBeLessThan(2 * 2 ** -23);
    expect(float32Neighbour(-0.1, 1)).toBeLessThan(-x);
  });

  it('float32Spread: running maxima, positive, and within a few float32 roundings of the loss early on', () => {
    const spread = float32Spread(TINY.config, TINY.dataset, 10);
    expect(spread).toHaveLength(10);
    expect(spread[0]).toBeGreaterThan(0);
    for (let i = 1; i < spread.length; i++) expect(spread[i]).toBeGreaterThanOrEqual(spread[i - 1]);
    expect(spread[0]).toBeLessThan(16 * UNIT_ROUNDOFF.float32 * 3.5);
  });
});
