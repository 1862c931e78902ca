/** Output paths shared by bench:all and report. */
import { existsSync, statSync } from 'node:fs';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { InputError } from '../workload/input-error.ts';
import { REPORTS_DIR } from './paths.ts';

/** Where a Markdown report goes: the flag's file, or reports/<folder names joined by '+'>.md. */
export function reportFileFlag(flag: string, raw: string | undefined, folderNames: readonly string[]): string {
  const path = resolve(raw ?? join(REPORTS_DIR, `${folderNames.join('+')}.md`));
  if (existsSync(path) && statSync(path).isDirectory()) throw new InputError(`--${flag} ${raw}: is a folder, expected a file`);
  return path;
}

/** A path as a user would type it from here: relative below the working directory, absolute elsewhere. */
export function displayPath(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel === '' ? '.' : rel.startsWith('..') || isAbsolute(rel) ? path : rel;
}
