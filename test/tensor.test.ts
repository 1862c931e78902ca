import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import type { Engine } from '../engines/engine.ts';
import { TopoEngine } from '../engines/topo.ts';
import { createBuiltIn, findEngine } from '../engines/registry.ts';
import { gradcheck } from '../scenarios/gradcheck.ts';
import { gradientsOf } from '../scenarios/gradients.ts';
import { prepareJob, train } from '../scenarios/train.ts';
import { DEFAULT_CONFIG, type TrainConfig } from '../workload/config.ts';
import { loadDatasetFile } from '../workload/dataset.ts';
import { documentLoss } from '../workload/model.ts';
import { expectMicrogptPyLosses, MICROGPT_PY, NAMES_PATH, namesSkipReason, ROOT, SPAWN_GUARD_MS } from './helpers.ts';
import { compiledFixture } from './compiled-scripts.ts';

const dataset = { source: 'test', docs: ['emma', 'olivia', 'ava', 'isabella', 'christopherjohnson', 'x'], sha256: '' };

/** Largest |a − b| / max(|a|, |b|) over the elements (0 where both are 0). */
function worstRelative(a: Float64Array, b: Float64Array): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) {
    const scale = Math.max(Math.abs(a[i]), Math.abs(b[i]));
    if (scale > 0) worst = Math.max(worst, Math.abs(a[i] - b[i]) / scale);
  }
  return worst;
}

/** The vector-level engines: tensor, wasm (its design in WebAssembly) and wasm-captured (wasm replayed). */
const VECTOR_ENGINES = ['tensor', 'wasm', 'wasm-captured'];
const create = (name: string) => createBuiltIn(name);

describe.each(VECTOR_ENGINES)('%s gradients', (name) => {
  const configs: [string, TrainConfig][] = [
    ['the reference model', DEFAULT_CONFIG],
    ['2 layers, 3 heads of 4, context 8', { ...DEFAULT_CONFIG, nLayer: 2, nEmbd: 12, nHead: 3, blockSize: 8 }],
  ];
  it.each(configs)('agree with topo within 1e-9 relative, element by element (%s)', (_, config) => {
    const job = prepareJob(config, dataset);
    const engine = create(name);
    const topo = new TopoEngine();
    engine.init(job.params);
    topo.init(job.params);
    let worst = 0;
    for (const doc of dataset.docs) {
      const tokens = job.tokenizer.encodeDocument(doc);
      const a = gradientsOf(engine, job.layout, config, tokens, job.params);
      const b = gradientsOf(topo, job.layout, config, tokens, job.params);
      // The forward pass performs topo's float operations in topo's order: the loss is bit-identical.
      expect(a.loss).toBe(b.loss);
      // Parameters no path reaches (unused embedding rows) get exactly zero in both. One expect per
      // document, not per element: an expect costs about 3 µs, some 1.3 s over this test's elements.
      const zeroInOne = a.grads.findIndex((g, i) => (g === 0) !== (b.grads[i] === 0));
      expect(zeroInOne, `a parameter zero in one engine's gradient only (${zeroInOne})`).toBe(-1);
      worst = Math.max(worst, worstRelative(a.grads, b.grads));
    }
    console.log(
      `${name} vs topo gradients (${config.nLayer} layer(s)): worst relative difference ${worst.toExponential(2)}`,
    );
    expect(worst).toBeLessThan(1e-9);
  });

  // gradcheck: step 1's gradients vs topo's and vs central finite differences, then 50 steps of
  // losses vs topo's. Finite differences need no ReLU input within h of zero, which holds on these
  // parameters; on the reference model a few others sit that close (topo's differences miss there too).
  const checks: [string, TrainConfig, number | undefined][] = [
    ['the reference model, the default sample of parameters', DEFAULT_CONFIG, undefined],
    ['a small model, most parameters', { ...DEFAULT_CONFIG, nEmbd: 8, nHead: 2, blockSize: 8 }, 1120],
  ];
  it.each(checks)('pass the gradient check (%s)', async (_, config, fdSamples) => {
    const r = await gradcheck({ engine: findEngine(name)!, dataset, config, fdSamples });
    console.log(
      `${name} gradcheck: ${r.verdict}; vs topo ${r.maxRelErr.toExponential(2)}, ` +
        `finite differences ${r.fdMaxRelErr.toExponential(2)} on ${r.fdSampled} parameters, ` +
        `losses ${r.trajectory.maxLossDiff.toExponential(2)} over ${r.trajectory.steps} steps`,
    );
    expect(r.verdict).toBe('pass');
  });
});

