import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';
import { SuiteSequencer } from './test/sequencer.ts';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    // One more file than cores: several files spend most of their time waiting (on a --timeout to
    // pass, a signal to land, PyTorch to load), and a waiting file should not hold a core. A number:
    // vitest caps a percentage ('150%') at the core count.
    maxWorkers: availableParallelism() + 1,
    // Which files start together (test/sequencer.ts): those that wait beside those that count.
    sequence: { sequencer: SuiteSequencer },
    // Test files in a few long-lived child processes, not in threads of vitest's own process. A test
    // that spawns a command forks the process it runs in (libuv forks, then execs), and a fork costs
    // in proportion to that process's memory: page tables copied, then a fault on each page it writes
    // next. In threads, every spawn forked vitest itself with all three files' heaps (1.5 GB by the
    // end); here it forks one file's. vitest's own processes (its main one and the three forks) took
    // 57 s of CPU in a suite, against 69-78 s for its one process in three suites with threads.
    // With `isolate: false` a fork runs file after file, so the suite starts three processes, not one
    // per file (which is what made forks cost more before).
    pool: 'forks',
    // A larger young generation for the test files' processes (the commands they spawn do not get
    // it). The engines that tests train in-process (reference-job, engine-trajectories, tensor,
    // gradcheck) build a graph per step that dies young; with the default 16 MB semi-space the
    // scavenger copied it first: engine-trajectories and reference-job together took 33-35 s of CPU,
    // 24-25 s with 128 MB (three runs each); in a whole suite, vitest's own process took 137 s
    // against 69 s.
    execArgv: ['--max-semi-space-size=128'],
    // A test process runs its next file with the modules it has already imported (the harness's, esbuild,
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
