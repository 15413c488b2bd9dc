/**
 * Host unit tests of the emulator (no VM boot): preset validation, QEMU
 * command lines, console demultiplexing, missing-tool errors.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConsoleFilter } from '../src/emulate/console';
import { cpioNewc, S_IFREG } from '../src/emulate/cpio';
import { jobScript } from '../src/emulate/job';
import { moduleDepends } from '../src/emulate/kernels';
import { listPresetNames, loadPreset, validatePreset } from '../src/emulate/preset';
import { numaArgs, qemuArgs, qemuBinary } from '../src/emulate/qemu';
import { HmsdkError } from '../src/errors';

const numaLines = (args: string[]): string[] => args.flatMap((a, i) => (args[i - 1] === '-numa' ? [a] : []));

function rejects(data: unknown, field: string): void {
  let err: unknown;
  try {
    validatePreset(data, '/x/bad.json');
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(HmsdkError);
  expect((err as HmsdkError).code).toBe('ECONFIG');
  expect((err as HmsdkError).message).toContain(field);
}

const good = () => JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'presets', 'cxl-expander.json'), 'utf8')) as Record<string, any>;

describe('presets', () => {
  it('ships the required presets, each valid and named after its file', () => {
    const names = listPresetNames();
    expect(names).toEqual(expect.arrayContaining(['cxl-expander', 'two-socket-cxl', 'no-cxl', 'sparse-ids']));
    for (const name of names) {
      const p = loadPreset(name);
      expect(p.name).toBe(name);
      expect(p.file).toBe(path.resolve(__dirname, '..', 'presets', `${name}.json`));
      const mib = p.nodes.reduce((s, n) => s + n.memMiB, 0);
      expect(mib).toBeLessThanOrEqual(4096);
    }
  });

  it('normalises CPU counts to vCPU lists', () => {
    expect(loadPreset('cxl-expander').nodes.map((n) => n.cpus)).toEqual([[0, 1], []]);
    expect(loadPreset('no-cxl').nodes.map((n) => n.cpus)).toEqual([[0], [1]]);
  });

  it('loads a preset by file path and rejects unknown names', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hmsdk-preset-'));
    const f = path.join(dir, 'mine.json');
    fs.writeFileSync(f, JSON.stringify({ ...good(), name: 'mine' }));
    expect(loadPreset(f).name).toBe('mine');
    fs.writeFileSync(f, '{ nope');
    expect(() => loadPreset(f)).toThrow(/not valid JSON/);
    expect(() => loadPreset('no-such-preset')).toThrow(/unknown topology preset 'no-such-preset' \(known: .*cxl-expander/);
  });

  it('rejects bad presets with ECONFIG naming the field', () => {
    const g = good;
    rejects({ ...g(), name: undefined }, 'name');
    rejects({ ...g(), nodes: [] }, 'nodes');
    rejects({ ...g(), extra: 1 }, '(top level).extra');
    let p = g(); p.nodes[1].memMiB = 'lots'; rejects(p, 'nodes[1].memMiB');
    p = g(); p.nodes[1].id = 0; rejects(p, 'nodes[1].id');
    p = g(); p.nodes[1].initiator = 1; rejects(p, 'nodes[1].initiator');
    p = g(); p.nodes[0].cpus = 5; rejects(p, 'nodes[0].cpus');
    p = g(); p.nodes[0].cpus = [0, 2]; rejects(p, 'nodes[].cpus');
    p = g(); p.distances = [[10, 20]]; rejects(p, 'distances');
    p = g(); p.distances[0][0] = 12; rejects(p, 'distances[0][0]');
    p = g(); p.hmat[1].target = 7; rejects(p, 'hmat[1].target');
    p = g(); p.hmat[1].initiator = 1; rejects(p, 'hmat[1].initiator');
    p = g(); p.hmat[0].readLatencyNs = -1; rejects(p, 'hmat[0].readLatencyNs');
    p = g(); p.hmat[0].writeLatencyNs = 120; rejects(p, 'hmat[].writeLatencyNs');
    p = g(); p.hmat.push({ ...p.hmat[0] }); rejects(p, 'hmat[2]');
    p = g(); p.expect.cpulessNodes = []; rejects(p, 'expect.cpulessNodes');
    p = g(); p.expect.exmemNodes = []; rejects(p, 'expect');
    p = g(); p.nodes[0].memMiB = 9000; rejects(p, 'nodes[0].memMiB');
  });

  it('rejects HMAT and a non-trailing vCPU on offline nodes', () => {
    const p = loadPreset('sparse-ids');
    const raw = JSON.parse(fs.readFileSync(p.file, 'utf8'));
    rejects({ ...raw, hmat: good().hmat }, 'hmat');
    const swapped = JSON.parse(JSON.stringify(raw));
    swapped.nodes[0].cpus = [0, 2];
    swapped.nodes[1].cpus = [1];
    rejects(swapped, 'nodes[].cpus');
  });
});

describe('qemu command line', () => {
  const boot = { kernel: '/k/vmlinuz', initrd: '/k/initrd', outDir: '/o,ut' };

  it('cxl-expander: two nodes, node1 CPU-less, HMAT access figures in 2^20 B/s', () => {
    const args = qemuArgs(loadPreset('cxl-expander'), boot);
    expect(args.join(' ')).toContain('-accel tcg -cpu max -machine q35,hmat=on');
    expect(args.slice(args.indexOf('-m'), args.indexOf('-m') + 4)).toEqual(['-m', '2560M', '-smp', '2']);
    expect(args).toContain('memory-backend-ram,id=mem1,size=1024M');
    expect(numaLines(args)).toEqual([
      'node,nodeid=0,cpus=0-1,memdev=mem0,initiator=0',
      'node,nodeid=1,memdev=mem1,initiator=0',
      'dist,src=0,dst=1,val=20',
      'dist,src=1,dst=0,val=20',
      'hmat-lb,initiator=0,target=0,hierarchy=memory,data-type=access-latency,latency=100',
      'hmat-lb,initiator=0,target=0,hierarchy=memory,data-type=access-bandwidth,bandwidth=204800M',
      'hmat-lb,initiator=0,target=1,hierarchy=memory,data-type=access-latency,latency=250',
      'hmat-lb,initiator=0,target=1,hierarchy=memory,data-type=access-bandwidth,bandwidth=65536M',
    ]);
    expect(args).toContain('local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap');
    expect(args).toContain('local,path=/o,,ut,mount_tag=hmsdkout,security_model=none,multidevs=remap');
    expect(args[args.indexOf('-append') + 1]).toMatch(/console=ttyS0 quiet loglevel=0/);
  });

  it('two-socket-cxl: per-initiator split read/write HMAT and full SLIT', () => {
    const lines = numaLines(numaArgs(loadPreset('two-socket-cxl')));
    expect(lines.filter((l) => l.startsWith('node,'))).toEqual([
      'node,nodeid=0,cpus=0,memdev=mem0,initiator=0',
      'node,nodeid=1,cpus=1,memdev=mem1,initiator=1',
      'node,nodeid=2,memdev=mem2,initiator=0',
      'node,nodeid=3,memdev=mem3,initiator=1',
    ]);
    expect(lines.filter((l) => l.startsWith('dist,'))).toHaveLength(12);
    expect(lines).toContain('dist,src=0,dst=2,val=14');
    expect(lines).toContain('dist,src=2,dst=3,val=26');
    expect(lines.filter((l) => l.startsWith('hmat-lb,'))).toHaveLength(32);
    expect(lines).toContain('hmat-lb,initiator=1,target=3,hierarchy=memory,data-type=read-latency,latency=250');
    expect(lines).toContain('hmat-lb,initiator=1,target=3,hierarchy=memory,data-type=write-bandwidth,bandwidth=49152M');
    expect(lines.some((l) => l.includes('access-'))).toBe(false);
  });

  it('no-cxl: every node has CPUs and memory', () => {
    const lines = numaLines(numaArgs(loadPreset('no-cxl')));
    expect(lines.filter((l) => l.startsWith('node,'))).toEqual([
      'node,nodeid=0,cpus=0,memdev=mem0,initiator=0',
      'node,nodeid=1,cpus=1,memdev=mem1,initiator=1',
    ]);
  });

  it('sparse-ids: hot-pluggable vCPU for the offline node, no memory, no HMAT', () => {
    const p = loadPreset('sparse-ids');
    const args = qemuArgs(p, boot);
    expect(args).toContain('q35');
    expect(args[args.indexOf('-smp') + 1]).toBe('2,maxcpus=3');
    expect(numaLines(args).filter((l) => l.startsWith('node,'))).toEqual([
      'node,nodeid=0,cpus=0-1,memdev=mem0',
      'node,nodeid=1,cpus=2',
      'node,nodeid=2,memdev=mem2',
    ]);
    expect(args.some((a) => a.startsWith('hmat-lb'))).toBe(false);
    expect(args).not.toContain('memory-backend-ram,id=mem1,size=0M');
  });

  it('missing qemu-system-x86_64 is ETOOL with the apt-get hint', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hmsdk-nopath-'));
    let err: unknown;
    try {
      qemuBinary(dir);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(HmsdkError);
    expect((err as HmsdkError).code).toBe('ETOOL');
    expect((err as HmsdkError).message).toBe('qemu-system-x86_64 not found on PATH; install it with: apt-get install qemu-system-x86');
    fs.symlinkSync('/bin/true', path.join(dir, 'qemu-system-x86_64'));
    expect(qemuBinary(dir)).toBe(path.join(dir, 'qemu-system-x86_64'));
  });
});

describe('console filter', () => {
  const run = (nonce: string, chunks: string[]) => {
    let out = '';
    const f = new ConsoleFilter(nonce, (t) => (out += t));
    for (const c of chunks) f.push(c);
    return { out, f };
  };

  it('forwards only the command output between the markers, CRLF → LF', () => {
    const { out, f } = run('abc', ['SeaBIOS\r\nBooting..<<hmsdk:st', 'art:abc>>\r\nhello\r', '\nwor', 'ld\r\n<<hmsdk:ex', 'it:abc:42>>\r\nsysrq: Power Off\r\n']);
    expect(out).toBe('hello\nworld\n');
    expect(f.exitCode).toBe(42);
    expect(f.bootTail).toContain('SeaBIOS');
  });

  it('ignores markers with another nonce (the command cannot fake its exit)', () => {
    const { out, f } = run('n1', ['<<hmsdk:start:n1>>\n', 'x <<hmsdk:exit:zz:0>>\n']);
    expect(out).toBe('x <<hmsdk:exit:zz:0>>\n');
    expect(f.exitCode).toBeUndefined();
  });

  it('reports an exit before the start (init failure) without starting', () => {
    const { out, f } = run('n', ['hmsdk-init: insmod failed\n<<hmsdk:exit:n:125>>\n']);
    expect(out).toBe('');
    expect(f.started).toBe(false);
    expect(f.exitCode).toBe(125);
    expect(f.bootTail).toBe('hmsdk-init: insmod failed\n');
  });
});

describe('guest pieces', () => {
  it('job script quotes the command and sets the emulate environment', () => {
    const s = jobScript({
      command: ['echo', "it's", '$HOME'],
      cwd: '/work/main',
      presetFile: '/p/x.json',
      kernel: '6.1',
      outDir: '/o',
      callerEnv: { PATH: '/usr/bin', HMSDK_FOO: 'bar', SECRET: 'no', CI: 'true' },
    });
    expect(s).toContain(`{ 'echo' 'it'\\''s' '$HOME' </dev/null;`);
    expect(s).toContain("export HMSDK_EMULATE_KERNEL='6.1'");
    expect(s).toContain("export HMSDK_FOO='bar'");
    expect(s).toContain("export CI='true'");
    expect(s).not.toContain('SECRET');
    expect(s).toContain("cd '/work/main' ||");
  });

  it('cpio newc entries are 4-byte aligned with the trailer last', () => {
    const b = cpioNewc([{ name: 'init', mode: S_IFREG | 0o755, data: 'abc' }]);
    expect(b.subarray(0, 6).toString()).toBe('070701');
    expect(b.length % 4).toBe(0);
    expect(b.includes('TRAILER!!!')).toBe(true);
  });

  it('module dependencies come from .modinfo depends=', () => {
    expect(moduleDepends(Buffer.from('x\0license=GPL\0depends=virtio,9pnet,virtio-ring\0name=9p'))).toEqual(['virtio', '9pnet', 'virtio_ring']);
    expect(moduleDepends(Buffer.from('x\0depends=\0'))).toEqual([]);
  });
});
