/**
 * The newest modules' arithmetic checked where every term matters, each expectation worked out by
 * hand or by another path than the code's own: cache-counts and miss rates on distinct primes (drop
 * any event and the figures change), compare's count verdict on a fixture where instructions and
 * estimated cycles disagree, the HTML report's escaping of all five special characters, the reference
 * cache keyed by the dataset, and the wasm kernels' Adam on a model with an odd number of parameters
 * (the SIMD loop's scalar remainder).
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readCounts } from '../scenarios/bench/counts/callgrind.ts';
import { countsRowOf } from '../scenarios/bench/counts/rows.ts';
import { readResultsFolder, type ResultsFolder } from '../scenarios/bench/results.ts';
import { RESULTS_FORMATS } from '../scenarios/output/export/formats.ts';
import { prepareReference } from '../scenarios/bench/reference-run.ts';
import { compareFolders } from '../scenarios/compare/compare.ts';
import { spread } from '../scenarios/bench/spread.ts';
import { powerLawFit } from '../scenarios/sweep/fit.ts';
import { htmlReport } from '../scenarios/output/export/html.ts';
import { prepareJob, train } from '../scenarios/train.ts';
import { EngineUpdate } from '../scenarios/update.ts';
import { TensorEngine } from '../engines/tensor.ts';
import { TopoEngine } from '../engines/topo.ts';
import { WasmEngine } from '../engines/wasm.ts';
import { DEFAULT_CONFIG, type TrainConfig } from '../workload/config.ts';
import type { Dataset } from '../workload/dataset.ts';
import { documentLoss } from '../workload/model.ts';
import { rawResults, ROOT, tempDirs } from './helpers.ts';

const tmp = tempDirs();
const FIXTURE = join(ROOT, 'test/fixtures/bench-results/complete');
const EVENTS = 'Ir Dr Dw I1mr D1mr D1mw ILmr DLmr DLmw';
const callgrindFile = (totals: readonly number[]) =>
  `# callgrind format\nversion: 1\nevents: ${EVENTS}\nsummary: ${totals.join(' ')}\n` +
  `fn=(1) main\n0 ${totals.join(' ')}\ntotals: ${totals.join(' ')}\n`;

/** The complete fixture with one more run appended and the count job set: a folder on disk. */
function folderWith(name: string, extra: readonly object[], countSteps = 7): string {
  const dir = join(tmp('oracle'), name);
  mkdirSync(dir);
  const { runs, env } = rawResults(FIXTURE);
  env.bench.counts = { steps: countSteps, valgrind: 'valgrind-3.19.0', options: ['--tool=callgrind'], nodeFlags: [] };
  writeFileSync(join(dir, 'env.json'), JSON.stringify(env));
  writeFileSync(join(dir, 'runs.jsonl'), [...runs, ...extra].map((r) => JSON.stringify(r) + '\n').join(''));
  return dir;
}

const countRun = (engine: string, counts: object) => ({
  kind: 'counts',
  engine,
  trial: 1,
  warmup: false,
  wallMs: 1,
  counts,
  status: 'ok',
  result: { steps: 7, finalLoss: 2 },
});

describe('cache counts on distinct primes: every event counts', () => {
  // Each event a different prime, so that leaving any one out (or counting one twice) changes a figure.
  //                 Ir    Dr   Dw  I1mr D1mr D1mw ILmr DLmr DLmw
  const TRAINING = [1009, 401, 211, 13, 29, 7, 3, 5, 2];
  const START = [503, 101, 53, 11, 17, 19, 1, 3, 5];
  const REST = [307, 83, 41, 2, 3, 1, 0, 1, 0];
  const dir = tmp('primes');
  writeFileSync(join(dir, 'callgrind.100.1-01'), callgrindFile(START));
  writeFileSync(join(dir, 'callgrind.100.2-01'), callgrindFile(TRAINING));
  writeFileSync(join(dir, 'callgrind.100-01'), callgrindFile(REST));

  it('the training part: 1621 accesses, 49 L1 misses, 10 to memory, 2117 estimated cycles', () => {
    expect(readCounts(dir)!.training).toEqual({
      instructions: 1009,
      dataReads: 401,
      dataWrites: 211,
      l1Misses: 13 + 29 + 7,
      llMisses: 3 + 5 + 2,
      // 1009 + 401 + 211 = 1621 accesses: 1572 L1 hits, 39 LL hits, 10 from memory.
      estimatedCycles: 1572 + 5 * 39 + 35 * 10,
    });
  });

  it('the whole process: every part summed, 2709 accesses, 3717 estimated cycles', () => {
    expect(readCounts(dir)!.whole).toEqual({
      instructions: 1819,
      dataReads: 585,
      dataWrites: 305,
      l1Misses: 26 + 49 + 27,
      llMisses: 4 + 9 + 7,
      // 2709 accesses: 2607 L1 hits, 82 LL hits, 20 from memory.
      estimatedCycles: 2607 + 5 * 82 + 35 * 20,
    });
  });

  it('per step and miss rates: of the training part when marked, of the whole process when not', () => {
    const counts = readCounts(dir)!;
    const unmarked = { whole: counts.whole, training: null, processes: 1 };
    const folder = readResultsFolder(folderWith('primes', [countRun('tape', counts), countRun('stack', unmarked)]));
    expect(countsRowOf(folder, 'tape')).toMatchObject({
      basis: 'training',
      perStep: { instructions: 1009 / 7, estimatedCycles: 2117 / 7 },
      l1MissRate: 49 / 1621,
      llMissRate: 10 / 1621,
    });
    expect(countsRowOf(folder, 'stack')).toMatchObject({
      basis: 'whole process',
      perStep: { instructions: 1819 / 7, estimatedCycles: 3717 / 7 },
      l1MissRate: 102 / 2709,
      llMissRate: 20 / 2709,
    });
  });
});

