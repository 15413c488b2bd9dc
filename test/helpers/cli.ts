// Runs the real hmsdk binary (bin/hmsdk.js over dist/) and collects what a
// user sees. A timeout turns a hang into a failed test (exit code null,
// timedOut true) instead of a hung vitest worker.
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

export const repoRoot = path.join(__dirname, '..', '..');
export const sysfsFixtures = path.join(repoRoot, 'test/fixtures/sysfs');

export interface CliResult {
  code: number | null;
  out: string;
  err: string;
  timedOut: boolean;
  ms: number;
}

export interface CliOptions {
  /** Kill the binary after this long (default 20 s). */
  timeoutMs?: number;
  /** Extra environment (NO_COLOR is always set). */
  env?: NodeJS.ProcessEnv;
}

export function hmsdkWith(options: CliOptions, ...args: string[]): CliResult {
  const t0 = Date.now();
  const r = spawnSync(process.execPath, [path.join(repoRoot, 'bin/hmsdk.js'), ...args], {
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1', ...options.env },
    timeout: options.timeoutMs ?? 20_000,
    killSignal: 'SIGKILL',
  });
  const spawnError: NodeJS.ErrnoException | undefined = r.error;
  const timedOut = spawnError?.code === 'ETIMEDOUT';
  return { code: r.status, out: r.stdout ?? '', err: r.stderr ?? '', timedOut, ms: Date.now() - t0 };
}

export function hmsdk(...args: string[]): CliResult {
  return hmsdkWith({}, ...args);
}
