import { isAbsolute } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Engine } from './engine.ts';
import { FusedEngine } from './fused.ts';
import { FusedStackEngine } from './fused-stack.ts';
import { PendingEngine } from './pending.ts';
import { StackEngine } from './stack.ts';
import { TapeEngine } from './tape.ts';
import { TensorEngine } from './tensor.ts';
import { TopoEngine } from './topo.ts';

export interface EngineInfo {
  readonly name: string;
  readonly description: string;
  /** Which design of the study this variant reproduces (the report's "study row"). */
  readonly study: string;
  readonly create: () => Engine;
}

/** The engines in this repository; add a new one here. */
const ENGINES: readonly EngineInfo[] = [
  {
    name: 'topo',
    description: 'scalar Value nodes, recursive topological sort, reverse sweep (microgpt.py)',
    study: 'baseline (naive port)',
    create: () => new TopoEngine(),
  },
  {
    name: 'stack',
    description: "scalar Value nodes, the study's stack backward as published (wrong: a node is passed on once)",
    study: 'stack-based backward (as published)',
    create: () => new StackEngine(),
  },
  {
    name: 'fused',
    description: 'each linear output one node with 2·n_in children, topological-sort backward',
    study: 'fused linear',
    create: () => new FusedEngine(),
  },
  {
    name: 'fused-stack',
    description: 'fused linear nodes with the published stack backward (wrong gradients)',
    study: 'optimized: fused + stack (as published)',
    create: () => new FusedStackEngine(),
  },
  {
    name: 'pending',
    description: 'sort-free backward expanding a node once all its parents are done (what the study meant)',
    study: 'stack backward, fixed',
    create: () => new PendingEngine(),
  },
  {
    name: 'tape',
    description: 'typed-array tape: Float64Array values/grads, typed edge arrays, one reverse sweep',
    study: 'not in the study: typed-array tape',
    create: () => new TapeEngine(),
  },
  {
    name: 'tensor',
    description: 'vector-level tape: Float64Array vectors, hand-derived gradient per vector op',
    study: "not in the study: vector-level tape (MicroGPT-C's design)",
    create: () => new TensorEngine(),
  },
];

/** Those and any from $MICROGPT_BENCH_ENGINES. */
const REGISTERED: readonly EngineInfo[] = [...ENGINES, ...(await pluginEngines())];

export function engineNames(): string[] {
  return REGISTERED.map((e) => e.name);
}

/**
 * Engines from outside the repo, to try a design without editing it: $MICROGPT_BENCH_ENGINES names
 * a module (absolute path) exporting `engines: EngineInfo[]`. This runs while the registry is
 * imported, before any command could catch an error, so a bad module is reported here: one line,
 * exit code 2.
 */
async function pluginEngines(): Promise<EngineInfo[]> {
  const path = process.env.MICROGPT_BENCH_ENGINES;
  if (!path) return [];
  const fail = (why: string): never => {
    process.stderr.write(`error: MICROGPT_BENCH_ENGINES=${path}: ${why}\n`);
    process.exit(2);
  };
  if (!isAbsolute(path)) return fail('expected an absolute path');
  let engines: unknown;
  try {
    ({ engines } = (await import(pathToFileURL(path).href)) as { engines?: unknown });
  } catch (err) {
    return fail(`cannot load it: ${String(err instanceof Error ? err.message : err).split('\n')[0]}`);
  }
  const valid = (e: unknown) => {
    const info = e as EngineInfo;
    return (
      typeof e === 'object' &&
      e !== null &&
      ['name', 'description', 'study'].every((k) => typeof info[k as keyof EngineInfo] === 'string') &&
      typeof info.create === 'function'
    );
  };
  if (!Array.isArray(engines) || !engines.every(valid))
    return fail('expected it to export `engines`, an array of { name, description, study, create }');
  const names = (engines as EngineInfo[]).map((e) => e.name);
  const taken = names.find((name, i) => names.indexOf(name) !== i || ENGINES.some((e) => e.name === name));
  if (taken !== undefined) return fail(`engine name '${taken}' is already registered`);
  return engines as EngineInfo[];
}

/** The registered engine called `name`, or undefined. */
export function findEngine(name: string): EngineInfo | undefined {
  return REGISTERED.find((e) => e.name === name);
}
