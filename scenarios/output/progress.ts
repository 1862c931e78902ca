/**
 * bench:all's progress on stderr: a bar per run in progress (several at once when a round's runs go
 * in parallel, as count runs do; cli-progress draws only on a terminal), and a line as each run ends.
 */
import cliProgress from 'cli-progress';
import type { Rounds, RunRecord } from '../bench/job-kind.ts';
import type { Progress, ScheduleHooks, Task } from '../bench/scheduler.ts';
import { formatCount, formatSeconds } from './units.ts';
import { printable } from './table.ts';

export class RunProgress implements Required<ScheduleHooks> {
  private readonly bars = new cliProgress.MultiBar(
    {
      stream: process.stderr,
      format: '{label} [{bar}] step {value}/{total} | loss {loss} | {duration_formatted}',
      hideCursor: true,
      clearOnComplete: true,
    },
    cliProgress.Presets.shades_classic,
  );
  private readonly active = new Map<Task<unknown>, cliProgress.SingleBar>();

  /** `plan`: bench:all's --warmup and --trials, from which each kind's run counts follow. */
  constructor(private readonly plan: Rounds) {}

  onProgress(task: Task<unknown>, p: Progress): void {
    // MultiBar's bars draw even off a terminal once updated (a SingleBar would not): none there.
    if (!process.stderr.isTTY) return;
    if (p.type === 'start') {
      this.active.get(task)?.stop();
      this.active.set(task, this.bars.create(p.steps, 0, { label: this.name(task), loss: '-' }));
    } else {
      this.active.get(task)?.update(p.step, { loss: p.loss.toFixed(4) });
    }
  }

  onRunEnd(task: Task<unknown>, run: RunRecord): void {
    const bar = this.active.get(task);
    if (bar) this.bars.remove(bar);
    this.active.delete(task);
    const outcome = run.status === 'ok' ? task.kind.describe(run.result) : `${run.status}: ${run.reason}`;
    const c = run.status === 'ok' ? run.counts : null;
    const counted = c
      ? `, ${formatCount((c.training ?? c.whole).instructions)} instructions${c.training ? ' training' : ''}`
      : '';
    const left = run.lingering ? `; left running, killed: ${namesShortened(run.lingering)}` : '';
    const head = printable(`${this.name(task)}: ${outcome}${counted}`);
    const line = `${head} (${formatSeconds(run.wallMs, 1)} wall${printable(left)})\n`;
    // Above the bars while some are drawn.
    if (this.active.size > 0) this.bars.log(line);
    else process.stderr.write(line);
  }

  stop(): void {
    this.bars.stop();
    this.active.clear();
  }

  /** "tape trial 2/3", "tape warmup 1/1"; a kind with one run per engine: "tape gradient check". */
  private name(task: Task<unknown>): string {
    const { warmup, trials } = task.kind.rounds(this.plan);
    if (warmup === 0 && trials === 1) return `${task.engine} ${task.kind.runLabel}`;
    const [label, of] = task.warmup ? ['warmup', warmup] : [task.kind.runLabel, trials];
    return `${task.engine} ${label} ${task.trial}/${of}`;
  }
}

/** Processes a program left running, in a progress line: the first few, then how many more (the record keeps all). */
export function namesShortened(lingering: readonly string[], shown = 3): string {
  const more = lingering.length - shown;
  return more > 0 ? `${lingering.slice(0, shown).join(', ')} and ${more} more` : lingering.join(', ');
}
