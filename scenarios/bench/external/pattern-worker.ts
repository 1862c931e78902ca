/**
 * A program's own patterns matched in a worker thread. A JavaScript regular expression can take
 * exponential time on one line (nested quantifiers: `(a+)+$`), and V8 cannot be told to give up on
 * one; run in the bench's thread it blocks the event loop, and --timeout with it. Here the bench
 * keeps its loop: it waits for the matches only until the run's deadline, then terminates the
 * worker, which V8 interrupts even inside a match. Refusing such patterns up front could only be a
 * guess (which patterns backtrack badly depends on the input), and a line-length cap does not bound
 * an exponential.
 */
import { Worker } from 'node:worker_threads';
import { patternSources, type LineMatch, type LineMatcher, type Patterns } from './output.ts';

// Plain JavaScript, evaluated in the worker: no loader needed, whether the bench runs compiled or under tsx.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const regexes = workerData.map((source) => (source === null ? null : new RegExp(source)));
parentPort.on('message', (lines) => {
  parentPort.postMessage(lines.map((line) => {
    for (let i = 0; i < regexes.length; i++) {
      const groups = regexes[i] && regexes[i].exec(line)?.groups;
      if (groups) return [i, { ...groups }];
    }
    return null;
  }));
});`;

export class WorkerMatcher implements LineMatcher {
  private readonly worker: Worker;
  /** Each batch sent and not yet answered: its callback, in order (the worker answers in order). */
  private readonly waiting: ((matches: LineMatch[]) => void)[] = [];
  private idle: (() => void)[] = [];
  private failure: string | null = null;

  constructor(patterns: Patterns) {
    this.worker = new Worker(WORKER_SOURCE, { eval: true, workerData: patternSources(patterns) });
    // Never what keeps the bench alive: it is terminated with its run.
    this.worker.unref();
    this.worker.on('message', (matches: LineMatch[]) => {
      this.waiting.shift()?.(matches);
      if (this.waiting.length === 0) this.wake();
    });
    this.worker.on('error', (err) => {
      this.failure = err.message;
      this.waiting.length = 0;
      this.wake();
    });
  }

  match(lines: string[], done: (matches: LineMatch[]) => void): void {
    if (this.failure !== null) return;
    this.waiting.push(done);
    this.worker.postMessage(lines);
  }

  /**
   * Waits until every line sent is matched, at most `ms`; then stops the worker. Resolves null when
   * all were matched, else why not.
   */
  async finish(ms: number): Promise<string | null> {
    if (this.waiting.length > 0 && this.failure === null) {
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        this.idle.push(resolve);
        timer = setTimeout(resolve, Math.max(0, ms));
      });
      clearTimeout(timer);
    }
    void this.worker.terminate();
    if (this.failure !== null) return `its patterns failed on its output (${this.failure})`;
    return this.waiting.length > 0 ? 'its patterns were still matching its output (a pattern that backtracks?)' : null;
  }

  private wake(): void {
    const idle = this.idle;
    this.idle = [];
    idle.forEach((resolve) => resolve());
  }
}
