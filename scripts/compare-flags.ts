/** The flags `compare` and `bench:all --baseline` share. */
import { numberFlag } from './cli.ts';

export const COMPARE_FLAGS = {
  threshold: { type: 'string' },
  'fail-on-regression': { type: 'boolean' },
} as const;

export const COMPARE_FLAGS_HELP = `  --threshold PCT        changes within ±PCT percent count as no change (default 2)
  --fail-on-regression   exit 1 when an engine is slower beyond the threshold with confidence, its
                         losses changed, or its gradient check went from pass to FAIL`;

/** --threshold PCT as a fraction (2 → 0.02). */
export function thresholdFlag(raw: string | undefined): number {
  return numberFlag('threshold', raw, 2, (n) => n >= 0 && n < 100, 'a percentage ≥ 0 and < 100') / 100;
}
