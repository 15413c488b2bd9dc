import { defineConfig } from 'vitest/config';

// Placement suite: runs INSIDE the QEMU VM (`hmsdk emulate`), where the host
// root is mounted read-only. Everything vitest/vite writes goes under /tmp
// (a tmpfs in the VM). TCG is slow: one fork, generous timeouts.
export default defineConfig({
  cacheDir: '/tmp/hmsdk-vitest-cache',
  test: {
    include: ['test/numa/**/*.test.ts'],
    pool: 'forks',
    maxWorkers: 1,
    fileParallelism: false,
    isolate: false,
    testTimeout: 120_000,
    hookTimeout: 120_000,
    teardownTimeout: 30_000,
    reporters: ['default'],
  },
});
