import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // The tests mostly wait on bin/bwrite processes: more files at once than cores pays off
    // (the default, one fewer than the cores, ran them one at a time on 2 cores: 305 s).
    maxWorkers: 4,
  },
});