describe('compare decides counts on estimated cycles, not instructions', () => {
  /** tape counted with these instructions and estimated cycles over its 7 steps (training part). */
  const counted = (name: string, instructions: number, cycles: number) => {
    const part = { instructions, dataReads: 1, dataWrites: 1, l1Misses: 0, llMisses: 0, estimatedCycles: cycles };
    return folderWith(name, [countRun('tape', { whole: part, training: part, processes: 1 })]);
  };
  const tape = (base: string, next: string) =>
    compareFolders(readResultsFolder(base), readResultsFolder(next), {
      threshold: 0.02,
      confidence: 0.95,
    }).engines.find((e) => e.engine === 'tape')!;
  const base = counted('base', 1e9, 3e9);

  it('more instructions but 10% fewer cycles is faster; fewer instructions but 10% more cycles is slower', () => {
    // Instructions +20%, cycles −10%: fewer cache misses outweigh the extra instructions.
    expect(tape(base, counted('fewer-misses', 1.2e9, 2.7e9)).counts).toMatchObject({
      verdict: 'faster',
      baseCyclesPerStep: 3e9 / 7,
      newCyclesPerStep: 2.7e9 / 7,
    });
    // Instructions −20%, cycles +10%.
    const slower = tape(base, counted('more-misses', 0.8e9, 3.3e9));
    expect(slower.counts?.verdict).toBe('slower');
    expect(slower.regression).toBe(true);
  });
});

