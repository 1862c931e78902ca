/**
 * The one set of unit formatters: how durations, bytes, ratios, counts and losses are written for
 * people (reports, tables, terminal). CSV and JSON keep full precision instead.
 */
import { basename } from 'node:path';
import type { Spread } from '../bench/spread.ts';

/** Decimals for about four significant digits: 83.2, 1.31, 0.0421. */
export function digits(v: number): number {
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

/** Milliseconds as seconds with a fixed number of decimals: "1.234 s". */
export function formatSeconds(ms: number, decimals = 3): string {
  return `${(ms / 1000).toFixed(decimals)} s`;
}

/** A long wall time, to the second: "56 s", "1 min 56 s". */
export function formatElapsed(ms: number): string {
  const s = Math.round(ms / 1000);
  return s < 60 ? `${s} s` : `${Math.floor(s / 60)} min ${s % 60} s`;
}

/** `part` as a percentage of `whole`: "12.3%". */
export function formatPercent(part: number, whole: number, decimals = 1): string {
  return `${((100 * part) / whole).toFixed(decimals)}%`;
}

/** A small figure in scientific notation, 0 as "0": "1.23e-9". */
export function formatExp(x: number, decimals = 2): string {
  return x === 0 ? '0' : x.toExponential(decimals);
}
