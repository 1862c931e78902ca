import { isAbsolute } from 'node:path';
import { pathToFileURL } from 'node:url';
import { InputError } from './input-error.ts';
import { runNameProblem } from './names.ts';
import type { Engine } from './engine.ts';
import { PRECISIONS, type EngineInfo, type PluginEngineInfo } from './engine-info.ts';
import { FusedEngine } from './fused.ts';
import { FusedStackEngine } from './fused-stack.ts';
import { PendingEngine } from './pending.ts';
import { StackEngine } from './stack.ts';
import { TapeEngine } from './tape.ts';
import { TensorEngine } from './tensor.ts';
import { createTfjs } from './tfjs.ts';
import { TopoEngine } from './topo.ts';
import { WasmEngine, wasmSizeProblem } from './wasm.ts';
import { WasmCapturedEngine } from './wasm-captured.ts';

export { precisionOf, PRECISIONS } from './engine-info.ts';
export type { EngineInfo, PluginEngineInfo, Precision } from './engine-info.ts';

/** The engines in this repository; add a new one here. */
export const ENGINES: readonly EngineInfo[] = [
  {
    name: 'topo',
    description: 'scalar Value nodes, recursive topological sort, reverse sweep (microgpt.py)',
    study: 'baseline (naive port)',
    expected: 'correct',
    create: () => new TopoEngine(),
  },
  {
    name: 'stack',
    description: "scalar Value nodes, the study's stack backward as published (wrong: a node is passed on once)",
    study: 'stack-based backward (as published)',
    expected: 'wrong-by-design',
    create: () => new StackEngine(),
  },
  {
    name: 'fused',
    description: 'each linear output one node with 2·n_in children, topological-sort backward',
    study: 'fused linear',
    expected: 'correct',
    create: () => new FusedEngine(),
  },
  {
    name: 'fused-stack',
    description: 'fused linear nodes with the published stack backward (wrong gradients)',
    study: 'optimized: fused + stack (as published)',
    expected: 'wrong-by-design',
    create: () => new FusedStackEngine(),
  },
  {
    name: 'pending',
    description: 'sort-free backward expanding a node once all its parents are done (what the study meant)',
    study: 'stack backward, fixed',
    expected: 'correct',
    create: () => new PendingEngine(),
  },
  {
    name: 'tape',
    description: 'typed-array tape: Float64Array values/grads, typed edge arrays, one reverse sweep',
    study: 'not in the study: typed-array tape',
    expected: 'correct',
    create: () => new TapeEngine(),
  },
  {
    name: 'tensor',
    description: 'vector-level tape: Float64Array vectors, hand-derived gradient per vector op',
    study: "not in the study: vector-level tape (MicroGPT-C's design)",
    expected: 'correct',
    create: () => new TensorEngine(),
  },
  {
    name: 'wasm',
    description: "tensor's design in WebAssembly (AssemblyScript, 128-bit SIMD), Adam inside the module",
    study: 'not in the study: vector-level tape in WebAssembly',
    expected: 'correct',
    create: () => new WasmEngine(),
    sizeProblem: wasmSizeProblem,
  },
  {
    name: 'wasm-captured',
    description: 'wasm with step capture: the model recorded once per document length, the module replays each step',
    study: 'not in the study: vector-level tape in WebAssembly, replayed',
    expected: 'correct',
    create: () => new WasmCapturedEngine(),
    sizeProblem: wasmSizeProblem,
  },
  {
    name: 'tfjs-cpu',
    description: 'TensorFlow.js 4.22, CPU backend: float32 tensor ops, gradients from tf.variableGrads',
    study: 'not in the study: a general autograd library (JavaScript kernels)',
    expected: 'correct',
    precision: 'float32',
    optIn: true,
    create: () => createTfjs('cpu'),
  },
  {
    name: 'tfjs-wasm',
    description: 'TensorFlow.js 4.22, WebAssembly backend (XNNPACK, SIMD): float32, gradients from tf.variableGrads',
    study: 'not in the study: a general autograd library (WebAssembly kernels)',
    expected: 'correct',
    precision: 'float32',
    optIn: true,
    create: () => createTfjs('wasm'),
  },
];

