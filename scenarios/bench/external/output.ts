/**
 * Reading an external program's output: its loss lines, samples and, when it prints one, its
 * training time. By default microgpt.py's own formats (`step    1 / 1000 | loss 3.3660`, printed
 * with `\r` endings; `sample  1: kamon`). Lines end at `\n`, `\r\n` or a lone `\r`; stdout and
 * stderr are read alike, each on its own.
 */
import type { ExternalSpec } from './spec.ts';

const DEFAULT_LOSS = String.raw`^\s*step\s+(?<step>\d+)\s*\/\s*(?<steps>\d+)\s*\|\s*loss\s+(?<loss>\S+)`;
const DEFAULT_SAMPLE = String.raw`^\s*sample\s+\d+:\s?(?<text>.*)$`;

/** What a run printed. Losses keep their printed text: the verdict compares them at the printed precision. */
export interface ExternalOutput {
  readonly losses: { step: number; loss: string }[];
  /** The step count the program announced in its loss lines (`/ 1000`), if it did. */
  readonly printedSteps: number | null;
  readonly samples: string[];
  /** The training time it printed, through timePattern. */
  readonly trainingMs: number | null;
}

export type Patterns = Pick<ExternalSpec, 'lossPattern' | 'samplePattern' | 'timePattern'>;

/** Feeds chunks of one stream and collects into `out`; `onStep` hears each loss line as it comes. */
export class OutputReader {
  private pending = '';
  private readonly loss: RegExp;
  private readonly sample: RegExp;
  private readonly time: RegExp | null;

  constructor(
    patterns: Patterns,
    private readonly out: ExternalOutputBuilder,
    private readonly onStep: (step: number, steps: number | null, loss: number) => void = () => {},
  ) {
    this.loss = new RegExp(patterns.lossPattern ?? DEFAULT_LOSS);
    this.sample = new RegExp(patterns.samplePattern ?? DEFAULT_SAMPLE);
    this.time = patterns.timePattern === null ? null : new RegExp(patterns.timePattern);
  }

  push(chunk: string): void {
    const lines = (this.pending + chunk).split(/\r\n|\r|\n/);
    // A chunk may end inside a line (kept for the next), or between a \r and its \n (an empty line, ignored).
    this.pending = lines.pop()!;
    for (const line of lines) this.line(line);
  }

  end(): void {
    if (this.pending !== '') this.line(this.pending);
    this.pending = '';
  }

  private line(line: string): void {
    const loss = this.loss.exec(line)?.groups;
    if (loss) {
      const step = Number(loss.step);
      const steps = loss.steps === undefined ? null : Number(loss.steps);
      this.out.losses.push({ step, loss: loss.loss });
      if (steps !== null) this.out.printedSteps = steps;
      this.onStep(step, steps, Number(loss.loss));
      return;
    }
    const sample = this.sample.exec(line)?.groups;
    if (sample) {
      this.out.samples.push(sample.text);
      return;
    }
    const time = this.time?.exec(line)?.groups;
    if (time) this.out.trainingMs = time.ms !== undefined ? Number(time.ms) : Number(time.seconds) * 1000;
  }
}

export type ExternalOutputBuilder = { -readonly [K in keyof ExternalOutput]: ExternalOutput[K] };

export function emptyOutput(): ExternalOutputBuilder {
  return { losses: [], printedSteps: null, samples: [], trainingMs: null };
}
