/**
 * External programs the emulator needs, looked up on PATH before use so a
 * missing one gives one `ETOOL` line saying which Debian package to install,
 * not an ENOENT from spawn.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { HmsdkError } from '../errors';

/** Debian package that provides each tool the emulator runs. */
export const TOOL_PACKAGES: Readonly<Record<string, string>> = {
  'qemu-system-x86_64': 'qemu-system-x86',
  busybox: 'busybox-static',
  'apt-get': 'apt',
  'apt-cache': 'apt',
  dpkg: 'dpkg',
  xz: 'xz-utils',
};

/**
 * Absolute path of `name` on `searchPath` (default `$PATH`), or undefined.
 */
export function whichTool(name: string, searchPath: string = process.env.PATH ?? ''): string | undefined {
  for (const dir of searchPath.split(':')) {
    if (!dir) continue;
    const p = path.join(dir, name);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      if (fs.statSync(p).isFile()) return p;
    } catch {
      // not here
    }
  }
  return undefined;
}

/**
 * Like {@link whichTool} but throws `ETOOL` naming the package to install.
 *
 * @example
 * ```ts
 * requireTool('qemu-system-x86_64'); // '/usr/bin/qemu-system-x86_64'
 * ```
 */
export function requireTool(name: string, searchPath?: string): string {
  const found = whichTool(name, searchPath);
  if (found) return found;
  const pkg = TOOL_PACKAGES[name] ?? name;
  throw new HmsdkError('ETOOL', `${name} not found on PATH; install it with: apt-get install ${pkg}`);
}

/** Result of {@link runTool}. */
export interface ToolResult {
  /** Exit status (or 128+signal). */
  code: number;
  /** Captured standard output. */
  stdout: string;
  /** Captured standard error. */
  stderr: string;
}

/**
 * Run a tool to completion, capturing its output (no shell). The tool must
 * exist (see {@link requireTool}).
 */
export function runTool(file: string, args: readonly string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<ToolResult> {
  // Lazy import keeps module load cheap for `hmsdk emulate --list`.
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- lazy, see above
  const { spawn } = require('node:child_process') as typeof import('node:child_process');
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', (e) => reject(new HmsdkError('ETOOL', `cannot run ${file}: ${e.message}`)));
    child.on('close', (code, signal) => resolve({ code: code ?? 128 + (signal ? 9 : 0), stdout, stderr }));
  });
}
