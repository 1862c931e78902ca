import { describe, expect, it } from 'vitest';
import type { Engine } from '../engines/engine.ts';
import { WasmEngine } from '../engines/wasm.ts';
import { WasmCapturedEngine } from '../engines/wasm-captured.ts';
import { prepareJob, train } from '../scenarios/train.ts';
import { DEFAULT_CONFIG, type TrainConfig } from '../workload/config.ts';
import { documentLoss, sampleTokens, stepLoss } from '../workload/model.ts';
import { PyRandom } from '../workload/pyrandom.ts';

// wasm-captured's parity with microgpt.py on names.txt, gradients vs topo, gradient check and heap probe:
// test/tensor.test.ts, which runs the vector engines' tests on it. Here: replay against wasm's uncaptured run.

const bytesOf = (a: Float64Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
const letters = 'abcdefghijklmnopqrstuvwxyz';

/** A document of `chars` letters drawn from `rng` (every letter is in the vocabulary below). */
function randomDoc(rng: PyRandom, chars: number): string {
  return Array.from({ length: chars }, () => letters[rng.randbelow(letters.length)]).join('');
}

/** One training step on `engine` (forward, backward, fused Adam): the loss, the gradients, the parameters. */
function step(engine: WasmEngine, loss: () => number, cfg: TrainConfig, n: number, numParams: number) {
  const out = new Float64Array(1);
  const grads = new Float64Array(numParams);
  const params = new Float64Array(grads.length);
  engine.reset();
  const l = loss();
  engine.read(l, out);
  engine.backward(l);
  engine.readGrads(grads);
  engine.fusedAdam.update(cfg, n);
  engine.fusedAdam.readParams(params);
  return { loss: out, grads, params, stats: { ...engine.graphStats() } };
}

describe('wasm-captured replays', () => {
  const cfg: TrainConfig = { ...DEFAULT_CONFIG, steps: 200 };
  const job = prepareJob(cfg, { source: 'test', docs: [letters], sha256: '' });

  it('a document of every length 1…block_size positions (and longer) bit for bit as wasm runs it', () => {
    const rng = new PyRandom(7);
    // Positions 1 … block_size + 2 (documents past the block are cut), each length twice with other
    // tokens, up and then down, so that each step's recording is put back after others ran; and a
    // sample drawn before each step, which leaves handles of other lengths and no tape of a step.
    const lengths = Array.from({ length: cfg.blockSize + 2 }, (_, i) => i + 1);
    const docs = [...lengths, ...lengths.reverse()].map((n) => randomDoc(rng, n - 1));
    const plain = new WasmEngine();
    const captured = new WasmCapturedEngine();
    plain.init(job.params);
    captured.init(job.params);
    docs.forEach((doc, n) => {
      const tokens = job.tokenizer.encodeDocument(doc);
      sampleTokens(captured, job.layout, cfg, job.tokenizer.bos, job.tokenizer.vocabSize, new PyRandom(n));
      const a = step(plain, () => documentLoss(plain, job.layout, cfg, tokens, null), cfg, n, job.layout.numParams);
      const b = step(captured, () => stepLoss(captured, job.layout, cfg, tokens, null), cfg, n, job.layout.numParams);
      const what = `step ${n + 1}, '${doc}'`;
      expect(bytesOf(b.loss).equals(bytesOf(a.loss)), what).toBe(true);
      expect(bytesOf(b.grads).equals(bytesOf(a.grads)), what).toBe(true);
      expect(bytesOf(b.params).equals(bytesOf(a.params)), what).toBe(true);
      expect(b.stats, what).toEqual(a.stats);
    });
    // Every length was recorded once, over placeholders: none is a token id.
    for (const n of lengths) expect(captured.capture.has(n + 1)).toBe(true);
    expect(captured.capture.has(cfg.blockSize + 4)).toBe(false);
  });

  it('goes on recording after a replay without a reset, and the saved step replays unchanged after', () => {
    // A replay runs from the program the module saved; operations recorded after it without a reset
    // continue that tape (copied home first), and must leave the saved program as it was.
    const plain = new WasmEngine();
    const captured = new WasmCapturedEngine();
    plain.init(job.params);
    captured.init(job.params);
    const tokens = job.tokenizer.encodeDocument('emma');
    const other = job.tokenizer.encodeDocument('anna');
    const extended = (engine: WasmEngine, loss: () => number) => () => {
      const l = loss();
      const twice = engine.add(l, l);
      return engine.mean([l, twice, engine.add(twice, l)]);
    };
    const n = job.layout.numParams;
    for (const [i, doc] of [tokens, tokens, other, tokens].entries()) {
      const a = step(
        plain,
        extended(plain, () => documentLoss(plain, job.layout, cfg, doc, null)),
        cfg,
        i,
        n,
      );
      const b = step(
        captured,
        extended(captured, () => stepLoss(captured, job.layout, cfg, doc, null)),
        cfg,
        i,
        n,
      );
      expect(bytesOf(b.loss).equals(bytesOf(a.loss)), `step ${i + 1}`).toBe(true);
      expect(bytesOf(b.grads).equals(bytesOf(a.grads)), `step ${i + 1}`).toBe(true);
      expect(b.stats, `step ${i + 1}`).toEqual(a.stats);
      const c = step(plain, () => documentLoss(plain, job.layout, cfg, doc, null), cfg, i, n);
      const d = step(captured, () => stepLoss(captured, job.layout, cfg, doc, null), cfg, i, n);
      expect(bytesOf(d.loss).equals(bytesOf(c.loss)), `step ${i + 1}, plain`).toBe(true);
      expect(bytesOf(d.grads).equals(bytesOf(c.grads)), `step ${i + 1}, plain`).toBe(true);
    }
  });

  it('records afresh for a second job on the same engine, of another size or another shape', () => {
    const dataset = {
      source: 'test',
      docs: ['emma', 'olivia', 'ava', 'isabella', 'christopherjohnson', 'x'],
      sha256: '',
    };
    const jobs: TrainConfig[] = [
      { ...DEFAULT_CONFIG, steps: 12, samples: 2 },
      { ...DEFAULT_CONFIG, steps: 12, samples: 2, blockSize: 6 },
      { ...DEFAULT_CONFIG, steps: 12, samples: 2, nEmbd: 24, nHead: 3 },
      // The same parameters as the first job but two heads: only a new recording gets its steps right.
      { ...DEFAULT_CONFIG, steps: 12, samples: 2, nHead: 2 },
    ];
    const captured = new WasmCapturedEngine();
    const run = (config: TrainConfig, engine: Engine) =>
      train({ engineName: 'e', engine, config, dataset, phaseTimers: false });
    for (const config of jobs) {
      const a = run(config, new WasmEngine());
      const b = run(config, captured);
      expect(b.losses, JSON.stringify(config)).toEqual(a.losses);
      expect(b.samples).toEqual(a.samples);
    }
  });
});
