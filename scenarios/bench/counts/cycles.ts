/**
 * Turner-Trauring's estimate, as iai-callgrind and CodSpeed use it: every access that hits L1 costs
 * a cycle, one that hits LL 5, one that goes to memory 35.
 */
export function estimatedCycles(accesses: number, l1Misses: number, llMisses: number): number {
  return accesses - l1Misses + 5 * (l1Misses - llMisses) + 35 * llMisses;
}
