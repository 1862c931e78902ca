import { realpathSync } from 'node:fs';
import { join } from 'node:path';
import { compareFolders, type Comparison } from '../scenarios/compare/compare.ts';
import { readResultsFolder } from '../scenarios/bench/results.ts';
import { COMPARE_FORMATS, formatNames, selectFormats, writeFormats } from '../scenarios/output/export/formats.ts';
import { compareMarkdown } from '../scenarios/output/export/compare.ts';
import { InputError } from '../engines/input-error.ts';
import { choiceListFlag, command, numberFlag } from './cli.ts';
import { COMPARE_FLAGS, COMPARE_FLAGS_HELP, thresholdFlag } from './compare-flags.ts';
import { displayPath, reportFilesFlag } from './output-paths.ts';
import { REPORTS_DIR } from './paths.ts';

const FORMATS = formatNames(COMPARE_FORMATS);

const HELP = `Usage: npm run compare -- BASE NEW [options]

Did a change make an engine faster, and did it stay correct? Compares two bench:all results folders
of the same job (dataset, hyperparameters, seed and steps; another job is an error), engine by
engine, and prints the Markdown table:
  - the change of the training time, NEW / BASE, with its confidence interval, and a verdict: faster,
    slower, no change (the interval within ±threshold, or a significant change smaller than it),
    not significant, or too few trials (fewer than 3 a side, or too few for the interval);
  - whether any step's loss changed, and the gradient verdict on both sides (pass → FAIL is a regression);
  - a warning for another machine, Node version or CPU, and for timings whose spread (CV) is over 10%.

Options:
${COMPARE_FLAGS_HELP}
  --confidence C         of the interval, between 0.5 and 0.999 (default 0.95)
  --format a,b           also write these files (${FORMATS.join(', ')}): reports/compare-<BASE>-vs-<NEW>.<format>
  --output FILE          where --format writes: FILE for one format, else FILE's name without its
                         extension plus each format's ending
  --help                 show this help

Exit code: 0, or 1 with --fail-on-regression and a regression; 2 for bad input.`;

command({
  help: () => HELP,
  flags: {
    ...COMPARE_FLAGS,
    confidence: { type: 'string' },
    format: { type: 'string' },
    output: { type: 'string' },
  },
  positionals: true,
  async run({ values, positionals }) {
    if (positionals.length !== 2) {
      throw new InputError(`expected two results folders, BASE and NEW (got ${positionals.length})`);
    }
    const threshold = thresholdFlag(values.threshold);
    const confidence = numberFlag(
      'confidence',
      values.confidence,
      0.95,
      (n) => n >= 0.5 && n <= 0.999,
      'a number between 0.5 and 0.999',
    );
    const formats =
      values.format === undefined
        ? []
        : selectFormats(COMPARE_FORMATS, choiceListFlag('format', values.format, FORMATS));
    if (values.output !== undefined && formats.length === 0) throw new InputError('--output needs --format');
    const [base, next] = positionals.map((dir) => readResultsFolder(dir));
    if (realpathSync(base.dir) === realpathSync(next.dir)) throw new InputError('BASE and NEW are the same folder');
    const pathOf = formats.length
      ? reportFilesFlag('output', values.output ?? defaultOutput(base.name, next.name, formats), [], formats)
      : () => '';
    const comparison = compareFolders(base, next, { threshold, confidence });
    report(comparison, formats.length ? await writeFormats(formats, comparison, pathOf) : []);
    if (values['fail-on-regression'] && comparison.engines.some((e) => e.regression)) process.exitCode = 1;
  },
});

/** reports/compare-<BASE>-vs-<NEW>.<ending>: as given for one format, the base name of each for several. */
function defaultOutput(base: string, next: string, formats: readonly { name: string }[]): string {
  return join(REPORTS_DIR, `compare-${base}-vs-${next}.${formats.length === 1 ? formats[0].name : 'md'}`);
}

function report(c: Comparison, written: string[]): void {
  process.stdout.write(compareMarkdown.serialize(c));
  process.stdout.write(written.map((path) => `${displayPath(path)}\n`).join(''));
}
