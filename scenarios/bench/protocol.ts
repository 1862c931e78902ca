/** What the process executor and its worker processes say to each other. */
import type { TrainConfig } from '../../workload/config.ts';
import type { Progress } from './scheduler.ts';

/** One isolated run: the worker gets it as JSON in argv. */
export interface ChildJob {
  /** The job kind's module URL; the worker runs its default export. */
  kindModule: string;
  engine: string;
  /** The plugin engines' module, or null. */
  enginesModule: string | null;
  /** The dataset file, or null for the embedded list. */
  dataPath: string | null;
  config: TrainConfig;
  /**
   * The run is counted under callgrind: nothing in it may depend on the clock, so progress goes out
   * every so many steps instead of every so many milliseconds.
   */
  counted?: boolean;
  /** A count run's steps before the counted ones (the first mark comes after them); 0 if absent. */
  countSkip?: number;
}

/**
 * The worker's file descriptor for its messages: a pipe the executor reads, one JSON message per line.
 * Not Node's IPC channel: a process given one loads child_process, net and stream before its first
 * line runs: 42M of the 945M instructions of a 20-step count run of tape, and about 5 ms of a timed
 * worker's start-up (wasm-captured's, median of 9).
 */
export const MESSAGES_FD = 3;

/** Worker → executor through the messages pipe: progress while working, then exactly one final message. */
export type WorkerMessage =
  | Progress
  /** The result as the kind produced it: the executor checks it against the kind's schema. */
  | { type: 'result'; result: unknown }
  /** The loss, or the parameters after the step's update, stopped being finite. */
  | { type: 'diverged'; step: number; reason: string }
  | { type: 'error'; message: string };