describe('the HTML report escapes all five special characters wherever it writes folder text', () => {
  it("a machine name, an engine's name and a failure reason holding ' \" & < >", async () => {
    const evil = `x'"&<>y`;
    const escaped = 'x&#39;&#34;&#38;&#60;&#62;y';
    const { runs, env } = rawResults(FIXTURE);
    env.machine = `machine ${evil}`;
    const renamed = runs.map((r) =>
      r.engine === 'tape' ? { ...r, engine: `tape ${evil}`, ...(r.status === 'failed' && { reason: evil }) } : r,
    );
    const failed = { ...renamed[0], engine: 'broken', status: 'failed', reason: `threw ${evil}` };
    delete failed.result;
    const dir = join(tmp('html'), 'evil');
    mkdirSync(dir);
    writeFileSync(join(dir, 'env.json'), JSON.stringify(env));
    writeFileSync(join(dir, 'runs.jsonl'), [...renamed, failed].map((r) => JSON.stringify(r) + '\n').join(''));
    const html = await htmlReport.serialize([readResultsFolder(dir)]);
    // Every place the text appears, in whatever form: only the page's own escaping, or the SVG's entities.
    const forms = new Set(html.match(/x(?:['"&<>]|&#?\w+;)+y/g));
    expect(forms.has(escaped)).toBe(true);
    // The charts' SVG writes its own entities (a ' in a "-quoted attribute, or in text, needs none).
    const svgForms = [`x'&quot;&amp;&lt;&gt;y`, `x'"&amp;&lt;&gt;y`];
    for (const form of forms) expect([escaped, ...svgForms]).toContain(form);
    expect(html.split(escaped).length - 1).toBeGreaterThanOrEqual(4);
    expect(html).toContain(`machine ${escaped}`);
    expect(html).toContain(`threw ${escaped}`);
  });
});

describe('the reference cache is keyed by the dataset', () => {
  const config: TrainConfig = { ...DEFAULT_CONFIG, nEmbd: 8, nHead: 2, blockSize: 8, steps: 3, samples: 2 };
  const datasets: Dataset[] = [
    { source: 'a', docs: ['emma', 'olivia', 'ava'], sha256: 'a'.repeat(64) },
    { source: 'b', docs: ['isabella', 'sophia', 'mia'], sha256: 'b'.repeat(64) },
  ];

  it("two datasets, one config: two cached trajectories, each the reference engine's on its own dataset", () => {
    const cache = tmp('ref-cache');
    const references = datasets.map((dataset) => {
      const out = tmp('ref-out');
      prepareReference({ config, dataset }, cache, out);
      return JSON.parse(readFileSync(join(out, 'reference.json'), 'utf8')) as { losses: number[]; samples: string[] };
    });
    expect(readdirSync(cache)).toHaveLength(2);
    // The expectation from another engine: topo, the reference microgpt.py's arithmetic is checked on.
    datasets.forEach((dataset, i) => {
      const topo = train({ engineName: 'topo', engine: new TopoEngine(), config, dataset, phaseTimers: false });
      expect(references[i].losses).toHaveLength(3);
      references[i].losses.forEach((loss, step) => expect(loss).toBeCloseTo(topo.losses[step], 12));
      expect(references[i].samples).toEqual(topo.samples);
    });
    expect(references[0].losses[0]).not.toBe(references[1].losses[0]);
  });
});

describe("the wasm kernels' Adam on an odd number of parameters", () => {
  // 3-wide embeddings and 5 positions: 3 × (2 × vocab + 5) + 108 parameters, odd, so the SIMD loop,
  // which takes parameters two at a time, leaves the last to its scalar remainder.
  const config: TrainConfig = { ...DEFAULT_CONFIG, nEmbd: 3, nHead: 1, blockSize: 5 };
  const docs = ['emma', 'olivia', 'ava', 'isabella', 'mia', 'zoe'];

  it('updates every parameter, the last included, as workload/adam.ts does, bit for bit, step after step', () => {
    const job = prepareJob(config, { source: 'test', docs, sha256: '' });
    expect(job.params.length % 2).toBe(1);
    const wasm = new WasmEngine();
    const tensor = new TensorEngine();
    wasm.init(job.params);
    tensor.init(job.params);
    // tensor has no fused Adam: its update is workload/adam.ts on its gradients.
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
      wasm.fusedAdam!.update(config, step);
      update.update(step);
      wasm.fusedAdam!.readParams(wasmParams);
      expect(wasmParams.at(-1), `${doc}: the last parameter`).toBe(params.at(-1));
      expect([...wasmParams], doc).toEqual([...params]);
    });
  });
});

describe('every file the bench writes has its rows in the job list’s order, not the order runs ended in', () => {
  // Count runs end in parallel, so runs.jsonl's order is whichever process finished first: the
  // same runs in the reverse order, with two count runs, must give the same bytes in every format.
  it('counts.csv, runs.csv, losses.csv, summary, JSON, Markdown, HTML: unchanged by runs.jsonl’s order', async () => {
    const part = { instructions: 3, dataReads: 5, dataWrites: 7, l1Misses: 2, llMisses: 1, estimatedCycles: 11 };
    const counts = { whole: part, training: part, processes: 1 };
    const extra = [countRun('topo', counts), countRun('tape', counts)];
    const inOrder = readResultsFolder(folderWith('in-order', extra));
    const ended = folderWith('ended', extra);
    const lines = readFileSync(join(ended, 'runs.jsonl'), 'utf8').trimEnd().split('\n').reverse();
    writeFileSync(join(ended, 'runs.jsonl'), lines.join('\n') + '\n');
    const reversed = { ...readResultsFolder(ended), dir: inOrder.dir, name: inOrder.name };
    const countRows = (await countsCsvText(reversed)).trimEnd().split('\n');
    expect(countRows.slice(1).map((row) => row.split(',')[1])).toEqual(['topo', 'tape']);
    for (const file of RESULTS_FORMATS.flatMap((f) => f.files))
      expect(await file.exporter.serialize([reversed]), file.suffix).toBe(await file.exporter.serialize([inOrder]));
  });
});

async function countsCsvText(folder: ResultsFolder): Promise<string> {
  const file = RESULTS_FORMATS.flatMap((f) => f.files).find((f) => f.suffix === 'counts.csv')!;
  return file.exporter.serialize([folder]);
}

describe('the sweep fit and the spread, on points where every one matters', () => {
  it('fits log y on log x through three points off any line: slope 3/2, R² 27/28, worked by hand', () => {
    // (log x, log y) = (0, 0), (1, 2), (2, 3): mean (1, 5/3), slope 3/2, residuals −1/6, 1/3, −1/6.
    const fit = powerLawFit([
      { x: 1, y: 1 },
      { x: Math.E, y: Math.E ** 2 },
      { x: Math.E ** 2, y: Math.E ** 3 },
    ])!;
    expect(fit.exponent).toBeCloseTo(1.5, 12);
    expect(fit.r2).toBeCloseTo(27 / 28, 12);
    expect(fit.points).toBe(3);
  });

  it('the median of an even count is the mean of the middle two, whatever the input order', () => {
    expect(spread([7, 2, 11, 5])).toEqual({ median: 6, min: 2, max: 11 });
    expect(spread([13, 3, 7])).toEqual({ median: 7, min: 3, max: 13 });
  });
});
