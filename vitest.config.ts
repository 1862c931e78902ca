import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    // The default leaves a core idle; the suite spends most of its time in long single-threaded jobs.
    maxWorkers: '100%',
    // The 1000-step scalar runs take 30–60 s alone and over 2 min beside the other files on a busy 2-core machine.
    testTimeout: 300_000,
    hookTimeout: 300_000,
  },
});
