import { describe, expect, it } from 'vitest';
import { coefficientOfVariation, hodgesLehmann, mannWhitneyP, trialsNeeded } from '../scenarios/compare/rank-stats.ts';

// The oracle: SciPy 1.17.1 under CPython 3.11.7, for each case's x and y:
//   from scipy.stats import mannwhitneyu; import numpy as np
//   p = mannwhitneyu(x, y, alternative='two-sided', method='exact').pvalue
//   d = sorted(a - b for a in x for b in y); mids = [(d[i] + d[i + 1]) / 2 for i in range(len(d) - 1)]
//   inside = [i for i, m in enumerate(mids)
//             if mannwhitneyu(np.array(x) - m, y, alternative='two-sided', method='exact').pvalue > 0.05]
//   low, high, estimate = d[inside[0]], d[inside[-1] + 1], np.median(d)
// (the 95% interval by inverting SciPy's test, independently of the order-statistic formula under test).
const CASES = [
  {
    x: [1.0, 2.3, 3.1, 4.8, 5.2, 6.0],
    y: [2.0, 3.5, 4.1, 4.9, 7.2],
    p: 0.7922077922077921,
    low: -3.9000000000000004,
    high: 2.5,
    estimate: -0.6999999999999997,
  },
  {
    x: [0.101, 0.098, 0.105, 0.099, 0.103],
    y: [0.08, 0.079, 0.083, 0.081, 0.082],
    p: 0.007936507936507936,
    low: 0.016,
    high: 0.023999999999999994,
    estimate: 0.020000000000000004,
  },
];

describe('rank statistics against SciPy', () => {
  CASES.forEach(({ x, y, p, low, high, estimate }, i) => {
    it(`case ${i + 1}: exact Mann–Whitney p, Hodges–Lehmann estimate and 95% interval`, () => {
      expect(mannWhitneyP(x, y)).toBeCloseTo(p, 14);
      const shift = hodgesLehmann(x, y, 0.95);
      expect(shift.estimate).toBeCloseTo(estimate, 14);
      expect([shift.low, shift.high]).toEqual([low, high]);
      expect(shift.coverage).toBeGreaterThanOrEqual(0.95);
    });
  });

  it('no 95% interval from 3 trials a side (1/20 > 2.5%); 4 a side are the fewest that give one', () => {
    expect(hodgesLehmann([1, 2, 3], [4, 5, 6], 0.95)).toMatchObject({ low: null, high: null });
    expect(trialsNeeded(0.95)).toBe(4);
    expect(trialsNeeded(0.9)).toBe(3);
  });

  it('coefficient of variation: sample standard deviation over the mean', () =>
    expect(coefficientOfVariation([90, 100, 110])).toBeCloseTo(0.1, 12));
});
