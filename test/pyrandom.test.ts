import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PyRandom } from '../workload/pyrandom.ts';
import { ROOT } from './helpers.ts';

// Values printed by CPython 3.11's `random`, from ../shared (beside the project, as in CI).
const FIXTURES = resolve(ROOT, '../shared/data/python-random-fixtures.json');
const missing = !existsSync(FIXTURES);
if (missing) console.warn(`[skip] ${FIXTURES} not found: skipping the CPython fixture tests`);
const fixtures = missing ? {} : JSON.parse(readFileSync(FIXTURES, 'utf8'));

describe.skipIf(missing)('PyRandom reproduces CPython exactly', () => {
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
});

// The same kind of values as literals, so the oracle holds without ../shared (printed by CPython 3.11.7:
// `random.seed(42); [random.random() for _ in range(3)]` and so on, one statement per literal).
describe('PyRandom against CPython literals (no shared file needed)', () => {
  it('seed(42): random(), getrandbits(32)', () => {
    const rng = new PyRandom(42);
    expect([rng.random(), rng.random(), rng.random()]).toEqual([
      0.6394267984578837, 0.025010755222666936, 0.27502931836911926,
    ]);
    const bits = new PyRandom(42);
    expect([bits.getrandbits(32), bits.getrandbits(32)]).toEqual([2746317213, 478163327]);
  });

  it('gauss: both Box-Muller outputs in CPython’s order (the second is the cached one)', () => {
    const rng = new PyRandom(42);
    expect(Array.from({ length: 4 }, () => rng.gauss(0, 0.08))).toEqual([
      -0.011527226366234268, -0.013832288026521545, -0.008905268925412997, 0.05615869800790905,
    ]);
    const other = new PyRandom(3);
    expect(Array.from({ length: 3 }, () => other.gauss(1.5, 2.0))).toEqual([
      1.6894160765746085, 4.000048762167101, -0.36275673544141407,
    ]);
  });

  it('shuffle and weighted choices', () => {
    const xs = Array.from({ length: 10 }, (_, i) => i);
    new PyRandom(42).shuffle(xs);
    expect(xs).toEqual([7, 3, 2, 8, 5, 6, 9, 4, 0, 1]);
    expect(new PyRandom(42).choices([0, 1, 2, 3], [1, 2, 3, 4], 10)).toEqual([3, 0, 1, 1, 3, 3, 3, 0, 2, 0]);
  });

  it('getrandbits over 32 bits (low word first), and getrandbits(0) draws nothing', () => {
    // CPython 3.11: seed(42); getrandbits(40) and seed(7); getrandbits(40).
    expect(new PyRandom(42).getrandbits(40)).toBe(123005401501);
    expect(new PyRandom(7).getrandbits(40)).toBe(1040772936760);
    const rng = new PyRandom(42);
    expect([rng.getrandbits(53), rng.getrandbits(33)]).toEqual([1002783120652701, 4402387665]);
    const zero = new PyRandom(42);
    expect(zero.getrandbits(0)).toBe(0);
    expect(zero.random()).toBe(0.6394267984578837);
  });

  it('seeds: a negative seed is its absolute value; a seed over 32 bits uses every word', () => {
    expect(new PyRandom(-42).random()).toBe(0.6394267984578837);
    const big = new PyRandom(2 ** 40 + 7);
    expect([big.random(), big.random()]).toEqual([0.6137037779936511, 0.8149162973309487]);
  });

  it('randbelow from 32 bits up (randrange(2**40), then randrange(3 * 2**33 + 1); randrange(2**32))', () => {
    const rng = new PyRandom(42);
    expect([rng.randbelow(2 ** 40), rng.randbelow(3 * 2 ** 33 + 1)]).toEqual([247559453085, 21582256849]);
    expect(new PyRandom(42).randbelow(2 ** 32)).toBe(2746317213); // randrange(2**32): 33 bits drawn
  });

  it('refuses what it cannot reproduce: getrandbits outside 0..53, weights that do not fit', () => {
    const rng = new PyRandom(1);
    for (const k of [-1, 54, 1.5])
      expect(() => rng.getrandbits(k), String(k)).toThrow(`getrandbits supports 0..53 bits, got ${k}`);
    expect(() => rng.choices([0, 1], [1])).toThrow('choices needs one weight per element');
    for (const weights of [
      [0, 0],
      [1, Infinity],
      [1, NaN],
      [-1, 0.5],
    ])
      expect(() => rng.choiceIndex(weights), String(weights)).toThrow(
        'choices needs finite weights with a positive total',
      );
  });
});
