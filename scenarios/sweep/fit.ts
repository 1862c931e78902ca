import { linearRegression, linearRegressionLine, rSquared } from 'simple-statistics';

/** time ≈ c · size^exponent, fitted as a straight line through (log size, log time). */
export interface PowerLawFit {
  readonly exponent: number;
  /** Of the straight-line fit in log-log space: 1 when the points lie exactly on a power law. */
  readonly r2: number;
  readonly points: number;
}

/**
 * The least-squares slope of log(y) on log(x) and its R²; null with fewer than two distinct x (no
 * slope to fit) or any non-positive value (no logarithm).
 */
export function powerLawFit(points: readonly { x: number; y: number }[]): PowerLawFit | null {
  if (points.some((p) => !(p.x > 0) || !(p.y > 0))) return null;
  if (new Set(points.map((p) => p.x)).size < 2) return null;
  const logs = points.map((p) => [Math.log(p.x), Math.log(p.y)]);
  const line = linearRegression(logs);
  return { exponent: line.m, r2: rSquared(logs, linearRegressionLine(line)), points: points.length };
}
