import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const RESULTS_DIR = join(PROJECT_ROOT, 'results');
export const REPORTS_DIR = join(PROJECT_ROOT, 'reports');

/** A file-name-safe UTC timestamp such as 2025-11-25T14-42-03-123Z: runs sort by time, never collide in practice. */
export function timestamp(date = new Date()): string {
  return date.toISOString().replace(/[:.]/g, '-');
}

/**
 * `node` arguments that run one of scripts/ with tsx's loader from any working directory
 * (profilers start their target in their own output folder, where `--import tsx` would not resolve).
 */
export function tsxScriptArgs(script: string, args: readonly string[]): string[] {
  return ['--import', import.meta.resolve('tsx'), join(PROJECT_ROOT, 'scripts', script), ...args];
}
