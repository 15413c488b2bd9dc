// The CLI inside the VM: EXMEM nodes show up, and a process's EXMEM usage
// after it allocated there (numa_maps of another process).
import { spawn, spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { topology } from '../../src/topology/current';
import { requireVm } from './helpers';

const root = path.join(__dirname, '../..');
const bin = path.join(root, 'bin/hmsdk.js');

function hmsdk(...args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('hmsdk CLI in the VM', () => {
  beforeAll(() => requireVm());

  it('stats and topology show the EXMEM node', () => {
    const exmem = topology().exmemNodes;
    const s = JSON.parse(hmsdk('stats', '--json').out);
    expect(s.tiers.EXMEM.nodes).toEqual(exmem);
    expect(s.tiers.EXMEM.total).toBeGreaterThan(0);
    const t = hmsdk('topology');
    expect(t.code).toBe(0);
    expect(t.out).toMatch(new RegExp(`node ${exmem[0]} EXMEM: CPU-less`));
    const text = hmsdk('stats').out;
    expect(text).toMatch(new RegExp(`^${exmem[0]}\\s+EXMEM`, 'm'));
  });

  it('stats -p shows a process\'s EXMEM usage after it allocated 64 MiB there', async () => {
    const child = spawn(
      process.execPath,
      ['-e', `const hm=require(${JSON.stringify(root)}); const b=hm.s_malloc('EXMEM', 64<<20); b.fill(1); console.log('ready'); setTimeout(()=>{}, 60000);`],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    try {
      await new Promise<void>((resolve, reject) => {
        child.stdout.on('data', (d: Buffer) => d.toString().includes('ready') && resolve());
        child.on('exit', (c) => reject(new Error(`child exited ${c}`)));
      });
      const r = hmsdk('stats', '-p', String(child.pid), '--json');
      expect(r.code, r.err).toBe(0);
      const p = JSON.parse(r.out);
      expect(p.tiers.EXMEM).toBeGreaterThanOrEqual(64 << 20);
      const text = hmsdk('stats', '-p', String(child.pid)).out;
      expect(text).toMatch(/^tier\s+EXMEM\s+6\d(\.\d)?Mi/m);
    } finally {
      child.kill();
    }
  });
});
