import type { EngineInfo, EngineRegistry } from '../engines/registry.ts';
import { DEFAULT_CONFIG, type TrainConfig } from '../workload/config.ts';
import { InputError } from '../engines/input-error.ts';
import { Tokenizer, type Dataset } from '../workload/dataset.ts';
import { modelLayout } from '../workload/model.ts';
import { choiceListFlag, intFlag, numberFlag } from './cli.ts';

/** Flags for the training job's hyperparameters, shared by every command that runs the job. */
export const JOB_FLAGS = {
  steps: { type: 'string' },
  data: { type: 'string' },
  seed: { type: 'string' },
  'n-layer': { type: 'string' },
  'n-embd': { type: 'string' },
  'block-size': { type: 'string' },
  'n-head': { type: 'string' },
  lr: { type: 'string' },
  beta1: { type: 'string' },
  beta2: { type: 'string' },
  'eps-adam': { type: 'string' },
  'init-std': { type: 'string' },
  temperature: { type: 'string' },
  samples: { type: 'string' },
} as const;

export const JOB_HELP = `Job options (defaults are microgpt.py's):
  --data PATH          text file, one document per line (default: embedded English first names)
  --steps N            training steps (default ${DEFAULT_CONFIG.steps})
  --seed N             random seed (default ${DEFAULT_CONFIG.seed})
  --n-layer N          transformer layers (default ${DEFAULT_CONFIG.nLayer})
  --n-embd N           embedding width (default ${DEFAULT_CONFIG.nEmbd})
  --block-size N       context length (default ${DEFAULT_CONFIG.blockSize})
  --n-head N           attention heads, must divide --n-embd (default ${DEFAULT_CONFIG.nHead})
  --lr X               Adam learning rate (default ${DEFAULT_CONFIG.learningRate})
  --beta1 X, --beta2 X Adam betas (default ${DEFAULT_CONFIG.beta1}, ${DEFAULT_CONFIG.beta2})
  --eps-adam X         Adam epsilon (default ${DEFAULT_CONFIG.epsAdam})
  --init-std X         std of the gaussian parameter init (default ${DEFAULT_CONFIG.initStd})
  --temperature X      sampling temperature in (0, 1] (default ${DEFAULT_CONFIG.temperature})
  --samples N          samples drawn after training (default ${DEFAULT_CONFIG.samples})`;

type JobValues = { [K in keyof typeof JOB_FLAGS]?: string | boolean };

export function configFromFlags(v: JobValues): TrainConfig {
  const s = (k: keyof typeof JOB_FLAGS) => v[k] as string | undefined;
  const d = DEFAULT_CONFIG;
  const positive = (n: number) => n > 0;
  const unit = (n: number) => n > 0 && n < 1;
  const cfg: TrainConfig = {
    steps: intFlag('steps', s('steps'), d.steps),
    seed: intFlag('seed', s('seed'), d.seed, 0),
    nLayer: intFlag('n-layer', s('n-layer'), d.nLayer),
    nEmbd: intFlag('n-embd', s('n-embd'), d.nEmbd),
    blockSize: intFlag('block-size', s('block-size'), d.blockSize),
    nHead: intFlag('n-head', s('n-head'), d.nHead),
    learningRate: numberFlag('lr', s('lr'), d.learningRate, positive, 'a number > 0'),
    beta1: numberFlag('beta1', s('beta1'), d.beta1, unit, 'a number in (0, 1)'),
    beta2: numberFlag('beta2', s('beta2'), d.beta2, unit, 'a number in (0, 1)'),
    epsAdam: numberFlag('eps-adam', s('eps-adam'), d.epsAdam, positive, 'a number > 0'),
    initStd: numberFlag('init-std', s('init-std'), d.initStd, positive, 'a number > 0'),
    rmsEps: d.rmsEps,
    temperature: numberFlag(
      'temperature',
      s('temperature'),
      d.temperature,
      (n) => n > 0 && n <= 1,
      'a number in (0, 1]',
    ),
    samples: intFlag('samples', s('samples'), d.samples, 0),
  };
  if (cfg.nEmbd % cfg.nHead !== 0) {
    throw new InputError(`--n-head ${cfg.nHead} must divide --n-embd ${cfg.nEmbd}`);
  }
  return cfg;
}

/**
 * Refuses a job too large for an engine with a fixed memory (wasm's 4 GiB), before it runs: found
 * only when the memory ran out, it cost minutes and a stack trace.
 */
export function assertEngineFits(info: EngineInfo, config: TrainConfig, dataset: Dataset): void {
  if (!info.sizeProblem) return;
  const problem = info.sizeProblem(modelLayout(config, new Tokenizer(dataset.docs).vocabSize).numParams);
  if (problem !== null) throw new InputError(`--engine ${info.name}: ${problem}`);
}

/** The registered engine called `name`, or an InputError listing the registered ones. */
export function engineFlag(engines: EngineRegistry, name: string | undefined, fallback = 'topo'): EngineInfo {
  const chosen = name ?? fallback;
  const info = engines.find(chosen);
  if (!info) throw new InputError(`unknown engine '${chosen}'. Registered engines: ${engines.names().join(', ')}`);
  return info;
}

/** What --engines defaults to, for --help: the default set, and the opt-in engines one may name. */
export function defaultEnginesHelp(engines: EngineRegistry): string {
  const optIn = engines.all.filter((e) => e.optIn === true).map((e) => e.name);
  const defaults = engines.defaults().map((e) => e.name);
  return `default: ${defaults.join(',')}${optIn.length > 0 ? `; opt-in, when named: ${optIn.join(',')}` : ''}`;
}

/** `--engines a,b`: those registered engines, each once, in the order given (default: all but the opt-in ones). */
export function enginesFlag(engines: EngineRegistry, raw: string | undefined): EngineInfo[] {
  if (raw === undefined) return engines.defaults();
  return [...new Set(choiceListFlag('engines', raw, engines.names()))].map((name) => engines.find(name)!);
}
