// The hmsdk binary against hostile input: --sys-root trees with the wrong
// kind of file where an attribute belongs, output paths that cannot be
// written, out-of-range --watch intervals. Each failure must be one line on
// stderr, exit 1 (runtime) or 2 (usage), no stack trace, and quick: a spawn
// timeout turns a hang into a failed test.
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { describeFailure } from '../src/cli/main';
import { UsageError } from '../src/cli/args';
import { HmsdkError } from '../src/errors';
import { hmsdk, hmsdkWith, repoRoot, sysfsFixtures, type CliResult } from './helpers/cli';

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'hmsdk-hostile-'));
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

/** One line on stderr, the expected exit code, no stack frame, no hang. */
function expectOneLineFailure(r: CliResult, exitCode: 1 | 2, message: RegExp, withinMs = 5000): void {
  expect(r.timedOut, 'the command hung').toBe(false);
  expect(r.code, r.err).toBe(exitCode);
  expect(r.err.trimEnd().split('\n'), r.err).toHaveLength(1);
  expect(r.err).not.toMatch(/^\s+at /m);
  expect(r.err.trimEnd()).toMatch(message);
  expect(r.ms).toBeLessThan(withinMs);
}

const MEMINFO = 'devices/system/node/node0/meminfo';

/** A copy of the cxl-expander fixture with `spoil` applied to it. */
function spoiledTree(name: string, spoil: (root: string) => void): string {
  const root = path.join(work, name);
  fs.cpSync(path.join(sysfsFixtures, 'cxl-expander'), root, { recursive: true });
  spoil(root);
  return root;
}

function replaceWith(root: string, rel: string, make: (p: string) => void): void {
  const p = path.join(root, rel);
  fs.rmSync(p, { recursive: true, force: true });
  make(p);
}

const hostileTrees: { name: string; tree: () => string; message: RegExp }[] = [
  {
    name: 'a directory where a file belongs',
    tree: () => spoiledTree('dir', (r) => replaceWith(r, MEMINFO, (p) => fs.mkdirSync(p))),
    message: /node0\/meminfo is a directory, not a regular file \[ECONFIG\]/,
  },
  {
    name: 'a symlink loop where a file belongs',
    tree: () => spoiledTree('file-loop', (r) => replaceWith(r, MEMINFO, (p) => fs.symlinkSync('meminfo', p))),
    message: /node0\/meminfo is a symbolic link, not a regular file .*\[ECONFIG\]/,
  },
  {
    name: 'a symlink loop where a directory belongs, above a file',
    tree: () => spoiledTree('dir-loop', (r) => replaceWith(r, 'devices/system/node/node0', (p) => fs.symlinkSync('node0', p))),
    message: /node0\/\S+ cannot be resolved: symbolic link loop \[ECONFIG\]/,
  },
  {
    name: 'a symlink loop where a listed directory belongs',
    tree: () => spoiledTree('list-loop', (r) => {
      fs.mkdirSync(path.join(r, 'bus/cxl'), { recursive: true });
      fs.symlinkSync('devices', path.join(r, 'bus/cxl/devices'));
    }),
    message: /bus\/cxl\/devices cannot be resolved: symbolic link loop \[ECONFIG\]/,
  },
  {
    name: 'a FIFO where a file belongs',
    tree: () => spoiledTree('fifo', (r) => replaceWith(r, MEMINFO, (p) => execFileSync('mkfifo', [p]))),
    message: /node0\/meminfo is a FIFO \(named pipe\), not a regular file \[ECONFIG\]/,
  },
  {
    name: 'a symlink to /dev/zero where a file belongs',
    tree: () => spoiledTree('zero', (r) => replaceWith(r, MEMINFO, (p) => fs.symlinkSync('/dev/zero', p))),
    message: /node0\/meminfo is a symbolic link, not a regular file .*\[ECONFIG\]/,
  },
  {
    name: 'a huge (sparse, 4 GiB) file where a file belongs',
    tree: () => spoiledTree('huge', (r) => replaceWith(r, MEMINFO, (p) => {
      fs.writeFileSync(p, 'Node 0 MemTotal: 1 kB\n');
      fs.truncateSync(p, 4 * 2 ** 30);
    })),
    message: /node0\/meminfo holds more than 65536 bytes.*\[ECONFIG\]/,
  },
  {
    name: 'CXL region entries that fan out through symlinks',
    tree: () => spoiledTree('fan-out', (r) => {
      // 400 regions -> one directory of 400 dax regions: 160 000 listings from 800 links.
      const devices = path.join(r, 'bus/cxl/devices');
      const shared = path.join(r, 'shared');
      fs.mkdirSync(devices, { recursive: true });
      fs.mkdirSync(shared);
      for (let i = 0; i < 400; i++) {
        fs.symlinkSync(shared, path.join(devices, `region${i}`));
        fs.symlinkSync(shared, path.join(shared, `dax_region${i}`));
      }
    }),
    message: /CXL region walk under \S+ listed more than 100000 entries.*\[ECONFIG\]/,
  },
  {
    name: 'a malformed list file',
    tree: () => spoiledTree('bad-list', (r) => fs.writeFileSync(path.join(r, 'devices/system/node/has_memory'), '0-\n')),
    message: /has_memory: malformed node list/,
  },
];

