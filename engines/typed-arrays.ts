/** A copy of `a` in a new array of `length` elements (the rest zero): how the tapes grow. */
export function grown<T extends Float64Array | Int32Array>(a: T, length: number): T {
  const b = new (a.constructor as new (n: number) => T)(length);
  b.set(a);
  return b;
}
