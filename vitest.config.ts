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
    // The AWS SDK warns on Node 20 of its later releases' needs, in every test that uses it directly.
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  },
});