describe.each(VECTOR_ENGINES)('%s counts', (name) => {
  const job = prepareJob(DEFAULT_CONFIG, dataset);

  it('a document of n positions takes 28n + 1 vector operations (one layer, four heads)', () => {
    const engine = create(name);
    engine.init(job.params);
    for (const doc of ['ava', 'christopherjohnson']) {
      const tokens = job.tokenizer.encodeDocument(doc);
      const n = Math.min(DEFAULT_CONFIG.blockSize, tokens.length - 1);
      engine.reset();
      engine.backward(documentLoss(engine, job.layout, DEFAULT_CONFIG, tokens, null));
      // Per position: embedding add, rmsnorm; rmsnorm, q, k, v, 4 × (scores, softmax, mix), concat,
      // wo, add, rmsnorm, fc1, relu, fc2, add; lm_head, cross-entropy. Then the mean of the losses.
      expect(engine.graphStats().vectorOps).toBe(28 * n + 1);
    }
  });

  it('counts a linear layer as 6·rows·cols flops (forward 2rc, backward 4rc) and starts afresh each step', () => {
    const engine = create(name);
    engine.init(job.params);
    const { lmHead, wte } = job.layout;
    for (let step = 0; step < 2; step++) {
      engine.reset();
      engine.backward(engine.sum(engine.linear(engine.row(wte, 1), lmHead)));
      // sum over the vocab-sized output: a forward and a backward add per element.
      expect(engine.graphStats().flops).toBe(6 * lmHead.rows * lmHead.cols + 2 * lmHead.rows);
      expect(engine.graphStats().vectorOps).toBe(2);
    }
  });

  it('the training result reports vector ops, flops per step and GFLOP/s (null for a scalar engine)', () => {
    const run = (engineName: string, engine: Engine) =>
      train({ engineName, engine, config: { ...DEFAULT_CONFIG, samples: 0 }, dataset, stopAfter: 3 });
    const t = run(name, create(name));
    const positions = job.docs.slice(0, 3).map((d) => Math.min(DEFAULT_CONFIG.blockSize, d.length + 1));
    expect(t.vectorOpsPerStep).toBeCloseTo(positions.reduce((a, n) => a + 28 * n + 1, 0) / 3, 12);
    expect(t.flopsPerStep).toBeGreaterThan(t.vectorOpsPerStep!);
    expect(t.gflops).toBeCloseTo((3 * t.flopsPerStep!) / (t.timingMs.total * 1e6), 12);
    const s = run('topo', new TopoEngine());
    expect([s.vectorOpsPerStep, s.flopsPerStep, s.gflops]).toEqual([null, null, null]);
  });
});

const skip = namesSkipReason();

describe.skipIf(skip !== undefined).each(VECTOR_ENGINES)('%s trains the job on names.txt', (name) => {
  it('follows microgpt.py for 1000 steps (every loss within 1e-12, as topo does) and draws its 20 samples', () => {
    const r = train({
      engineName: name,
      engine: create(name),
      config: DEFAULT_CONFIG,
      dataset: loadDatasetFile(NAMES_PATH!),
    });
    expectMicrogptPyLosses(name, r.losses, 1e-12);
    expect(r.samples).toEqual(MICROGPT_PY.samples);
  });
});

describe.each(VECTOR_ENGINES)('%s memory', (name) => {
  it('steady-state steps allocate nothing of their own and retain nothing', () => {
    const probe = compiledFixture('heap-probe');
    const run = spawnSync(
      process.execPath,
      ['--expose-gc', ...(probe.endsWith('.ts') ? ['--import', 'tsx'] : []), probe, name],
      {
        cwd: ROOT,
        encoding: 'utf8',
        timeout: SPAWN_GUARD_MS,
      },
    );
    expect(run.status, run.stderr).toBe(0);
    const r = JSON.parse(run.stdout);
    console.log(`${name} heap probe: ${JSON.stringify(r)}`);
    // A leak of one object per step would retain ≥ 16 bytes × 1000 steps in every window; the JIT
    // settling can add a one-off bump to a window, so the quietest window is the one that counts.
    expect(Math.min(...r.retainedBytes)).toBeLessThan(16 * r.windowSteps);
    // The model's own per-position arrays are there with any engine that runs it each step; a replayed
    // step runs none of the model's JavaScript (what is left, ~10 bytes, is the probe's own reading of
    // the heap, spread over its steps). The engine adds nothing. null would mean a collection
    // interrupted every measurement: an engine allocating a lot.
    if (name === 'wasm-captured') expect(r.modelBytesPerStep).toBeLessThan(16);
    else expect(r.modelBytesPerStep).toBeGreaterThan(0);
    expect(r.engineBytesPerStep).toEqual(expect.any(Number));
    expect(Math.abs(r.engineBytesPerStep)).toBeLessThan(8);
    // wasm keeps its vectors in the module's memory, which the steady state must not grow either.
    expect(r.moduleBytes === null).toBe(name === 'tensor');
    if (r.moduleBytes) expect(r.moduleBytes.atEnd).toBe(r.moduleBytes.afterWarmup);
  });
});
