/**
 * What makes two instruction counts comparable: the same count job and tool (everything env.json's
 * `bench.counts` records: steps, valgrind's version, its options, the V8 flags, and whatever field
 * is added there later, a count window say) and the same measure (the marked training steps, or a
 * whole process). Counts are compared only when their identities are equal, field by field.
 */
import { isDeepStrictEqual } from 'node:util';
import type { CountsSetup } from '../env.ts';
import type { CountsRow } from './rows.ts';

/** A count's identity: how its folder counted, the steps it is divided by, and what it measured. */
export type CountIdentity = CountsSetup & { readonly measure: CountsRow['basis'] };

export function countIdentity(setup: CountsSetup, row: CountsRow): CountIdentity {
  return { ...setup, steps: row.steps, measure: row.basis };
}

/**
 * How two identities (or two folders' count setups, null for none) differ, one phrase per field
 * ("steps 20 vs 10; valgrind valgrind-3.19.0 vs valgrind-3.22.0"), or null when they are equal.
 * Every field of either side is compared, so a field added to the setup takes part unasked.
 */
export function identityDifference(a: object | null, b: object | null): string | null {
  if (a === null || b === null)
    return a === b ? null : `counts ${a === null ? 'none' : 'made'} vs ${b === null ? 'none' : 'made'}`;
  const [x, y] = [a as Record<string, unknown>, b as Record<string, unknown>];
  const keys = [...new Set([...Object.keys(x), ...Object.keys(y)])];
  const show = (v: unknown) => (Array.isArray(v) ? v.join(' ') || '(none)' : String(v));
  const differing = keys
    .filter((k) => !isDeepStrictEqual(x[k], y[k]))
    .map((k) => `${k} ${show(x[k])} vs ${show(y[k])}`);
  return differing.length === 0 ? null : differing.join('; ');
}