/** A built-in engine by name (plugins are in what `loadEngines` returns). */
export function findEngine(name: string): EngineInfo | undefined {
  return ENGINES.find((e) => e.name === name);
}

/**
 * A new engine of `info`, its start awaited. One that cannot start (its `create` throws or its Promise
 * rejects) is an InputError naming it: the command's input named an engine that does not run here.
 */
export async function startEngine(info: EngineInfo): Promise<Engine> {
  try {
    return await info.create();
  } catch (err) {
    const why = String(err instanceof Error ? err.message : err).split('\n')[0];
    throw new InputError(`engine '${info.name}' could not start: ${why}`);
  }
}

/**
 * A built-in engine that starts synchronously, as every float64 one here does: for the stand-in
 * reference and for tests, which need it at once. Throws for an unknown name or an asynchronous start.
 */
export function createBuiltIn(name: string): Engine {
  const engine = findEngine(name)?.create();
  if (engine === undefined || engine instanceof Promise)
    throw new Error(`'${name}' is not a synchronous built-in engine`);
  return engine;
}

/** The engines a command can run: the built-in ones and a plugin module's. */
export class EngineRegistry {
  constructor(
    readonly all: readonly EngineInfo[],
    /** The plugin module's path, or null. */
    readonly pluginModule: string | null = null,
  ) {}

  names(): string[] {
    return this.all.map((e) => e.name);
  }

  /** The names of the plugin module's engines (none without one). */
  pluginNames(): string[] {
    return this.all.filter((e) => !ENGINES.includes(e)).map((e) => e.name);
  }

  /** The engines a command runs when not told which: all but the opt-in ones. */
  defaults(): EngineInfo[] {
    return this.all.filter((e) => e.optIn !== true);
  }

  find(name: string): EngineInfo | undefined {
    return this.all.find((e) => e.name === name);
  }
}

/**
 * The built-in engines plus those of a plugin module, to try a design without editing the repo: an
 * absolute path to a module exporting `engines: EngineInfo[]` (`expected` may be left out: 'correct').
 * A module that does not load or has the wrong shape is an InputError whose message starts with `label`.
 */
export async function loadEngines(pluginModule: string | null = null, label = pluginModule): Promise<EngineRegistry> {
  if (!pluginModule) return new EngineRegistry(ENGINES);
  const fail = (why: string): never => {
    throw new InputError(`${label}: ${why}`);
  };
  if (!isAbsolute(pluginModule)) return fail('expected an absolute path');
  let engines: unknown;
  try {
    ({ engines } = (await import(pathToFileURL(pluginModule).href)) as { engines?: unknown });
  } catch (err) {
    return fail(`cannot load it: ${String(err instanceof Error ? err.message : err).split('\n')[0]}`);
  }
  if (!Array.isArray(engines) || !engines.every(isPluginEngine)) {
    return fail('expected it to export `engines`, an array of { name, description, study, create }');
  }
  const unknownPrecision = engines.find((e) => e.precision !== undefined && !PRECISIONS.includes(e.precision));
  if (unknownPrecision) {
    return fail(
      `engine '${unknownPrecision.name}': unknown precision '${String(unknownPrecision.precision)}' ` +
        `(expected ${PRECISIONS.join(' or ')})`,
    );
  }
  const plugins = engines.map((e) => ({ expected: 'correct' as const, ...e }));
  for (const { name } of plugins) {
    const problem = runNameProblem(name);
    if (problem !== null) return fail(`engine name ${JSON.stringify(name)} ${problem}`);
  }
  const names = plugins.map((e) => e.name);
  const taken = names.find((name, i) => names.indexOf(name) !== i || findEngine(name) !== undefined);
  if (taken !== undefined) return fail(`engine name '${taken}' is already registered`);
  return new EngineRegistry([...ENGINES, ...plugins], pluginModule);
}

function isPluginEngine(e: unknown): e is PluginEngineInfo {
  if (typeof e !== 'object' || e === null) return false;
  const info = e as Record<string, unknown>;
  const expected = info.expected === undefined || info.expected === 'correct' || info.expected === 'wrong-by-design';
  return (
    ['name', 'description', 'study'].every((k) => typeof info[k] === 'string') &&
    typeof info.create === 'function' &&
    expected
  );
}