describe('hostile --sys-root trees', () => {
  for (const { name, tree, message } of hostileTrees) {
    it(`${name}: stats, topology and weights fail with one line`, () => {
      const root = tree();
      for (const command of ['stats', 'topology', 'weights']) {
        const r = hmsdkWith({ timeoutMs: 10_000 }, command, '--sys-root', root);
        expectOneLineFailure(r, 1, message);
        expect(r.err.startsWith(`hmsdk ${command}: `), r.err).toBe(true);
      }
    });
  }

  it('a FIFO where a listed directory belongs is an absent directory, not a hang', () => {
    const root = spoiledTree('dir-fifo', (r) => {
      fs.mkdirSync(path.join(r, 'bus/cxl'), { recursive: true });
      execFileSync('mkfifo', [path.join(r, 'bus/cxl/devices')]);
    });
    const r = hmsdkWith({ timeoutMs: 10_000 }, 'topology', '--sys-root', root);
    expect(r.timedOut).toBe(false);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/CXL devices.*: none/);
  });

  it('a missing meminfo of a memory node: stats fails with ENODEV naming it', () => {
    const root = spoiledTree('missing', (r) => fs.rmSync(path.join(r, MEMINFO)));
    expectOneLineFailure(hmsdk('stats', '--sys-root', root), 1, /node 0 is not online: \S+node0\/meminfo does not exist \[ENODEV\]/);
  });

  it('a --sys-root that does not exist or is a file is a usage error', () => {
    for (const command of ['stats', 'topology', 'weights']) {
      expectOneLineFailure(hmsdk(command, '--sys-root', path.join(work, 'no-such-tree')), 2, /--sys-root \S+no-such-tree: does not exist$/);
      expectOneLineFailure(hmsdk(command, '--sys-root', '/etc/passwd'), 2, /--sys-root \/etc\/passwd: not a directory$/);
    }
  });
});

describe('output paths are checked before the work', () => {
  it('bench --out in a missing directory fails before measuring', () => {
    expectOneLineFailure(hmsdk('bench', '--out', '/nonexistent/x.json'), 2, /--out \/nonexistent\/x\.json: directory \/nonexistent does not exist$/, 2000);
  });

  it('bench --out on procfs, on a directory, on a FIFO, below a file: refused before measuring', () => {
    execFileSync('mkfifo', [path.join(work, 'report.fifo')]);
    const cases: [string, RegExp][] = [
      ['/proc/x.json', /\/proc is on procfs/],
      ['/sys/x.json', /\/sys is on sysfs/],
      [work, /is a directory, not a file$/],
      [path.join(work, 'report.fifo'), /exists and is not a regular file$/],
      ['/etc/passwd/x.json', /\/etc\/passwd is not a directory$/],
    ];
    for (const [out, message] of cases) expectOneLineFailure(hmsdk('bench', '--out', out), 2, message, 2000);
  });

  it.each([
    ['/proc/x', /--out \/proc\/x: \/proc is on procfs/],
    ['/etc/passwd/x', /--out \/etc\/passwd\/x: \/etc\/passwd is not a directory$/],
  ])('emulate --out %s fails first, with one line and no temporary directory left', (out, message) => {
    const tmp = fs.mkdtempSync(path.join(work, 'tmpdir-'));
    const r = hmsdkWith({ env: { TMPDIR: tmp } }, 'emulate', '--out', out, '--', 'true');
    expectOneLineFailure(r, 2, message, 2000);
    expect(fs.readdirSync(tmp)).toEqual([]);
  });
});

describe('hmsdk stats --watch', () => {
  it.each(['1e10', '0', '-1', 'abc', '0.01', '86401', 'Infinity', 'NaN'])('--watch %s is a usage error', (value) => {
    expectOneLineFailure(hmsdk('stats', '--watch', value), 2, /--watch needs a number of seconds from 0\.1 to 86400/);
  });

  it('a reader that stops reading ends the watch quietly (EPIPE), no stack trace', async () => {
    const child = spawn(process.execPath, [path.join(repoRoot, 'bin/hmsdk.js'), 'stats', '--watch', '0.1'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    let err = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.stdout.once('data', () => child.stdout.destroy());
    const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
    clearTimeout(timer);
    expect(err).toBe('');
    expect(code).toBe(0);
  });
});

describe('describeFailure', () => {
  it('maps every kind of error to one line and an exit code', () => {
    expect(describeFailure(new UsageError('bad flag'))).toEqual({ line: 'bad flag', exitCode: 2 });
    expect(describeFailure(new HmsdkError('ECONFIG', 'bad file'))).toEqual({ line: 'bad file [ECONFIG]', exitCode: 1 });
    expect(describeFailure(new RangeError('out of range'))).toEqual({ line: 'out of range', exitCode: 1 });
    const osError = Object.assign(new Error("ENOSPC: no space left on device, write"), { code: 'ENOSPC', syscall: 'write' });
    expect(describeFailure(osError)).toEqual({ line: 'ENOSPC: no space left on device, write', exitCode: 1 });
    const internal = describeFailure(new Error('first line\n    at frame (x.js:1:1)'));
    expect(internal.exitCode).toBe(1);
    expect(internal.line).toMatch(/^internal error: first line \(this is a bug in hmsdk; please report it\)$/);
    expect(describeFailure('a string').line).toMatch(/^internal error: a string/);
  });
});
