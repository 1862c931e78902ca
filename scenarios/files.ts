/**
 * Writing output safely: folders made one level at a time (Node's recursive mkdir loops forever
 * under /proc), locations checked before any work, whole files replaced atomically, and nothing but
 * a plain file ever replaced: a device, a FIFO, a socket or a folder where a file is wanted is
 * refused, and a symlink is written through to its target (the link stays).
 */
import {
  closeSync,
  existsSync,
  lstatSync,
  mkdirSync,
  openSync,
  readlinkSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  unlinkSync,
  writeFileSync,
  type Stats,
} from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { InputError } from '../engines/input-error.ts';

/** Why a file operation failed, in a word or two: its errno code, or its message. */
export function ioReason(err: unknown): string {
  return (err as NodeJS.ErrnoException).code ?? (err instanceof Error ? err.message : String(err));
}

/** What a file-system entry is, in words: "a file", "a folder", "a character device", … */
export function entryKind(stats: Stats): string {
  if (stats.isFile()) return 'a file';
  if (stats.isDirectory()) return 'a folder';
  if (stats.isCharacterDevice()) return 'a character device';
  if (stats.isBlockDevice()) return 'a block device';
  if (stats.isFIFO()) return 'a FIFO (named pipe)';
  if (stats.isSocket()) return 'a socket';
  return 'not a plain file';
}

/** Where a file write to a path lands, or why it must not be written. */
export type OutputFile = { readonly target: string; readonly problem: null } | { readonly problem: string };

/**
 * Where writing the file `path` lands: the path itself when nothing or a plain file is there; the
 * end of the symlink chain when `path` is a symlink to a plain file. Anything else (a device, a
 * FIFO, a socket, a folder, a broken link) is refused with the reason: replacing it would destroy
 * it (a rename over /dev/null replaces the machine's null device) and writing into it may block.
 */
export function resolveOutputFile(path: string): OutputFile {
  const full = resolve(path);
  let stats: Stats;
  try {
    stats = lstatSync(full);
  } catch (err) {
    const code = ioReason(err);
    // Nothing there yet (or a parent that is not a folder, which makeDirs reports by name).
    if (code === 'ENOENT' || code === 'ENOTDIR') return { target: full, problem: null };
    return { problem: `cannot write it (${code})` };
  }
  if (!stats.isSymbolicLink())
    return stats.isFile() ? { target: full, problem: null } : { problem: `is ${entryKind(stats)}, expected a file` };
  let target: string;
  try {
    target = realpathSync(full);
    stats = statSync(target);
  } catch {
    // /dev/stdout and /proc/self/fd/N may lead to a pipe or a socket, which has no path to resolve
    // to but which stat reaches through the link: say what it is, not "broken".
    try {
      stats = statSync(full);
    } catch {
      return { problem: 'is a symlink to nothing (a broken link), expected a file' };
    }
    return { problem: `is a symlink to ${entryKind(stats)} (${readlinkSync(full)}), expected a file` };
  }
  if (stats.isFile()) return { target, problem: null };
  return { problem: `is a symlink to ${entryKind(stats)} (${target}), expected a file` };
}

/** `resolveOutputFile`'s target, or an InputError naming the path and the problem. */
export function writeTarget(path: string): string {
  const file = resolveOutputFile(path);
  if (file.problem !== null) throw new InputError(`${path}: ${file.problem}`);
  return file.target;
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

/**
 * Throws unless `path` can be written (its name too long, say); leaves an existing file as it was.
 * `path` must have passed `resolveOutputFile` (opening a FIFO would block).
 */
export function probeFile(path: string): void {
  const existed = existsSync(path);
  closeSync(openSync(path, 'a'));
  if (!existed) unlinkSync(path);
}

/**
 * Writes via a temporary file and a rename, so a reader never sees half a file. Every file a
 * command writes goes through here, so none replaces a device, a FIFO or a folder, whatever checks
 * its command made first; a symlink is written through, its target replaced beside itself.
 */
export function writeFileAtomic(path: string, text: string | Uint8Array): void {
  const target = writeTarget(path);
  makeDirs(dirname(target));
  // A short name: `target` itself may be as long as the file system allows.
  const tmp = join(dirname(target), `.microgpt-bench-${process.pid}.tmp`);
  try {
    // A stale temporary file of a killed process with our pid goes; 'wx' creates a fresh one.
    rmSync(tmp, { force: true });
    writeFileSync(tmp, text, { flag: 'wx' });
    renameSync(tmp, target);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}
