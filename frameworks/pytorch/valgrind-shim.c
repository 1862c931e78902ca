/*
 * Loaded only when microgpt_torch.py runs under valgrind (bench:all --counts), before torch.
 *
 * 1. Debian's libtorch links OpenCV, which links libhwy, whose initializer calls
 *    hwy::platform::TimerResolution(), which runs rdtscp: valgrind 3.19 does not know that instruction
 *    and the process dies by SIGILL while torch loads. libhwy calls the function through its PLT, so
 *    a definition loaded first into the global scope takes its place. The value only feeds libhwy's
 *    own benchmarking timer, which torch never uses.
 * 2. uv_os_getpriority: callgrind dumps its counters before every call of a function of that name
 *    (scenarios/bench/counts/callgrind.ts), so the program calls it before its first training step
 *    and after its last, and the count tells the training steps from start-up.
 */
#include <stdint.h>

uint64_t _ZN3hwy8platform15TimerResolutionEv(void) { return 1; }

int uv_os_getpriority(int pid, int *priority) {
  (void)pid;
  if (priority) *priority = 0;
  return 0;
}
