import type { Engine } from './engine.ts';
import { TensorEngine } from './tensor.ts';
import { TopoEngine } from './topo.ts';

export interface EngineInfo {
  readonly name: string;
  readonly description: string;
  /** Which design of the study this variant reproduces (the report's "study row"). */
  readonly study: string;
  readonly create: () => Engine;
}

export const ENGINES: readonly EngineInfo[] = [
  {
    name: 'topo',
    description: 'scalar Value nodes, recursive topological sort, reverse sweep (microgpt.py)',
    study: 'baseline (naive port)',
    create: () => new TopoEngine(),
  },
  {
    name: 'tensor',
    description: 'vector-level tape: Float64Array vectors, hand-derived gradient per vector op',
    study: "not in the study: vector-level tape (MicroGPT-C's design)",
    create: () => new TensorEngine(),
  },
];

export function engineNames(): string[] {
  return ENGINES.map((e) => e.name);
}

/** The registered engine called `name`, or undefined. */
export function findEngine(name: string): EngineInfo | undefined {
  return ENGINES.find((e) => e.name === name);
}
