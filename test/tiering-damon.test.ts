// The DAMON access monitor (src/tiering/pages/damon.ts) on fixture sysfs
// trees: the refusals (no DAMON, someone else's kdamonds, no vaddr, a gone
// pid, bad arguments) and the files it writes and reads. A fixture runs no
// kdamond: the kernel's side (a tree that grows on writes to nr_*, a
// blocking update request, a kdamond stopping with its target) is the VM
// test's, test/numa/damon.test.ts.
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { HmsdkError } from '../src/errors';
import { damonAvailable, openDamon } from '../src/tiering/pages/damon';
import { sysfsFixtures } from './helpers/cli';
import { errorCode, thrown } from './helpers/error-code';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hmsdk-damon-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

let trees = 0;
/**
 * A DAMON sysfs tree as the kernel shows it with `nr_kdamonds` = `nr`; with
 * `avail`, also the kdamond 0 directories the kernel would create on our
 * writes (a fixture cannot grow them), every attribute at the kernel's default.
 */
function tree(nr: number, avail?: string): { sysRoot: string; admin: string; ctx: string } {
  const sysRoot = path.join(tmp, `t${trees++}`);
  const admin = path.join(sysRoot, 'kernel/mm/damon/admin');
  const ctx = path.join(admin, 'kdamonds/0/contexts/0');
  const files: Record<string, string> = { 'kdamonds/nr_kdamonds': `${nr}\n` };
  if (avail !== undefined) {
    const s = 'kdamonds/0/contexts/0/schemes/0';
    Object.assign(files, {
      'kdamonds/0/state': 'off\n',
      'kdamonds/0/pid': '-1\n',
      'kdamonds/0/contexts/nr_contexts': '0\n',
      'kdamonds/0/contexts/0/avail_operations': `${avail}\n`,
      'kdamonds/0/contexts/0/operations': 'vaddr\n',
      'kdamonds/0/contexts/0/monitoring_attrs/intervals/sample_us': '5000\n',
      'kdamonds/0/contexts/0/monitoring_attrs/intervals/aggr_us': '100000\n',
      'kdamonds/0/contexts/0/monitoring_attrs/intervals/update_us': '60000000\n',
      'kdamonds/0/contexts/0/monitoring_attrs/nr_regions/min': '10\n',
      'kdamonds/0/contexts/0/monitoring_attrs/nr_regions/max': '1000\n',
      'kdamonds/0/contexts/0/targets/nr_targets': '0\n',
      'kdamonds/0/contexts/0/targets/0/pid_target': '0\n',
      'kdamonds/0/contexts/0/schemes/nr_schemes': '0\n',
      [`${s}/action`]: 'pageout\n',
      [`${s}/tried_regions/total_bytes`]: '0\n',
    });
    for (const r of ['sz', 'nr_accesses', 'age']) for (const m of ['min', 'max']) files[`${s}/access_pattern/${r}/${m}`] = '0\n';
  }
  for (const [rel, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(admin, rel)), { recursive: true });
    fs.writeFileSync(path.join(admin, rel), text);
  }
  return { sysRoot, admin, ctx };
}

const read = (p: string): string => fs.readFileSync(p, 'utf8').trim();

/** The pid of a process that has just exited (and been reaped). */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', '0']);
  expect(r.status).toBe(0);
  return r.pid;
}

