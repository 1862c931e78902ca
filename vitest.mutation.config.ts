import { defineConfig } from 'vitest/config';

/**
 * The tests `npm run test:mutation` runs against each mutant: the in-process oracles of the modules
 * it mutates (see stryker.config.json). Slow end-to-end files stay out; a mutant they alone would
 * kill counts as survived, which is the point: these oracles should catch it.
 */
export default defineConfig({
  test: {
    include: [
      'test/adam.test.ts',
      'test/pyrandom.test.ts',
      'test/gradcheck.test.ts',
      'test/csv-columns.test.ts',
      'test/exporters.test.ts',
      'test/reference-embedded.test.ts',
    ],
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
