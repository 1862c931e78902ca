/**
 * Writing output safely: folders made one level at a time (Node's recursive mkdir loops forever
 * under /proc), locations checked before any work, whole files replaced atomically.
 */
import { closeSync, existsSync, mkdirSync, openSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

/** Why a file operation failed, in a word or two: its errno code, or its message. */
export function ioReason(err: unknown): string {
  return (err as NodeJS.ErrnoException).code ?? (err instanceof Error ? err.message : String(err));
}

/** `mkdir -p`, one level at a time from the nearest existing folder; throws with the failing step's code. */
export function makeDirs(path: string): void {
  const missing: string[] = [];
  let dir = resolve(path);
  while (!existsSync(dir) && dirname(dir) !== dir) {
    missing.push(dir);
    dir = dirname(dir);
  }
  if (!statSync(dir).isDirectory()) throw Object.assign(new Error(`${dir} is not a folder`), { code: 'ENOTDIR' });
  for (const level of missing.reverse()) mkdirSync(level);
}

/** Throws unless a file can be created in folder `dir` (a permission, a read-only disk, a pseudo file system). */
export function probeDir(dir: string): void {
  const probe = join(dir, `.microgpt-bench-probe-${process.pid}`);
  writeFileSync(probe, '');
  unlinkSync(probe);
}

/** Throws unless `path` can be written (its name too long, say); leaves an existing file as it was. */
export function probeFile(path: string): void {
  const existed = existsSync(path);
  closeSync(openSync(path, 'a'));
  if (!existed) unlinkSync(path);
}

/** Writes via a temporary file and a rename, so a reader never sees half a file. */
export function writeFileAtomic(path: string, text: string): void {
  makeDirs(dirname(path));
  // A short name: `path` itself may be as long as the file system allows.
  const tmp = join(dirname(path), `.microgpt-bench-${process.pid}.tmp`);
  try {
    writeFileSync(tmp, text);
    renameSync(tmp, path);
  } catch (err) {
    if (existsSync(tmp)) unlinkSync(tmp);
    throw err;
  }
}