describe('openDamon refuses', () => {
  it('where there is no DAMON sysfs (the 6.1 capture): ENOTSUP, and damonAvailable says why', () => {
    const sysRoot = path.join(sysfsFixtures, 'qemu-cxl-expander-6.1');
    expect(errorCode(() => openDamon(process.pid, { sysRoot }))).toBe('ENOTSUP');
    expect(damonAvailable(sysRoot)).toEqual({ ok: false, why: expect.stringMatching(/kernel\/mm\/damon\/admin is absent/) });
    expect(errorCode(() => openDamon(process.pid, { sysRoot: path.join(tmp, 'nothing') }))).toBe('ENOTSUP');
  });

  it('the 6.12 capture (DAMON sysfs, no kdamond) is usable', () => {
    expect(damonAvailable(path.join(sysfsFixtures, 'qemu-cxl-expander-6.12'))).toEqual({ ok: true });
  });

  it('when kdamonds exist already: EBUSY, and nothing of theirs is written', () => {
    const t = tree(1, 'vaddr fvaddr paddr');
    const before = read(path.join(t.ctx, 'schemes/0/action'));
    const e = thrown(() => openDamon(process.pid, { sysRoot: t.sysRoot }));
    expect(e).toBeInstanceOf(HmsdkError);
    expect((e as HmsdkError).code).toBe('EBUSY');
    expect(e.message).toMatch(/1 kdamond\(s\) already configured.*echo 0 >/);
    expect(read(path.join(t.admin, 'kdamonds/nr_kdamonds'))).toBe('1');
    expect(read(path.join(t.ctx, 'schemes/0/action'))).toBe(before);
    expect(damonAvailable(t.sysRoot)).toEqual({ ok: false, why: expect.stringMatching(/already configured/) });
  });

  it('a kernel without the vaddr operations: ENOTSUP, and the kdamond it created is removed', () => {
    const t = tree(0, 'paddr');
    const e = thrown(() => openDamon(process.pid, { sysRoot: t.sysRoot }));
    expect([(e as HmsdkError).code, e.message]).toEqual(['ENOTSUP', expect.stringMatching(/lacks the vaddr operations \(avail_operations: paddr/)]);
    expect(read(path.join(t.admin, 'kdamonds/nr_kdamonds'))).toBe('0');
  });

  it('a pid that is gone: ESRCH, before anything is written', () => {
    const t = tree(0, 'vaddr paddr');
    const e = thrown(() => openDamon(deadPid(), { sysRoot: t.sysRoot }));
    expect((e as HmsdkError).code).toBe('ESRCH');
    expect(read(path.join(t.admin, 'kdamonds/nr_kdamonds'))).toBe('0');
  });

  it('bad arguments: TypeError / RangeError naming them, before sysfs is looked at', () => {
    const sysRoot = path.join(tmp, 'nothing'); // would be ENOTSUP
    for (const pid of ['1', undefined, 1n, null]) expect(errorCode(() => openDamon(pid as never, { sysRoot })), String(pid)).toBe('TypeError');
    for (const pid of [0, -1, 1.5, NaN, Infinity, 2 ** 22 + 1]) expect(errorCode(() => openDamon(pid, { sysRoot })), String(pid)).toBe('RangeError');
    expect(thrown(() => openDamon(0)).message).toMatch(/^pid must be an integer in 1\.\.4194304, got number 0/);
    const bad: [object, string, RegExp][] = [
      [{ sampleUs: 0 }, 'RangeError', /opts\.sampleUs/],
      [{ sampleUs: '5000' }, 'TypeError', /opts\.sampleUs/],
      [{ sampleUs: 10_000, aggrUs: 5000 }, 'RangeError', /opts\.aggrUs must be >= opts\.sampleUs/],
      [{ minRegions: 2 }, 'RangeError', /opts\.minRegions/],
      [{ minRegions: 20, maxRegions: 10 }, 'RangeError', /opts\.maxRegions must be an integer in 20\.\./],
      [{ sysRoot: 5 }, 'TypeError', /opts\.sysRoot/],
      [{ samplesUs: 5 }, 'TypeError', /opts\.samplesUs is not an option/],
    ];
    for (const [opts, code, re] of bad) {
      const e = thrown(() => openDamon(process.pid, { sysRoot, ...opts }));
      expect([e.name, e.message], JSON.stringify(opts)).toEqual([code, expect.stringMatching(re)]);
    }
    expect(errorCode(() => openDamon(process.pid, 'x' as never))).toBe('TypeError');
  });
});

describe('on a tree that takes the writes', () => {
  it('writes the whole configuration (every access-pattern max), reads the regions, and close() undoes it', async () => {
    const t = tree(0, 'vaddr fvaddr paddr');
    const m = openDamon(process.pid, { sysRoot: t.sysRoot, sampleUs: 2000, aggrUs: 50_000, maxRegions: 500 });
    expect(m.kind).toBe('damon');
    const at = (rel: string): string => read(path.join(t.ctx, rel));
    expect(read(path.join(t.admin, 'kdamonds/nr_kdamonds'))).toBe('1');
    expect(read(path.join(t.admin, 'kdamonds/0/contexts/nr_contexts'))).toBe('1');
    expect(
      ['operations', 'monitoring_attrs/intervals/sample_us', 'monitoring_attrs/intervals/aggr_us', 'monitoring_attrs/intervals/update_us'].map(at),
    ).toEqual(['vaddr', '2000', '50000', '1000000']);
    expect(['monitoring_attrs/nr_regions/min', 'monitoring_attrs/nr_regions/max', 'targets/nr_targets', 'targets/0/pid_target'].map(at)).toEqual(['10', '500', '1', String(process.pid)]);
    expect(['schemes/nr_schemes', 'schemes/0/action'].map(at)).toEqual(['1', 'stat']);
    const pattern = ['sz', 'nr_accesses', 'age'].map((r) => [at(`schemes/0/access_pattern/${r}/min`), at(`schemes/0/access_pattern/${r}/max`)]);
    expect(pattern).toEqual([
      ['0', '18446744073709551615'],
      ['0', '4294967295'],
      ['0', '4294967295'],
    ]);
    expect(read(path.join(t.admin, 'kdamonds/0/state'))).toBe('on');

    // What the kernel leaves after update_schemes_tried_regions; 25 samples per aggregation here.
    const tried = path.join(t.ctx, 'schemes/0/tried_regions');
    const region = (n: number, start: number, end: number, nr: number): void => {
      fs.mkdirSync(path.join(tried, String(n)));
      for (const [f, v] of Object.entries({ start, end, nr_accesses: nr, age: 3 })) fs.writeFileSync(path.join(tried, String(n), f), `${v}\n`);
    };
    region(0, 0x7f0000100000, 0x7f0000200000, 25);
    region(1, 0x55d000000000, 0x55d000021000, 0);
    region(2, 0x7f0000000000, 0x7f0000100000, 5);
    const regions = await m.sample();
    expect(read(path.join(t.admin, 'kdamonds/0/state'))).toBe('update_schemes_tried_regions');
    expect(regions).toEqual([
      { start: 0x55d000000000, end: 0x55d000021000, rate: 0 },
      { start: 0x7f0000000000, end: 0x7f0000100000, rate: 0.2 },
      { start: 0x7f0000100000, end: 0x7f0000200000, rate: 1 },
    ]);

    fs.writeFileSync(path.join(tried, '1/end'), '18446744073709551615\n');
    await expect(m.sample()).rejects.toMatchObject({ code: 'ECONFIG', message: expect.stringMatching(/not an integer below 2\^53/) });

    m.close();
    expect(read(path.join(t.admin, 'kdamonds/0/state'))).toBe('off');
    expect(read(path.join(t.admin, 'kdamonds/nr_kdamonds'))).toBe('0');
    m.close();
    await expect(m.sample()).rejects.toMatchObject({ code: 'ECLOSED' });
  });

  it('a kdamond that stopped with its target: sample() rejects with ESRCH; close() then only removes it', async () => {
    const t = tree(0, 'vaddr');
    const target = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
    const m = openDamon(target.pid!, { sysRoot: t.sysRoot });
    await new Promise((resolve) => target.once('exit', resolve).kill('SIGKILL'));
    fs.writeFileSync(path.join(t.admin, 'kdamonds/0/state'), 'off\n'); // what the kernel shows then
    await expect(m.sample()).rejects.toMatchObject({ code: 'ESRCH' });
    m.close();
    expect(read(path.join(t.admin, 'kdamonds/0/state'))).toBe('off');
    expect(read(path.join(t.admin, 'kdamonds/nr_kdamonds'))).toBe('0');
  });
});
