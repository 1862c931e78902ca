/** Output locations given on the command line, checked before any work so a bad one costs nothing. */
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { InputError } from '../workload/input-error.ts';
import { REPORTS_DIR } from './paths.ts';

/** Makes sure folder `dir` exists (creating it and its parents), or an InputError naming `--flag`. */
export function outputDir(flag: string, dir: string): string {
  const path = resolve(dir);
  if (existsSync(path) && !statSync(path).isDirectory())
    throw new InputError(`--${flag} ${dir}: is a file, expected a folder`);
  try {
    mkdirSync(path, { recursive: true });
  } catch (err) {
    throw new InputError(
      `--${flag} ${dir}: cannot create the folder (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
    );
  }
  return path;
}

/** Where a Markdown report goes: the flag's file, or reports/<folder names joined by '+'>.md; its folder is made ready. */
export function reportFileFlag(flag: string, raw: string | undefined, folderNames: readonly string[]): string {
  const path = resolve(raw ?? join(REPORTS_DIR, `${folderNames.join('+')}.md`));
  if (existsSync(path) && statSync(path).isDirectory())
    throw new InputError(`--${flag} ${raw}: is a folder, expected a file`);
  outputDir(flag, dirname(path));
  return path;
}

/** A path as a user would type it from here: relative below the working directory, absolute elsewhere. */
export function displayPath(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel === '' ? '.' : rel.startsWith('..') || isAbsolute(rel) ? path : rel;
}
