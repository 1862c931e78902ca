/** How figures are written for people (report and terminal); the CSV keeps full precision instead. */
import { basename } from 'node:path';
import { BASELINE, type EngineSummary, type Spread } from './summary.ts';

/** About four significant digits: 83.2, 1.31, 0.0421. */
function digits(v: number): number {
  const a = Math.abs(v);
  return a >= 100 ? 0 : a >= 10 ? 1 : a >= 1 ? 2 : 3;
}

function withRange(s: Spread, scale: number, unit: string, sep: string): string {
  const d = digits(s.median / scale);
  const f = (v: number) => (v / scale).toFixed(d);
  // One trial has no range to show.
  return `${f(s.median)}${sep}${unit}${s.min === s.max ? '' : ` (${f(s.min)}–${f(s.max)})`}`;
}

/** A figure to about four significant digits. */
export function formatNumber(v: number): string {
  return v.toFixed(digits(v));
}

/** Seconds, or milliseconds below one second; the range in the median's unit: "25.41 s (25.10–25.90)". */
export function formatTime(t: Spread): string {
  return t.median >= 1000 ? withRange(t, 1000, 's', ' ') : withRange(t, 1, 'ms', ' ');
}

/** "83.2x (80.1–85.0)". */
export function formatSpeedup(s: Spread): string {
  return withRange(s, 1, 'x', '');
}

/** A whole number with thousands separators: 61,158. */
export function formatCount(n: number): string {
  return Math.round(n)
    .toString()
    .replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

export function formatLoss(loss: number | null | undefined): string {
  return typeof loss === 'number' ? loss.toFixed(4) : '—';
}

/** A dataset's short name: its file's name, or "embedded names" for the default list. */
export function datasetLabel(source: string): string {
  return source.startsWith('embedded:') ? 'embedded names' : basename(source);
}

export function formatGiB(bytes: number): string {
  return `${(bytes / 2 ** 30).toFixed(1)} GiB`;
}

export function formatMiB(bytes: number): string {
  return `${formatNumber(bytes / 2 ** 20)} MiB`;
}

/**
 * hyperfine's closing lines, against the baseline: "tape ran 83.2x faster than topo (range 80.1–85.0)".
 * Null for the baseline itself and for engines without a time.
 */
export function speedupLine(s: EngineSummary): string | null {
  if (s.engine === BASELINE || !s.speedup) return null;
  const faster = s.speedup.median >= 1;
  // Slower engines are told by the inverse factor, so their range flips too.
  const [median, low, high] = faster
    ? [s.speedup.median, s.speedup.min, s.speedup.max]
    : [1 / s.speedup.median, 1 / s.speedup.max, 1 / s.speedup.min];
  const d = digits(median);
  const range = low === high ? '' : ` (range ${low.toFixed(d)}–${high.toFixed(d)})`;
  return `${s.engine} ran ${median.toFixed(d)}x ${faster ? 'faster' : 'slower'} than ${BASELINE}${range}`;
}
