/**
 * What the harness knows of an engine besides its operations: the registry's entry, which a plugin
 * module exports too (its types importable as `microgpt-bench/engine`, engines/plugin.ts).
 */
import type { Engine } from './engine.ts';

/** The floating-point format an engine computes in: what the gradient check's tolerances are derived from. */
export type Precision = 'float64' | 'float32';
export const PRECISIONS: readonly Precision[] = ['float64', 'float32'];

/** One registered engine: the built-in ones in engines/registry.ts, a plugin module's in its `engines`. */
export interface EngineInfo {
  /**
   * What `--engine` takes, and part of file names (flame's `<out>/<name>/`): not empty, at most 100
   * bytes of UTF-8, without `/`, `\`, `..` or control characters (engines/names.ts).
   */
  readonly name: string;
  readonly description: string;
  /** Which design of the study this variant reproduces (the report's "study row"). */
  readonly study: string;
  /** What the gradient check must say: the study's published stack backward is wrong on purpose. */
  readonly expected: 'correct' | 'wrong-by-design';
  /**
   * What it computes in (default 'float64'): a 'float32' engine is checked against float32 rounding's
   * bounds, and a pass says so: `pass (float32: within rounding)` (docs/engines.md, "Gradient check").
   */
  readonly precision?: Precision;
  /**
   * Left out of a command's engines unless named in --engines (default false): for an engine too slow
   * for every default run.
   */
  readonly optIn?: boolean;
  /** A new engine; a Promise for one that must wait to start (a backend compiled asynchronously). */
  readonly create: () => Engine | Promise<Engine>;
  /** Why a model of this many parameters is too large for the engine (a fixed memory), or null. */
  readonly sizeProblem?: (params: number) => string | null;
}

/** An engine's declared precision, 'float64' when it declares none. */
export function precisionOf(info: Pick<EngineInfo, 'precision'>): Precision {
  return info.precision ?? 'float64';
}

/** What a plugin module exports per engine: `expected` may be left out ('correct'). */
export type PluginEngineInfo = Omit<EngineInfo, 'expected'> & Partial<Pick<EngineInfo, 'expected'>>;
