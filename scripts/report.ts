import { realpathSync } from 'node:fs';
import { readResultsFolder } from '../scenarios/bench/results.ts';
import { formatNames, RESULTS_FORMATS, selectFormats, writeFormats } from '../scenarios/output/export/formats.ts';
import { InputError } from '../engines/input-error.ts';
import { choiceListFlag, command } from './cli.ts';
import {
  displayPath,
  outputBase,
  outputFile,
  pageBesideFlag,
  reportFileFlag,
  reportFilesFlag,
} from './output-paths.ts';
import { writeFileAtomic } from '../scenarios/files.ts';
import { sweepReport } from '../scenarios/output/export/sweep.ts';
import { isSweepFolder, mergeSweeps, readSweepFolder } from '../scenarios/sweep/folder.ts';

const FORMATS = formatNames(RESULTS_FORMATS);

const HELP = `Usage: npm run report -- DIR [DIR ...] [--format ${FORMATS.join(',')}] [--output FILE]

Regenerates the report (Markdown, CSV, JSON or an HTML page) from saved bench:all results
folders (their runs.jsonl and env.json), without rerunning anything. A folder from an interrupted
bench reports the runs it finished. Several folders (from different machines, say) merge into one
report with a machine column.

Given bench:sweep folders instead, it writes the sweep's Markdown report, its points.csv and its
page (<output>.md, <output>.points.csv, <output>.html): from one whole sweep, or merging the
folders of all n shards of one (\`--shard 1/n\` … \`--shard n/n\`); a missing, repeated or foreign
shard is an error.

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

/** Sweep folders: one whole sweep, or every shard of one, merged into points.csv and the report. */
async function sweepReportCommand(dirs: readonly string[], values: { format?: string; output?: string }) {
  const plain = dirs.find((dir) => !isSweepFolder(dir));
  if (plain !== undefined) throw new InputError(`${plain}: not a bench:sweep folder, and the others are`);
  if (values.format !== undefined) throw new InputError("--format: a sweep's report is Markdown plus points.csv");
  const real = dirs.map((dir) => realpathSync(dir));
  const again = real.findIndex((path, i) => real.indexOf(path) !== i);
  if (again >= 0) throw new InputError(`${dirs[again]}: the same sweep folder is given twice`);
  const sweep = mergeSweeps(dirs.map(readSweepFolder));
  // All three paths checked before any work: the two beside the report are outputs too.
  const base = values.output && outputBase('output', values.output).replace(/\.md$/, '');
  const md = reportFileFlag('output', base && `${base}.md`, [...dirs]);
  const csv = outputFile('output', md.replace(/\.md$/, '.points.csv'));
  const html = pageBesideFlag('output', md);
  const report = sweepReport(sweep);
  writeFileAtomic(md, report.markdown);
  writeFileAtomic(csv, report.csv);
  writeFileAtomic(html, await report.html());
  process.stdout.write([md, csv, html].map((path) => `${displayPath(path)}\n`).join(''));
}

command({
  help: () => HELP,
  flags: { format: { type: 'string' }, output: { type: 'string' } },
  positionals: true,
  async run({ values, positionals }) {
    if (positionals.length === 0) {
      throw new InputError('expected at least one results folder (npm run report -- DIR [DIR ...])');
    }
    if (positionals.some(isSweepFolder)) return await sweepReportCommand(positionals, values);
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
