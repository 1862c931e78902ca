/** What the bench runner and its worker processes say to each other. */
import type { TrainConfig } from '../../workload/config.ts';
import type { GradcheckResult } from '../gradcheck.ts';
import type { TrainResult } from '../train.ts';

/** One isolated run: the worker gets it as JSON in argv. */
export interface ChildJob {
  kind: 'train' | 'gradcheck';
  engine: string;
  /** The dataset file, or null for the embedded list. */
  dataPath: string | null;
  config: TrainConfig;
}

/** Worker → runner over the IPC channel: progress while training, then exactly one final message. */
export type WorkerMessage =
  | { type: 'start'; steps: number }
  | { type: 'step'; step: number; loss: number }
  | { type: 'result'; result: TrainResult | GradcheckResult }
  /** `loss` as text: NaN and ±Infinity do not survive JSON. */
  | { type: 'diverged'; step: number; loss: string }
  | { type: 'error'; message: string };
