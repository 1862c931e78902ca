import { availableParallelism } from 'node:os';
import { setFlagsFromString } from 'node:v8';
import { defineConfig } from 'vitest/config';

// A larger young generation for the test files' threads: V8 reads the flag when it makes a
// thread's heap, and this file is loaded before any thread starts (the processes the tests spawn
// do not inherit it). The engines that tests train in-process (reference-job, engine-trajectories,
// tensor, gradcheck) build a graph per step that dies young, and with the default 16 MB semi-space
// the scavenger copied it first: engine-trajectories and reference-job together took 33-35 s of
// CPU, 24-25 s with 128 MB (three runs each).
setFlagsFromString('--max-semi-space-size=128');

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    // One more file than cores: several files spend most of their time waiting (on a --timeout to
    // pass, a signal to land, PyTorch to load), and a waiting file should not hold a core. A number:
    // vitest caps a percentage ('150%') at the core count.
    maxWorkers: availableParallelism() + 1,
    // Test files in worker threads, not forked processes: a file's worker then starts without a Node
    // process of its own (about 40 s of the suite's CPU in forks). No test changes what a thread
    // does not have its own of (the working directory, signal handlers); process.env is a thread's copy.
    pool: 'threads',
    // A thread runs its next file with the modules it has already imported (the harness's, esbuild,
    // vega), instead of importing them again: 493 s of CPU against 513 s for the suite, green both
    // ways. Safe while no test file mocks a module or leaves process.env or a module's state changed
    // (counts-units.test.ts puts back the one variable it sets).
    isolate: false,
    // A guard against a hang, never a verdict on speed: the longest test takes about 40 s on a quiet
    // 2-core machine and took 100 s at load average 12 (test/helpers.ts's SPAWN_GUARD_MS is below it).
    testTimeout: 600_000,
    hookTimeout: 600_000,
  },
});
