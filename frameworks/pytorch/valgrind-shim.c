/*
 * Loaded only when microgpt_torch.py runs under valgrind (bench:all --counts), before torch.
 *
 * Debian's libtorch links OpenCV, which links libhwy, whose initializer calls
 * hwy::platform::TimerResolution(), which runs rdtscp: valgrind 3.19 does not know that instruction
 * and the process dies by SIGILL while torch loads. libhwy calls the function through its PLT, so a
 * definition loaded first into the global scope takes its place. The value only feeds libhwy's own
 * benchmarking timer, which torch never uses.
 *
 * Not here: a training-step marker. callgrind's --dump-before=uv_os_getpriority (which splits an
 * engine's count) did not fire for a function called through ctypes, neither one defined here nor
 * libuv's own (checked on a small Python program), so the program is counted whole.
 */
#include <stdint.h>

uint64_t _ZN3hwy8platform15TimerResolutionEv(void) { return 1; }

