import { describe, expect, it } from 'vitest';
import { loadEmbeddedDataset, parseDocuments, Tokenizer } from '../workload/dataset.ts';

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

  it('tokenizes as microgpt.py: sorted characters, BOS = n', () => {
    const tok = new Tokenizer(['cab', 'ba']);
    expect(tok.chars).toEqual(['a', 'b', 'c']);
    expect(tok.bos).toBe(3);
    expect(tok.vocabSize).toBe(4);
    expect(tok.encodeDocument('cab')).toEqual([3, 2, 0, 1, 3]);
    expect(tok.decode([2, 0, 1])).toBe('cab');
  });
});
