import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadDatasetFile, loadEmbeddedDataset, parseDocuments, Tokenizer } from '../workload/dataset.ts';
import { tempDirs } from './helpers.ts';

const dir = tempDirs()('dataset');

describe('dataset', () => {
  it('trims lines and drops blank ones', () => {
    expect(parseDocuments('  emma \n\n\r\nolivia\r\n   \nava')).toEqual(['emma', 'olivia', 'ava']);
  });

  it('embeds about 8,400 distinct lowercase names of a–z and "-"', () => {
    const ds = loadEmbeddedDataset();
    expect(ds.docs.length).toBeGreaterThan(8000);
    expect(ds.docs.length).toBeLessThan(9000);
    expect(new Set(ds.docs).size).toBe(ds.docs.length);
    for (const doc of ds.docs) expect(doc).toMatch(/^[a-z-]+$/);
    expect(ds.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(loadEmbeddedDataset().sha256).toBe(ds.sha256);
  });

  it('reads a names file: its documents, source and sha256 of its bytes', () => {
    const file = join(dir, 'names.txt');
    writeFileSync(file, 'emma\n\n olivia \nava');
    expect(loadDatasetFile(file)).toEqual({
      source: file,
      docs: ['emma', 'olivia', 'ava'],
      sha256: 'a37f261181b1a8fd4bdeb05f8bbb014d46821576f2f621e309873cc55988b7e9',
    });
  });

  it('names the true cause when a names file cannot be used', () => {
    const latin1 = join(dir, 'latin1.txt');
    writeFileSync(latin1, Buffer.from([0x61, 0x0a, 0xe9, 0x0a]));
    const blank = join(dir, 'blank.txt');
    writeFileSync(blank, ' \n\n');
    const big = join(dir, 'big.txt');
    writeFileSync(big, 'x'.repeat(3000));
    expect(() => loadDatasetFile(dir)).toThrow(/: is a directory/);
    expect(() => loadDatasetFile(join(dir, 'missing.txt'))).toThrow(/missing\.txt: no such file$/);
    expect(() => loadDatasetFile(join(latin1, 'x'))).toThrow(/: a part of the path is not a directory$/);
    expect(() => loadDatasetFile(latin1)).toThrow(/latin1\.txt: not valid UTF-8 text$/);
    expect(() => loadDatasetFile(blank)).toThrow(/blank\.txt: contains no documents/);
    expect(() => loadDatasetFile(big, 2048)).toThrow(/big\.txt: larger than the 2 KiB limit \(2\.9 KiB\)$/);
  });

  it('tokenizes as microgpt.py: sorted characters, BOS = n', () => {
    const tok = new Tokenizer(['cab', 'ba']);
    expect(tok.chars).toEqual(['a', 'b', 'c']);
    expect(tok.bos).toBe(3);
    expect(tok.vocabSize).toBe(4);
    expect(tok.encodeDocument('cab')).toEqual([3, 2, 0, 1, 3]);
    expect(tok.decode([2, 0, 1])).toBe('cab');
  });

  it('takes a character past U+FFFF as one token, a document of them anywhere in the list', () => {
    const tok = new Tokenizer(['b\u{1F600}a', 'zé', '\u{1F600}\u{10000}', 'a']);
    expect(tok.chars).toEqual(['a', 'b', 'z', 'é', '\u{10000}', '\u{1F600}']);
    expect(tok.encodeDocument('a\u{1F600}')).toEqual([6, 0, 5, 6]);
  });
});
