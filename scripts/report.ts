import { realpathSync } from 'node:fs';
import { readResultsFolder } from '../scenarios/bench/results.ts';
import { formatNames, RESULTS_FORMATS, selectFormats, writeFormats } from '../scenarios/output/export/formats.ts';
import { InputError } from '../workload/input-error.ts';
import { choiceListFlag, command } from './cli.ts';
import { displayPath, reportFilesFlag } from './output-paths.ts';

const FORMATS = formatNames(RESULTS_FORMATS);

const HELP = `Usage: npm run report -- DIR [DIR ...] [--format ${FORMATS.join(',')}] [--output FILE]

Regenerates the report (Markdown, CSV, JSON or an HTML page) from saved bench:all results
folders (their runs.jsonl and env.json), without rerunning anything. A folder from an interrupted
bench reports the runs it finished. Several folders (from different machines, say) merge into one
report with a machine column.

Options:
  --format a,b         formats to write (default md):
                         md    the Markdown report
                         csv   <name>.runs.csv (a row per training run), <name>.external-runs.csv (a row per
                               external program's run), <name>.summary.csv (a row per engine or program)
                               and <name>.losses.csv (a row per step of each counted training trial)
                         json  one document with every folder's environment, summary and runs
                         html  one self-contained page: charts of time, phases and loss curves as
                               inline SVG, each over its table; opens offline, from file://
  --output FILE        where to write: FILE for a single file, else FILE's name without its extension
                       plus each file's ending (default reports/<folder name>, several folders' names
                       joined by '+'). Prints each file's path.
  --help               show this help`;

command({
  help: () => HELP,
  flags: { format: { type: 'string' }, output: { type: 'string' } },
  positionals: true,
  async run({ values, positionals }) {
    if (positionals.length === 0) {
      throw new InputError('expected at least one results folder (npm run report -- DIR [DIR ...])');
    }
    const formats = selectFormats(RESULTS_FORMATS, choiceListFlag('format', values.format ?? 'md', FORMATS));
    const folders = positionals.map((dir) => readResultsFolder(dir));
    // The same runs twice would count twice.
    const real = positionals.map((dir) => realpathSync(dir));
    const again = real.findIndex((path, i) => real.indexOf(path) !== i);
    if (again >= 0) throw new InputError(`${positionals[again]}: the same results folder is given twice`);
    const pathOf = reportFilesFlag(
      'output',
      values.output,
      folders.map((f) => f.dir),
      formats,
    );
    const written = await writeFormats(formats, folders, pathOf);
    process.stdout.write(written.map((path) => `${displayPath(path)}\n`).join(''));
  },
});
