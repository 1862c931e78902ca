import { markdownReport } from '../scenarios/bench/export/markdown.ts';
import { readResultsFolder, writeFileAtomic } from '../scenarios/bench/results.ts';
import { InputError } from '../workload/input-error.ts';
import { parseFlags, runCli } from './cli.ts';
import { displayPath, reportFileFlag } from './output-paths.ts';

const HELP = `Usage: npm run report -- DIR [DIR ...] [--output FILE]

Regenerates the Markdown report from saved bench:all results folders (their runs.jsonl and
env.json), without rerunning anything. A folder from an interrupted bench reports the runs it
finished. Several folders (from different machines, say) merge into one report with a machine column.

Options:
  --output FILE        where to write the report (default reports/<folder name>.md; for several
                       folders their names joined by '+')
  --help               show this help`;

runCli(() => {
  const { values, positionals } = parseFlags(
    process.argv.slice(2),
    { output: { type: 'string' }, help: { type: 'boolean' } },
    true,
  );
  if (values.help) {
    process.stdout.write(HELP + '\n');
    return;
  }
  if (positionals.length === 0)
    throw new InputError('expected at least one results folder (npm run report -- DIR [DIR ...])');
  const folders = positionals.map(readResultsFolder);
  const output = reportFileFlag(
    'output',
    values.output,
    folders.map((f) => f.name),
  );
  writeFileAtomic(output, markdownReport.serialize(folders));
  process.stdout.write(`${displayPath(output)}\n`);
});
