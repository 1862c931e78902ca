/**
 * The Mann–Whitney U test and the Hodges–Lehmann shift with its exact confidence interval, for two
 * small samples (a handful of trials each). Rank methods, not a t-test or a bootstrap: timings are
 * skewed (a slow outlier now and then) and five trials are too few for a bootstrap's percentiles; the
 * exact distribution of U needs no normal approximation at these sizes.
 */

/** counts[u] = how many of the C(m + n, m) orderings of m and n values give U = u (no ties). */
function uCounts(m: number, n: number): number[] {
  // f[i][j][u]: orderings of i and j values with U = u; built one sample size at a time.
  let prev: number[][] = Array.from({ length: n + 1 }, () => [1]);
  for (let i = 1; i <= m; i++) {
    const cur: number[][] = [[1]];
    for (let j = 1; j <= n; j++) {
      const size = i * j + 1;
      const row = new Array<number>(size).fill(0);
      // The largest of the i + j values is either one of the i (it beats all j: U grows by j) or one of the j.
      prev[j].forEach((c, u) => (row[u + j] += c));
      cur[j - 1].forEach((c, u) => (row[u] += c));
      cur.push(row);
    }
    prev = cur;
  }
  return prev[n];
}

/** P(U ≤ u) under the null hypothesis, for samples of m and n. */
function uCdf(counts: readonly number[], u: number): number {
  const total = counts.reduce((a, b) => a + b, 0);
  let below = 0;
  for (let k = 0; k <= Math.floor(u) && k < counts.length; k++) below += counts[k];
  return below / total;
}

/** U of `x` against `y`: pairs where x wins, ties counting one half. */
export function mannWhitneyU(x: readonly number[], y: readonly number[]): number {
  let u = 0;
  for (const a of x) for (const b of y) u += a > b ? 1 : a === b ? 0.5 : 0;
  return u;
}

/** Two-sided exact p-value of the Mann–Whitney U test (as SciPy's `mannwhitneyu(x, y, method='exact')`). */
export function mannWhitneyP(x: readonly number[], y: readonly number[]): number {
  const counts = uCounts(x.length, y.length);
  const u = mannWhitneyU(x, y);
  const max = x.length * y.length;
  // The distribution is symmetric: P(U ≥ u) = P(U ≤ max − u).
  const tail = uCdf(counts, Math.min(u, max - u));
  return Math.min(1, 2 * tail);
}

export interface Shift {
  /** Hodges–Lehmann estimate: the median of every difference x_i − y_j. */
  readonly estimate: number;
  /** The exact interval from the U distribution, or null when the samples are too small for `confidence`. */
  readonly low: number | null;
  readonly high: number | null;
  /** The interval's exact coverage (at least `confidence`; the U distribution is discrete). */
  readonly coverage: number | null;
}

/**
 * The shift of `x` relative to `y` with its interval: the pairwise differences sorted, the bounds
 * the (c+1)-th and (mn−c)-th of them, c the largest count with P(U ≤ c) ≤ (1 − confidence) / 2.
 */
export function hodgesLehmann(x: readonly number[], y: readonly number[], confidence: number): Shift {
  const diffs = x.flatMap((a) => y.map((b) => a - b)).sort((a, b) => a - b);
  const n = diffs.length;
  const estimate = n % 2 ? diffs[(n - 1) / 2] : (diffs[n / 2 - 1] + diffs[n / 2]) / 2;
  const counts = uCounts(x.length, y.length);
  let c = -1;
  while (c + 1 < n && uCdf(counts, c + 1) <= tailAllowed(confidence)) c++;
  if (c < 0) return { estimate, low: null, high: null, coverage: null };
  return { estimate, low: diffs[c], high: diffs[n - 1 - c], coverage: 1 - 2 * uCdf(counts, c) };
}

/** The fewest trials on each side for which an interval at `confidence` exists: 1/C(2k, k) ≤ (1 − confidence)/2. */
export function trialsNeeded(confidence: number): number {
  let k = 1;
  while (uCdf(uCounts(k, k), 0) > tailAllowed(confidence)) k++;
  return k;
}

/** Each tail's share of 1 − confidence, a hair wide so 0.9 allows exactly 5% (0.1 / 2 rounds below it). */
function tailAllowed(confidence: number): number {
  return ((1 - confidence) / 2) * (1 + 1e-9);
}

/** Sample standard deviation over the mean. */
export function coefficientOfVariation(xs: readonly number[]): number {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const variance = xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (xs.length - 1);
  return Math.sqrt(variance) / mean;
}
