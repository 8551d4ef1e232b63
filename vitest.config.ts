import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['**/*.test.ts'],
    exclude: ['node_modules/**', 'out/**'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Training tests are CPU-bound; two cores on CI machines.
    pool: 'forks',
    maxWorkers: 2,
  },
});
