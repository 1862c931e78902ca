/** microgpt.py's hyperparameters; every one is a CLI option with these defaults. */
export interface TrainConfig {
  readonly nLayer: number;
  readonly nEmbd: number;
  readonly blockSize: number;
  readonly nHead: number;
  readonly steps: number;
  readonly learningRate: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly epsAdam: number;
  readonly initStd: number;
  readonly rmsEps: number;
  readonly temperature: number;
  readonly samples: number;
  readonly seed: number;
}

export const DEFAULT_CONFIG: TrainConfig = Object.freeze({
  nLayer: 1,
  nEmbd: 16,
  blockSize: 16,
  nHead: 4,
  steps: 1000,
  learningRate: 0.01,
  beta1: 0.85,
  beta2: 0.99,
  epsAdam: 1e-8,
  initStd: 0.08,
  rmsEps: 1e-5,
  temperature: 0.5,
  samples: 20,
  seed: 42,
});
