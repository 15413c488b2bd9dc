import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HmsdkError } from '../src/errors';
import { planInterleave } from '../src/policy/plan';
import {
  applySystemWeights,
  kernelAutoWeights,
  systemWeightsPlan,
  weightedInterleaveDir,
  type SysfsIo,
  type SysfsWeightWrite,
} from '../src/policy/sysfs-weights';
import { dramPlusCxl } from './helpers/policy-topologies';

let root: string;

/** Fixture sysfs tree: weighted_interleave/{node0,node1,auto}, as a 6.16 kernel has it. */
function makeSysfs(values: Record<number, number> = { 0: 1, 1: 1 }, auto?: boolean): string {
  const dir = weightedInterleaveDir(root);
  fs.mkdirSync(dir, { recursive: true });
  for (const [n, v] of Object.entries(values)) fs.writeFileSync(path.join(dir, `node${n}`), `${v}\n`);
  if (auto !== undefined) fs.writeFileSync(path.join(dir, 'auto'), auto ? 'true\n' : 'false\n');
  return dir;
}

function read(p: string): string {
  return fs.readFileSync(p, 'utf8');
}

function expectHmsdkError(fn: () => unknown, code: string): void {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(HmsdkError);
    expect((e as HmsdkError).code).toBe(code);
    return;
  }
  throw new Error(`expected HmsdkError ${code}`);
}

beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'hmsdk-policy-sysfs-'));
});
afterEach(() => {
  fs.rmSync(root, { recursive: true, force: true });
});

describe('systemWeightsPlan', () => {
  it('manual mode: one write per plan node, under sysRoot', () => {
    const t = { ...dramPlusCxl(), sysRoot: root };
    const sys = systemWeightsPlan(t, planInterleave(t));
    expect(sys.keepAuto).toBe(false);
    expect(sys.writes).toEqual([
      { path: path.join(root, 'kernel/mm/mempolicy/weighted_interleave/node0'), node: 0, value: 3 },
      { path: path.join(root, 'kernel/mm/mempolicy/weighted_interleave/node1'), node: 1, value: 1 },
    ]);
  });

  it('kernelAutoWeights: min(read, write) access1 → 24:7 for 204800:65536', () => {
    expect(kernelAutoWeights(dramPlusCxl())).toEqual({ 0: 24, 1: 7 });
  });

  it("auto on and the plan equals auto's ratio: no writes, keep auto", () => {
    const t = { ...dramPlusCxl(), sysRoot: root };
    t.weightedInterleave = { available: true, auto: true, weights: { 0: 24, 1: 7 } };
    const sys = systemWeightsPlan(t, planInterleave(t, { method: 'kernel-auto' }));
    expect(sys.keepAuto).toBe(true);
    expect(sys.writes).toEqual([]);
    expect(sys.reason).toMatch(/leave auto on/);
  });

  it('auto on but a different ratio: writes, and says they switch to manual', () => {
    const t = { ...dramPlusCxl(), sysRoot: root };
    t.weightedInterleave = { available: true, auto: true, weights: { 0: 24, 1: 7 } };
    const sys = systemWeightsPlan(t, planInterleave(t));
    expect(sys.keepAuto).toBe(false);
    expect(sys.autoWeights).toEqual([24, 7]);
    expect(sys.writes.map((w) => w.value)).toEqual([3, 1]);
    expect(sys.reason).toMatch(/manual/);
  });

  it('manual weights already equal: nothing to write', () => {
    const t = { ...dramPlusCxl(), sysRoot: root };
    t.weightedInterleave = { available: true, auto: false, weights: { 0: 3, 1: 1 } };
    const sys = systemWeightsPlan(t, planInterleave(t));
    expect(sys.writes).toEqual([]);
    expect(sys.reason).toMatch(/already/);
  });
});

