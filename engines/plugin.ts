/**
 * What a plugin engine module imports from the harness, as `microgpt-bench/engine` (package.json's
 * `exports`): the Engine interface and the registry entry's type, and attnScale, the one number an
 * engine must compute exactly as the model does. A built-in engine to extend or wrap is
 * `microgpt-bench/engines/<file>` (`microgpt-bench/engines/tensor`, say).
 */
export { attnScale } from './engine.ts';
export type { AdamConfig, Engine, FusedAdam, GraphStats, ParamMatrix, StepCapture, ValueAndGrad } from './engine.ts';
export type { EngineInfo, PluginEngineInfo, Precision } from './engine-info.ts';
