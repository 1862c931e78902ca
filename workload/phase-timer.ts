/** Accumulates the milliseconds spent between start() and stop() calls. */
export class PhaseTimer {
  ms = 0;
  private startedAt = 0;

  start(): void {
    this.startedAt = performance.now();
  }

  stop(): void {
    this.ms += performance.now() - this.startedAt;
  }
}
