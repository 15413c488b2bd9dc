// `hmsdk run` execs the program in its own process (src/preload/launch.ts):
// the program keeps the pid and process group a shell gave `hmsdk run`,
// each signal arrives once (a terminal's Ctrl-C goes to the whole group,
// so a forwarding wrapper delivered it twice), the exit status is the
// program's own, and what Node changed (ignored SIGPIPE, close-on-exec
// stdio) does not leak into it. A real server's shutdown depends on that:
// redis-server takes a second SIGINT as "quit without saving".
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { native } from '../src/alloc/native';
import { hmsdk, repoRoot } from './helpers/cli';

const BIN = path.join(repoRoot, 'bin', 'hmsdk.js');
let dir: string;
let counter: string;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hmsdk-run-exec-'));
  counter = path.join(dir, 'signals');
  execFileSync('cc', ['-O2', '-Wall', '-o', counter, path.join(__dirname, 'preload', 'signals.c')], { stdio: 'inherit' });
});
afterAll(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

/** Start `hmsdk run ARGS` in its own process group, as a shell job. */
function startJob(args: string[], cwd = dir) {
  const child = spawn(process.execPath, [BIN, 'run', ...args], { cwd, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  const waitFor = async (re: RegExp, ms = 15_000): Promise<void> => {
    const t0 = Date.now();
    while (!re.test(out)) {
      if (Date.now() - t0 > ms) throw new Error(`no ${re} after ${ms} ms; stdout: ${out}; stderr: ${err}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  return { child, exited, waitFor, out: () => out, err: () => err };
}

describe('hmsdk run execs the program in place', () => {
  it('a signal sent to the job reaches the program once; pid, group, exit status are the program\'s', async () => {
    const job = startJob(['--nodes', '0', '--', counter]);
    await job.waitFor(/ready/);
    const m = /pid=(\d+) pgid=(\d+)/.exec(job.out())!;
    expect(Number(m[1]), 'the program runs as the process hmsdk run was').toBe(job.child.pid);
    expect(Number(m[2])).toBe(job.child.pid);
    process.kill(-job.child.pid!, 'SIGINT'); // what a terminal's Ctrl-C does
    await new Promise((r) => setTimeout(r, 100));
    process.kill(-job.child.pid!, 'SIGTERM'); // what timeout(1) or a process-group kill does
    const { code } = await job.exited;
    expect(job.out()).toContain('INT=1 TERM=1');
    expect(job.out(), 'Node ignores SIGPIPE; the program must not inherit that').toContain('PIPE=default');
    expect(code).toBe(3);
  });

  it('the native exec refuses bad arguments and a failed execve returns -errno, the caller alive', () => {
    const addon = native();
    const bad: unknown[][] = [
      [[], ['x'], [], 0, []],
      [['/bin/true'], 'x', [], 0, []],
      [['/bin/true'], ['x'], [1], 0, []],
      [['/bin/true'], [], [], 0, []],
      [['/bin/true'], ['a\u0000b'], [], 0, []],
      [['/bin/true'], ['x'], [], 2, []],
      [['/bin/true'], ['x'], [], 99, [0]],
    ];
    for (const args of bad) expect((addon.exec as (...a: unknown[]) => number)(...args), JSON.stringify(args)).toBeLessThan(0);
    expect(addon.exec([path.join(dir, 'absent')], ['absent'], [], 0, [])).toBe(-os.constants.errno.ENOENT);
  });

  it('a missing command is one line and exit status 1; no process is left', () => {
    const r = hmsdk('run', '--nodes', '0', '--', path.join(dir, 'no-such-program'));
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/cannot run .*no-such-program.*no such executable file/);
    const r2 = hmsdk('run', '--nodes', '0', '--', 'hmsdk-no-such-command');
    expect(r2.code).toBe(1);
    expect(r2.err).toMatch(/command not found/);
  });

  it('stdin, stdout and stderr are the program\'s own', () => {
    const r = execFileSync(process.execPath, [BIN, 'run', '--nodes', '0', '--', 'sh', '-c', 'read line; echo "out:$line"; echo err >&2'], { input: 'hello\n', encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
    expect(r).toBe('out:hello\n');
  });

  it('a static program is told apart and gets the task policy (the preload cannot reach it)', () => {
    const busybox = '/bin/busybox'; // busybox-static: the emulator's initramfs needs it, .ci/run installs it
    const r = hmsdk('run', '--nodes', '0', '--', busybox, 'sh', '-c', 'grep -c . /proc/self/numa_maps');
    expect(r.code, r.err).toBe(0);
    expect(r.err).toMatch(/busybox is statically linked.*task policy preferred on node 0/);
    const dynamic = hmsdk('run', '--nodes', '0', '--', 'sh', '-c', 'true');
    expect(dynamic.err).not.toMatch(/statically linked/);
  });

  it('redis-server stopped with Ctrl-C under hmsdk run writes its final save', async () => {
    const redis = ['/usr/bin/redis-server', '/usr/sbin/redis-server'].find((p) => fs.existsSync(p));
    expect(redis, 'redis-server (Debian package redis-server; .ci/run installs it)').toBeDefined();
    const work = fs.mkdtempSync(path.join(dir, 'redis-'));
    const port = String(20000 + (process.pid % 20000));
    const job = startJob(['--nodes', '0', '--', redis!, '--port', port, '--dir', work, '--save', '3600 1', '--daemonize', 'no', '--loglevel', 'notice'], work);
    await job.waitFor(/Ready to accept connections/);
    execFileSync('redis-cli', ['-p', port, 'SET', 'k', 'v'], { encoding: 'utf8' });
    process.kill(-job.child.pid!, 'SIGINT');
    const { code, signal } = await job.exited;
    expect(job.out()).toMatch(/DB saved on disk/);
    expect(job.out()).not.toMatch(/second SIGINT|force/i);
    expect(fs.existsSync(path.join(work, 'dump.rdb'))).toBe(true);
    expect({ code, signal }).toEqual({ code: 0, signal: null });
  });
});
