import { describe, expect, it } from 'vitest';
import type { GraphStats } from '../engines/engine.ts';
import { createBuiltIn, ENGINES, findEngine } from '../engines/registry.ts';
import { prepareJob } from '../scenarios/train.ts';
import { DEFAULT_CONFIG, type TrainConfig } from '../workload/config.ts';
import { loadDatasetFile, type Dataset } from '../workload/dataset.ts';
import { documentLoss } from '../workload/model.ts';
import { MICROGPT_PY, NAMES_PATH, namesSkipReason, runScript, TINY } from './helpers.ts';

const engineNames = () => ENGINES.map((e) => e.name);
/** The scalar-graph variants, whose graphs are compared node for node. */
const SCALAR = ['topo', 'stack', 'fused', 'fused-stack', 'pending', 'tape'];

/** Nodes and edges of training step 1's graph (the first shuffled document) on each engine. */
function step1Graphs(config: TrainConfig, dataset: Dataset): Record<string, GraphStats> {
  const job = prepareJob(config, dataset);
  const tokens = job.tokenizer.encodeDocument(job.docs[0]);
  const out: Record<string, GraphStats> = {};
  for (const name of SCALAR) {
    const engine = createBuiltIn(name);
    engine.init(job.params);
    engine.reset();
    engine.backward(documentLoss(engine, job.layout, config, tokens, null));
    out[name] = { ...engine.graphStats() };
  }
  return out;
}

/**
 * Every scalar variant builds topo's graph node for node, except that fused linear outputs are one
 * node each: `fewer` times fewer nodes at least.
 */
function expectGraphShapes(g: Record<string, GraphStats>, fewer: number) {
  for (const name of ['stack', 'pending', 'tape']) expect(g[name], name).toEqual(g.topo);
  expect(g['fused-stack']).toEqual(g.fused);
  expect(g.topo.nodes / g.fused.nodes).toBeGreaterThan(fewer);
  expect(g.fused.edges).toBeLessThan(g.topo.edges);
}

describe('the registry', () => {
  it('registers every engine with a description, the study design it reproduces and what its check must say', () => {
    for (const name of SCALAR) expect(findEngine(name), name).toBeDefined();
    for (const info of ENGINES) {
      expect(info.description.length, info.name).toBeGreaterThan(10);
      expect(info.study.length).toBeGreaterThan(3);
      expect(['correct', 'wrong-by-design']).toContain(info.expected);
    }
    expect(ENGINES.filter((e) => e.expected === 'wrong-by-design').map((e) => e.name)).toEqual([
      'stack',
      'fused-stack',
    ]);
    expect(findEngine('pending')!.description).toContain('what the study meant');
    expect(new Set(engineNames()).size).toBe(engineNames().length);
  });
});

describe('graph size per step', () => {
  it("on a small model: stack, pending and tape build topo's graph; fused has several times fewer nodes", () => {
    expectGraphShapes(step1Graphs(TINY.config, TINY.dataset), 3);
  });

  const skip = namesSkipReason();
  it.skipIf(skip !== undefined)("on names.txt step 1: topo has microgpt.py's 59,647 nodes, fused over 5x fewer", () => {
    const g = step1Graphs(DEFAULT_CONFIG, loadDatasetFile(NAMES_PATH!));
    for (const name of SCALAR)
      console.log(
        `${name.padEnd(12)} nodes ${String(g[name].nodes).padStart(6)}  edges ${String(g[name].edges).padStart(7)}`,
      );
    expect(g.topo.nodes).toBe(MICROGPT_PY.nodesStep1);
    expectGraphShapes(g, 5);
  });
});

describe('npm run train -- --engine <name>', () => {
  // The opt-in tfjs engines expose no graph to count: test/tfjs.test.ts trains them.
  const TAPED = ENGINES.filter((e) => e.optIn !== true);
  it('trains with every registered engine but the opt-in ones, measuring graph size and phases the same way', () => {
    const runs = TAPED.map(({ name }) => {
      const r = runScript('train.ts', ['--engine', name, '--steps', '2', '--samples', '1', '--json']);
      expect(r.status, `${name}: ${r.stderr}`).toBe(0);
      return JSON.parse(r.stdout);
    });
    const topo = runs[0];
    runs.forEach((j, i) => {
      const { name, expected } = TAPED[i];
      expect(j.engine).toBe(name);
      expect(j.nodesPerStep.mean).toBeGreaterThan(0);
      expect(j.edgesPerStep.mean).toBeGreaterThan(j.nodesPerStep.mean);
      expect(j.timingMs.backward).toBeGreaterThan(0);
      expect(j.samples).toHaveLength(1);
      // Step 1 is the same forward pass everywhere; step 2 shows whether step 1's gradients were right.
      expect(Math.abs(j.losses[0] - topo.losses[0])).toBeLessThan(1e-12);
      if (expected === 'correct') expect(Math.abs(j.losses[1] - topo.losses[1]), name).toBeLessThan(1e-9);
      else expect(Math.abs(j.losses[1] - topo.losses[1]), name).toBeGreaterThan(1e-4);
    });
  });
});

describe('unknown engine names', () => {
  for (const [script, flag] of [
    ['train.ts', '--engine'],
    ['gradcheck.ts', '--engines'],
  ]) {
    it(`${script} ${flag} nope: one line listing the registered engines, exit code 2`, () => {
      const r = runScript(script, [flag, 'nope']);
      expect(r.status).toBe(2);
      expect(r.stdout).toBe('');
      const lines = r.stderr.trimEnd().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/'nope'/);
      expect(lines[0]).toContain(engineNames().join(', '));
    });
  }
});
