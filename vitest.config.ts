import { defineConfig } from 'vitest/config';

// Unit suite: runs on any Linux machine (one NUMA node is enough).
// Placement suite (test/numa) runs inside the QEMU VM: see vitest.numa.config.ts.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['test/numa/**', 'node_modules/**'],
    pool: 'forks',
    testTimeout: 30_000,
    execArgv: ['--expose-gc'],
  },
});
