import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TensorEngine } from '../engines/tensor.ts';
import { WasmEngine } from '../engines/wasm.ts';
import { BUILD_DIR, compileKernels } from '../engines/wasm/compile.ts';
import { KERNELS_WASM_BASE64 } from '../engines/wasm/build/kernels-binary.ts';
import { prepareJob } from '../scenarios/train.ts';
import { EngineUpdate } from '../scenarios/update.ts';
import { Adam } from '../workload/adam.ts';
import { DEFAULT_CONFIG, type TrainConfig } from '../workload/config.ts';
import { documentLoss } from '../workload/model.ts';
import { MICROGPT_PY, NAMES_PATH, namesSkipReason, runScript } from './helpers.ts';

const dataset = { source: 'test', docs: ['emma', 'olivia', 'ava', 'isabella', 'christopherjohnson', 'x'], sha256: '' };
const bytesOf = (a: Float64Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

describe('the wasm module', () => {
  it('is the one its AssemblyScript source compiles to now (rebuilt before the tests, deterministic)', () => {
    const fresh = compileKernels();
    expect(Buffer.from(KERNELS_WASM_BASE64, 'base64').equals(Buffer.from(fresh))).toBe(true);
    expect(readFileSync(join(BUILD_DIR, 'kernels.wasm')).equals(Buffer.from(fresh))).toBe(true);
  });

  it("imports V8's exp, log and pow, so its forward values are topo's", () => {
    const imports = WebAssembly.Module.imports(new WebAssembly.Module(Buffer.from(KERNELS_WASM_BASE64, 'base64')));
    expect(imports.map((i) => `${i.module}.${i.name}`).sort()).toEqual(['env.exp', 'env.log', 'env.moved', 'env.pow']);
  });
});

describe('the fused Adam update', () => {
  it("gives workload/adam.ts's parameters bit for bit, the learning rate decaying over a 6-step schedule", () => {
    const config: TrainConfig = { ...DEFAULT_CONFIG, steps: 6 };
    const job = prepareJob(config, dataset);
    const fused = new WasmEngine();
    const plain = new WasmEngine();
    fused.init(job.params);
    plain.init(job.params);
    const params = Float64Array.from(job.params);
    const grads = new Float64Array(params.length);
    const adam = new Adam(params.length, config);
    const fusedParams = new Float64Array(params.length);
    for (let step = 0; step < config.steps; step++) {
      const tokens = job.tokenizer.encodeDocument(dataset.docs[step]);
      for (const engine of [fused, plain]) {
        engine.reset();
        engine.backward(documentLoss(engine, job.layout, config, tokens, null));
      }
      fused.fusedAdam.update(config, step);
      plain.readGrads(grads);
      adam.update(params, grads, step);
      plain.writeParams(params);
      fused.fusedAdam.readParams(fusedParams);
      expect(bytesOf(fusedParams).equals(bytesOf(params)), `step ${step + 1}`).toBe(true);
    }
    expect(fusedParams).not.toEqual(job.params);
  });
});

describe('growing the module memory', () => {
  // Wider, deeper and longer than the initial capacities hold (arena, handles, tape, lists, live rows):
  // the memory is laid out afresh mid-step, after Adam has moments to keep, and JavaScript's views follow.
  const config: TrainConfig = { ...DEFAULT_CONFIG, nEmbd: 48, nLayer: 2, blockSize: 40 };
  const docs = ['ava', 'emma', 'christopherjohnsonandmary', 'isabella', 'christopherjohnsonandmaryelizabethsmith'];

  it("keeps every value: losses and parameters equal tensor's bit for bit, step after step", () => {
    const job = prepareJob(config, { ...dataset, docs });
    const wasm = new WasmEngine();
    const tensor = new TensorEngine();
    wasm.init(job.params);
    tensor.init(job.params);
    const sizes = [wasm.memoryBytes()];
    const params = Float64Array.from(job.params);
    const update = new EngineUpdate(tensor, config, params);
    const wasmParams = new Float64Array(params.length);
    const loss = new Float64Array(2);
    docs.forEach((doc, step) => {
      const tokens = job.tokenizer.encodeDocument(doc);
      [wasm, tensor].forEach((engine, i) => {
        engine.reset();
        const l = documentLoss(engine, job.layout, config, tokens, null);
        engine.read(l, loss.subarray(i));
        engine.backward(l);
      });
      expect(loss[0], doc).toBe(loss[1]);
      wasm.fusedAdam.update(config, step);
      update.update(step);
      wasm.fusedAdam.readParams(wasmParams);
      expect(bytesOf(wasmParams).equals(bytesOf(params)), doc).toBe(true);
      sizes.push(wasm.memoryBytes());
    });
    console.log(`wasm module memory after each step: ${sizes.join(', ')} bytes`);
    // Grown at the first long document, and again, with moments to keep, at the longer one.
    expect(new Set(sizes).size).toBeGreaterThanOrEqual(3);
  });
});

const skip = namesSkipReason();

describe.skipIf(skip !== undefined)('wasm trains the reference job on names.txt', () => {
  // Its losses and samples: test/tensor.test.ts, which runs the vector engines' 1000 steps.
  it("prints microgpt.py's step and sample lines from the train command", () => {
    const args = ['--engine', 'wasm', '--data', NAMES_PATH!, '--log-every', '1'];
    const r = runScript('train.ts', args);
    expect(r.status, r.stderr).toBe(0);
    const steps = r.stdout.split('\n').filter((l) => l.startsWith('step '));
    expect(steps).toEqual(
      MICROGPT_PY.losses.map((l, i) => `step ${String(i + 1).padStart(4)} / 1000 | loss ${l.toFixed(4)}`),
    );
    const samples = MICROGPT_PY.samples.map((s, i) => `sample ${String(i + 1).padStart(2)}: ${s}`);
    expect(r.stdout.split('\n').filter((l) => l.startsWith('sample '))).toEqual(samples);
  });
});

describe('npm run build:wasm', () => {
  it('explains itself with --help and rejects an argument it does not take in one line (exit 2)', () => {
    const help = runScript('build-wasm.ts', ['--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('engines/wasm/assembly/kernels.ts');
    const bad = runScript('build-wasm.ts', ['--fast']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toBe("error: unexpected argument '--fast' (see --help)\n");
  });
});
