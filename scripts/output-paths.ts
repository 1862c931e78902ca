/** Output locations given on the command line, checked before any work so a bad one costs nothing. */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { entryKind, ioReason, makeDirs, probeDir, probeFile, resolveOutputFile } from '../scenarios/files.ts';
import { InputError } from '../engines/input-error.ts';
import type { Format } from '../scenarios/output/export/formats.ts';
import { REPORTS_DIR } from './paths.ts';

/** Makes sure folder `dir` exists (creating it and its parents) and takes files, or an InputError naming `--flag`. */
export function outputDir(flag: string, dir: string): string {
  const path = resolve(dir);
  if (existsSync(path) && !statSync(path).isDirectory()) {
    throw new InputError(`--${flag} ${dir}: is ${entryKind(statSync(path))}, expected a folder`);
  }
  try {
    makeDirs(path);
  } catch (err) {
    throw new InputError(`--${flag} ${dir}: cannot create the folder (${ioReason(err)})`);
  }
  try {
    probeDir(path);
  } catch (err) {
    throw new InputError(`--${flag} ${dir}: cannot write in it (${ioReason(err)})`);
  }
  return path;
}

/**
 * A file to be written, checked as `writeFileAtomic` will write it: nothing or a plain file there (a
 * symlink's target, which is what gets written), in a folder made ready now, writable under its name.
 */
export function outputFile(flag: string, path: string): string {
  const file = resolveOutputFile(path);
  if (file.problem !== null) throw new InputError(`--${flag} ${path}: ${file.problem}`);
  outputDir(flag, dirname(file.target));
  try {
    probeFile(file.target);
  } catch (err) {
    throw new InputError(`--${flag} ${path}: cannot write it (${ioReason(err)})`);
  }
  return path;
}

/** Where a Markdown report goes: the flag's file, or the default for these folders; its folder is made ready. */
export function reportFileFlag(flag: string, raw: string | undefined, folderDirs: readonly string[]): string {
  return outputFile(flag, resolve(raw ?? `${defaultReportBase(folderDirs)}.md`));
}

/**
 * Where files named after `--flag raw` go (`<this>.html` beside a report, `<this>.md` and `<this>.csv`
 * from a base): beside what `raw` names. That is `raw` itself when nothing is there or a folder is; the
 * target of a file's symlink, where the report itself is written. A device, FIFO, socket or a link to
 * one is refused like an output file: beside `/dev/stdout` (a link to stdout's pipe or file), a page
 * went into /dev as `/dev/stdout.html`.
 */
export function outputBase(flag: string, raw: string): string {
  const full = resolve(raw);
  try {
    if (statSync(full).isDirectory()) return full;
  } catch {
    // Nothing there (or a broken link, which resolveOutputFile names).
  }
  const file = resolveOutputFile(full);
  if (file.problem !== null) throw new InputError(`--${flag} ${raw}: ${file.problem}`);
  return file.target;
}

/** The HTML page beside a Markdown report: the same name ending in .html, checked as --flag. */
export function pageBesideFlag(flag: string, reportFile: string): string {
  return outputFile(flag, `${outputBase(flag, reportFile).replace(/\.md$/, '')}.html`);
}

/**
 * Where each file of the chosen formats goes, checked before any work: `<base>.<suffix>`, the base
 * being --flag without its extension, or the default for these folders. A single file goes to
 * --flag exactly as given.
 */
export function reportFilesFlag<T>(
  flag: string,
  raw: string | undefined,
  folderDirs: readonly string[],
  formats: readonly Format<T>[],
): (suffix: string) => string {
  const suffixes = formats.flatMap((f) => f.files.map((file) => file.suffix));
  const single = raw !== undefined && suffixes.length === 1;
  const base =
    raw === undefined ? defaultReportBase(folderDirs) : outputBase(flag, raw).replace(/\.(md|json|csv)$/, '');
  const pathOf = (suffix: string) => (single ? resolve(raw) : `${base}.${suffix}`);
  for (const suffix of suffixes) outputFile(flag, pathOf(suffix));
  return pathOf;
}

/**
 * reports/<folder names joined by '+'>, or with -2, -3, … where that name holds the report of other
 * folders of the same name: a regenerated report replaces its own file, never another folder's.
 */
function defaultReportBase(folderDirs: readonly string[]): string {
  const stem = join(REPORTS_DIR, folderDirs.map((dir) => basename(resolve(dir))).join('+'));
  const ours = JSON.stringify(folderDirs.map((dir) => resolve(dir)));
  for (let n = 1; ; n++) {
    const base = n === 1 ? stem : `${stem}-${n}`;
    const theirs = reportedFolders(`${base}.md`);
    if (theirs === null || JSON.stringify(theirs) === ours) return base;
  }
}

/** The results folders a Markdown report names in its environment table, or null if there is no such file. */
function reportedFolders(path: string): string[] | null {
  // Anything but a plain file is no report of ours (and reading a FIFO would block): outputFile refuses it.
  if (!existsSync(path) || !statSync(path).isFile()) return null;
  const row = readFileSync(path, 'utf8')
    .split('\n')
    .find((line) => line.startsWith('| results folder | '));
  // Reports name folders as they were given, relative to the project (npm runs every script there).
  return row === undefined
    ? []
    : row
        .slice(2, -2)
        .split(' | ')
        .slice(1)
        .map((dir) => resolve(dir));
}

/** A path as a user would type it from here: relative below the working directory, absolute elsewhere. */
export function displayPath(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel === '' ? '.' : rel.startsWith('..') || isAbsolute(rel) ? path : rel;
}
