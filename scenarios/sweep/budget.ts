/**
 * bench:sweep's --budget: an engine whose median training time at a point exceeds the budget sits out
 * every larger point, so a slow engine does not spend hours where a fast one takes seconds.
 */
import { pointLabel, type Axis } from './points.ts';

/** The axes along which a larger value means a larger job; on any other axis, "larger" needs equal values. */
export const SIZE_KEYS: readonly string[] = ['steps', 'n-layer', 'n-embd', 'block-size', 'samples'];

type Values = Readonly<Record<string, string>>;

/** Whether `point` is at least `than` on every size axis, equal on the others, and not `than` itself. */
export function largerOrEqual(axes: readonly Axis[], point: Values, than: Values): boolean {
  const same = axes.every((a) => point[a.key] === than[a.key]);
  return (
    !same &&
    axes.every((a) =>
      SIZE_KEYS.includes(a.key) ? Number(point[a.key]) >= Number(than[a.key]) : point[a.key] === than[a.key],
    )
  );
}

export class Budget {
  /** Per engine, the points where its median went over. */
  private readonly over = new Map<string, Values[]>();

  constructor(
    private readonly axes: readonly Axis[],
    private readonly limitMs: number,
  ) {}

  /** Notes an engine's median at a point (null: no ok trial, which says nothing about time). */
  record(engine: string, point: Values, medianMs: number | null): void {
    if (medianMs !== null && medianMs > this.limitMs) this.over.set(engine, [...(this.over.get(engine) ?? []), point]);
  }

  /** Why the engine sits out this point, or null if it runs. */
  skipReason(engine: string, point: Values): string | null {
    const at = this.over.get(engine)?.find((p) => largerOrEqual(this.axes, point, p));
    return at === undefined ? null : `skipped: over budget at ${pointLabel(at)}`;
  }
}