describe('applySystemWeights', () => {
  it('writes the files and reports previous values', () => {
    const dir = makeSysfs({ 0: 1, 1: 1 }, false);
    const t = { ...dramPlusCxl(), sysRoot: root };
    const r = applySystemWeights(systemWeightsPlan(t, planInterleave(t)).writes, { dryRun: false });
    expect(r.applied).toBe(true);
    expect(read(path.join(dir, 'node0'))).toBe('3\n');
    expect(read(path.join(dir, 'node1'))).toBe('1\n');
    expect(r.writes.map((w) => [w.status, w.previous])).toEqual([
      ['written', 1],
      ['written', 1],
    ]);
  });

  it('dry run writes nothing', () => {
    const dir = makeSysfs({ 0: 5, 1: 5 });
    const writes: SysfsWeightWrite[] = [{ path: path.join(dir, 'node0'), node: 0, value: 3 }];
    const r = applySystemWeights(writes, { dryRun: true });
    expect(r.applied).toBe(false);
    expect(r.reason).toMatch(/dry run/);
    expect(r.writes[0]?.status).toBe('dry-run');
    expect(read(path.join(dir, 'node0'))).toBe('5\n');
  });

  it('ENOTSUP when the weighted_interleave directory is absent (kernel < 6.9)', () => {
    const writes = [{ path: path.join(weightedInterleaveDir(root), 'node0'), node: 0, value: 3 }];
    expectHmsdkError(() => applySystemWeights(writes, { dryRun: false }), 'ENOTSUP');
    expectHmsdkError(() => applySystemWeights(writes, { dryRun: true }), 'ENOTSUP');
  });

  it('ENOTSUP when a path component is a regular file (ENOTDIR)', () => {
    fs.writeFileSync(path.join(root, 'kernel'), 'not a directory');
    const writes = [{ path: path.join(weightedInterleaveDir(root), 'node0'), node: 0, value: 3 }];
    expectHmsdkError(() => applySystemWeights(writes, { dryRun: false }), 'ENOTSUP');
  });

  it('ENODEV when a node has no weight file; nothing is written', () => {
    const dir = makeSysfs({ 0: 1 });
    const writes = [
      { path: path.join(dir, 'node0'), node: 0, value: 3 },
      { path: path.join(dir, 'node4'), node: 4, value: 1 },
    ];
    expectHmsdkError(() => applySystemWeights(writes, { dryRun: false }), 'ENODEV');
    expect(read(path.join(dir, 'node0'))).toBe('1\n');
  });

  // Real permission denial. chmod does not stop root, so as root the test drops the
  // *effective* uid to nobody around the (synchronous) call and restores it after;
  // the saved uid stays 0, so seteuid(0) is allowed. As non-root, mode 0444 suffices.
  it('permission denied → applied:false with the reason, earlier writes restored, no throw', () => {
    const dir = makeSysfs({ 0: 1, 1: 1 });
    fs.chmodSync(root, 0o755);
    for (let d = dir; d !== root; d = path.dirname(d)) fs.chmodSync(d, 0o755);
    const node0 = path.join(dir, 'node0');
    const node1 = path.join(dir, 'node1');
    const isRoot = process.geteuid?.() === 0;
    const nobody = 65534;
    if (isRoot) {
      fs.chownSync(node0, nobody, nobody); // node0 writable by nobody, node1 not
      fs.chmodSync(node0, 0o644);
      fs.chmodSync(node1, 0o644);
    } else {
      fs.chmodSync(node1, 0o444);
    }
    const writes = [
      { path: node0, node: 0, value: 3 },
      { path: node1, node: 1, value: 1 },
    ];
    let r;
    if (isRoot) {
      process.seteuid?.(nobody);
      try {
        r = applySystemWeights(writes, { dryRun: false });
      } finally {
        process.seteuid?.(0);
      }
    } else {
      r = applySystemWeights(writes, { dryRun: false });
    }
    if (isRoot) expect(process.geteuid?.()).toBe(0);
    expect(r.applied).toBe(false);
    expect(r.reason).toMatch(/permission denied writing .*node1 \(EACCES\)/);
    expect(r.writes.map((w) => w.status)).toEqual(['restored', 'failed']);
    expect(read(node0)).toBe('1\n');
    expect(read(node1)).toBe('1\n');
  });

  it('EROFS (read-only sysfs in a container) → applied:false (simulated io)', () => {
    const io: SysfsIo = {
      statSync: (p) => fs.statSync(p),
      readFileSync: (p, e) => fs.readFileSync(p, e),
      writeFileSync: () => {
        throw Object.assign(new Error('read-only file system'), { code: 'EROFS' });
      },
    };
    const dir = makeSysfs({ 0: 1 });
    const r = applySystemWeights([{ path: path.join(dir, 'node0'), node: 0, value: 3 }], { dryRun: false, io });
    expect(r.applied).toBe(false);
    expect(r.reason).toMatch(/EROFS.*read-only/);
  });

  it('EINVAL from the kernel → HmsdkError ESYSCALL with errno (simulated io)', () => {
    const io: SysfsIo = {
      statSync: (p) => fs.statSync(p),
      readFileSync: (p, e) => fs.readFileSync(p, e),
      writeFileSync: () => {
        throw Object.assign(new Error('invalid argument'), { code: 'EINVAL' });
      },
    };
    const dir = makeSysfs({ 0: 1 });
    try {
      applySystemWeights([{ path: path.join(dir, 'node0'), node: 0, value: 3 }], { dryRun: false, io });
      throw new Error('no throw');
    } catch (e) {
      expect(e).toBeInstanceOf(HmsdkError);
      expect((e as HmsdkError).code).toBe('ESYSCALL');
      expect((e as HmsdkError).errno).toBe(os.constants.errno.EINVAL);
    }
  });

  it('validates the writes', () => {
    const dir = makeSysfs();
    const p = path.join(dir, 'node0');
    expect(() => applySystemWeights([{ path: p, node: 0, value: 0 }], { dryRun: true })).toThrow(/writes\[0\]\.value/);
    expect(() => applySystemWeights([{ path: p, node: 0, value: 256 }], { dryRun: true })).toThrow(RangeError);
    expect(() => applySystemWeights([{ path: '', node: 0, value: 1 }], { dryRun: true })).toThrow(TypeError);
    expect(() => applySystemWeights([], {} as never)).toThrow(/dryRun/);
  });
});
