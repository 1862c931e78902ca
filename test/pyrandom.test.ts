import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PyRandom } from '../workload/pyrandom.ts';
import { ROOT } from './helpers.ts';

// Values printed by CPython 3.11's `random` (../shared/data/python-random-fixtures.json).
const fixtures = JSON.parse(readFileSync(resolve(ROOT, '../shared/data/python-random-fixtures.json'), 'utf8'));

describe('PyRandom reproduces CPython exactly', () => {
  it('random() after seed(42)', () => {
    const rng = new PyRandom(42);
    expect(Array.from({ length: 5 }, () => rng.random())).toEqual(fixtures.random_first5);
  });

  it('getrandbits(32)', () => {
    const rng = new PyRandom(42);
    expect(Array.from({ length: 5 }, () => rng.getrandbits(32))).toEqual(fixtures.getrandbits32_first5);
  });

  it('gauss(0, 0.08), including the cached second value', () => {
    const rng = new PyRandom(42);
    expect(Array.from({ length: 6 }, () => rng.gauss(0, 0.08))).toEqual(fixtures['gauss_0_0.08_first6']);
  });

  it('shuffle(range(10))', () => {
    const rng = new PyRandom(42);
    const xs = Array.from({ length: 10 }, (_, i) => i);
    rng.shuffle(xs);
    expect(xs).toEqual(fixtures.shuffle_range10);
  });

  it('choices(range(4), weights=[1,2,3,4])', () => {
    const rng = new PyRandom(42);
    expect(rng.choices([0, 1, 2, 3], [1, 2, 3, 4], 10)).toEqual(fixtures.choices_weights_1_2_3_4_first10);
  });

  it('seeds 12345 and 2**40+7 (a two-word key)', () => {
    const a = new PyRandom(12345);
    expect([a.random(), a.random(), a.random()]).toEqual(fixtures.seed12345_random_first3);
    const b = new PyRandom(2 ** 40 + 7);
    expect([b.random(), b.random(), b.random()]).toEqual(fixtures.seed_2pow40plus7_random_first3);
  });

  it('getrandbits over 32 bits takes the low word first', () => {
    const a = new PyRandom(7);
    const b = new PyRandom(7);
    const low = b.getrandbits(32);
    const high = b.getrandbits(8);
    expect(a.getrandbits(40)).toBe(high * 2 ** 32 + low);
  });
});
