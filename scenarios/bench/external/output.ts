/**
 * Reading an external program's output: its loss lines, samples and, when it prints one, its
 * training time. By default microgpt.py's own formats (`step    1 / 1000 | loss 3.3660`, printed
 * with `\r` endings; `sample  1: kamon`). Lines end at `\n`, `\r\n` or a lone `\r`; stdout and
 * stderr are read alike, each on its own. Reading is linear in the output and bounded in memory: a
 * line is kept up to MAX_LINE_CHARS (its head, where every format's fields are), the rest skipped.
 */
import type { ExternalSpec } from './spec.ts';

const DEFAULT_LOSS = String.raw`^\s*step\s+(?<step>\d+)\s*\/\s*(?<steps>\d+)\s*\|\s*loss\s+(?<loss>\S+)`;
const DEFAULT_SAMPLE = String.raw`^\s*sample\s+\d+:\s?(?<text>.*)$`;

/** The longest line kept; a program's own lines are far shorter (a sample is one name). */
export const MAX_LINE_CHARS = 64 * 1024;

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

/** The pattern sources in the order a line is tried against them: loss, sample, time (null: none). */
export function patternSources(patterns: Patterns): [string, string, string | null] {
  return [patterns.lossPattern ?? DEFAULT_LOSS, patterns.samplePattern ?? DEFAULT_SAMPLE, patterns.timePattern];
}

/** Whether any pattern is the program's own (not one of microgpt.py's, which are known not to backtrack). */
export function hasOwnPatterns(patterns: Patterns): boolean {
  return patterns.lossPattern !== null || patterns.samplePattern !== null || patterns.timePattern !== null;
}

/** Which pattern a line matched (its index in patternSources) and its named groups; null for none. */
export type LineMatch = readonly [pattern: number, groups: Record<string, string>] | null;

/** Matches lines against the patterns; `done` hears the matches of each batch, batches in order. */
export interface LineMatcher {
  match(lines: string[], done: (matches: LineMatch[]) => void): void;
}

/** Matching at once, in this thread: for microgpt.py's patterns, and for tests. */
export class InlineMatcher implements LineMatcher {
  private readonly regexes: (RegExp | null)[];

  constructor(patterns: Patterns) {
    this.regexes = patternSources(patterns).map((source) => (source === null ? null : new RegExp(source)));
  }

  match(lines: string[], done: (matches: LineMatch[]) => void): void {
    done(lines.map((line) => matchLine(this.regexes, line)));
  }
}

function matchLine(regexes: readonly (RegExp | null)[], line: string): LineMatch {
  for (let i = 0; i < regexes.length; i++) {
    const groups = regexes[i]?.exec(line)?.groups;
    if (groups) return [i, groups];
  }
  return null;
}

/**
 * Splits a stream's chunks into lines, each chunk scanned once: a line split between chunks is
 * carried over (at most MAX_LINE_CHARS of it), never re-scanned.
 */
export class LineSplitter {
  private pending = '';
  /** The last chunk ended with a \r, which may be the first half of a \r\n. */
  private afterCarriageReturn = false;

  constructor(private readonly onLines: (lines: string[]) => void) {}

  push(chunk: string): void {
    const lines: string[] = [];
    let start = this.afterCarriageReturn && chunk.startsWith('\n') ? 1 : 0;
    const ends = /\r\n|\r|\n/g;
    ends.lastIndex = start;
    for (let end = ends.exec(chunk); end; end = ends.exec(chunk)) {
      this.carry(chunk, start, end.index);
      lines.push(this.pending);
      this.pending = '';
      start = end.index + end[0].length;
    }
    this.afterCarriageReturn = start === chunk.length && chunk.endsWith('\r');
    this.carry(chunk, start, chunk.length);
    if (lines.length > 0) this.onLines(lines);
  }

  end(): void {
    if (this.pending !== '') this.onLines([this.pending]);
    this.pending = '';
  }

  private carry(chunk: string, from: number, to: number): void {
    const room = MAX_LINE_CHARS - this.pending.length;
    if (room > 0 && to > from) this.pending += chunk.slice(from, Math.min(to, from + room));
  }
}

/** Feeds chunks of one stream and collects into `out`; `onStep` hears each loss line as it is matched. */
export class OutputReader {
  private readonly lines: LineSplitter;

  constructor(
    patterns: Patterns,
    private readonly out: ExternalOutputBuilder,
    private readonly onStep: (step: number, steps: number | null, loss: number) => void = () => {},
    matcher: LineMatcher = new InlineMatcher(patterns),
  ) {
    this.lines = new LineSplitter((lines) => matcher.match(lines, (matches) => matches.forEach((m) => this.take(m))));
  }

  push(chunk: string): void {
    this.lines.push(chunk);
  }

  end(): void {
    this.lines.end();
  }

  private take(match: LineMatch): void {
    if (match === null) return;
    const [pattern, groups] = match;
    if (pattern === 0) {
      const step = Number(groups.step);
      const steps = groups.steps === undefined ? null : Number(groups.steps);
      this.out.losses.push({ step, loss: groups.loss });
      if (steps !== null) this.out.printedSteps = steps;
      this.onStep(step, steps, Number(groups.loss));
    } else if (pattern === 1) {
      this.out.samples.push(groups.text);
    } else {
      this.out.trainingMs = groups.ms !== undefined ? Number(groups.ms) : Number(groups.seconds) * 1000;
    }
  }
}

export type ExternalOutputBuilder = { -readonly [K in keyof ExternalOutput]: ExternalOutput[K] };

export function emptyOutput(): ExternalOutputBuilder {
  return { losses: [], printedSteps: null, samples: [], trainingMs: null };
}
