// The shared store inside the VM (npm run test:numa, kernels 6.1 and 6.12):
// one object on the CPU-less EXMEM node shared by several processes.
//
// What this proves, by the kernel's word (nodeN/meminfo, /proc/PID/numa_maps,
// move_pages): a 64 MiB object created and sealed on EXMEM by one process and
// got by three others has identical bytes everywhere and its pages on the
// EXMEM node in every reader's numa_maps; the node's MemUsed grows by one
// copy, not four; a write through a reader's view changes neither what the
// next reader sees nor crashes the writer; a holder killed with SIGKILL and
// a delete give the node's memory back within seconds; a subscriber sees
// created, sealed, deleted in order; an object larger than the node is
// ENOMEM, not an OOM kill.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type Store, type StoreEvent } from '../../src/index';
import { topology } from '../../src/topology/current';
import { StoreChild } from '../helpers/store';
import { vmTierNodes } from './helpers';

const MiB = 2 ** 20;
const SIZE = 64 * MiB;
const PAGES = SIZE / 4096;
const dir = '/tmp/hmsdk-store-vm';
const env = { ...process.env, HMSDK_STORE_DIR: dir };
const children: StoreChild[] = [];

function meminfo(node: number, field: string): number {
  const t = fs.readFileSync(`/sys/devices/system/node/node${node}/meminfo`, 'utf8');
  return Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(t)?.[1]) * 1024;
}
const memUsed = (node: number): number => meminfo(node, 'MemUsed');
/** Shared memory (memfd, tmpfs) pages on the node: the object's own counter, unlike MemUsed, which other processes' memory spilling onto the node moves too. */
const shmem = (node: number): number => meminfo(node, 'Shmem');

function child(): StoreChild {
  const c = new StoreChild(env);
  children.push(c);
  return c;
}

function expectedHash(seed: number): string {
  const b = Buffer.alloc(SIZE);
  for (let i = 0; i < SIZE; i += 4096) b.fill((i / 4096 + seed) & 255, i, i + 4096);
  return createHash('sha256').update(b).digest('hex');
}

async function until(what: string, cond: () => boolean | Promise<boolean>, ms: number, detail: () => string = () => ''): Promise<number> {
  const t0 = Date.now();
  while (!(await cond())) {
    if (Date.now() - t0 > ms) throw new Error(`timed out after ${ms} ms waiting for ${what} ${detail()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return Date.now() - t0;
}

describe('store on EXMEM', () => {
  let exmem: number;
  let store: Store;
  const events: StoreEvent[] = [];

  beforeAll(async () => {
    exmem = vmTierNodes().exmem;
    process.env.HMSDK_STORE_DIR = dir;
    // This process manages the store (it connects first) and subscribes.
    store = await connect({ name: 'vm/emb', tier: 'EXMEM' });
    expect(store.serving).toBe(true);
    store.subscribe({ prefix: 'emb' }, (e) => events.push(e));
  });

  afterAll(async () => {
    await Promise.all(children.map((c) => c.kill()));
    await store.disconnect();
  });

  it('64 MiB on EXMEM, three readers: identical bytes, pages on the CPU-less node, the node holds one copy; CoW writes stay private; SIGKILL + delete give the memory back', async () => {
    const base = memUsed(exmem);
    const baseShmem = shmem(exmem);
    const creator = child();
    await creator.ok('connect', { options: { name: 'vm/emb', tier: 'EXMEM' } });
    const made = await creator.ok('create', { key: 'emb', size: SIZE, seed: 7 });
    expect(made.where).toEqual({ [exmem]: PAGES }); // move_pages in the creator
    await creator.ok('seal', { key: 'emb' });
    const want = expectedHash(7);
    const withObject = memUsed(exmem);

    const readers = [child(), child(), child()];
    for (const r of readers) await r.ok('connect', { options: { name: 'vm/emb' } });
    const got = [];
    for (const r of readers) got.push(await r.ok('get', { key: 'emb' }));
    for (const g of got) {
      expect(g.hash).toBe(want);
      expect(g.pages).toEqual({ [exmem]: PAGES }); // each reader's /proc/self/numa_maps
      expect(g.where).toEqual({ [exmem]: PAGES }); // move_pages in each reader
    }
    const grown = memUsed(exmem) - base;
    const byReaders = memUsed(exmem) - withObject;
    // The object's pages are the node's shared memory (Shmem): exactly one
    // copy of it, whatever else the node's MemUsed does meanwhile (other
    // processes' pages come and go there too).
    const shared = shmem(exmem) - baseShmem;
    console.log(
      `EXMEM node ${exmem}: Shmem +${(shared / MiB).toFixed(1)} MiB, MemUsed +${(grown / MiB).toFixed(1)} MiB for one 64 MiB object and three readers (the readers: ${(byReaders / MiB).toFixed(1)} MiB)`,
    );
    expect(shared).toBeGreaterThanOrEqual(SIZE - MiB);
    expect(shared).toBeLessThan(SIZE + 8 * MiB); // one copy, not four
    expect(byReaders).toBeLessThan(8 * MiB); // three readers add no copy

    // A write through reader 0's view: reader 0 is alive and sees it; a new reader does not.
    const w = await readers[0]!.ok('write', { key: 'emb' });
    expect(w.hash).not.toBe(want);
    const late = child();
    await late.ok('connect', { options: { name: 'vm/emb' } });
    expect((await late.ok('get', { key: 'emb' })).hash).toBe(want);
    expect((await readers[1]!.ok('get', { key: 'emb' })).hash).toBe(want);

    // Reader 2 dies holding the object; the others release; delete.
    await readers[2]!.kill('SIGKILL');
    for (const r of [readers[0]!, readers[1]!, late]) expect((await r.ok('release', { key: 'emb' })).length).toBe(0);
    const info = await store.stat('emb');
    expect(info.holders).toEqual([]);
    const before = { used: memUsed(exmem), shmem: shmem(exmem) };
    expect(before.shmem).toBeGreaterThanOrEqual(SIZE); // the object is the node's shared memory
    await store.delete('emb');
    // The object's pages leave the node: its Shmem drops by the object.
    const now = (): string => `(Shmem ${before.shmem} -> ${shmem(exmem)}, MemUsed ${before.used} -> ${memUsed(exmem)})`;
    const back = await until('the node memory to return', () => before.shmem - shmem(exmem) >= SIZE, 10_000, now);
    console.log(
      `EXMEM memory back ${back} ms after delete (Shmem -${((before.shmem - shmem(exmem)) / MiB).toFixed(1)} MiB, MemUsed -${((before.used - memUsed(exmem)) / MiB).toFixed(1)} MiB)`,
    );
    await until('the deleted event', () => events.length >= 3, 5000);
    expect(events.map((e) => `${e.type}:${e.key}`)).toEqual(['created:emb', 'sealed:emb', 'deleted:emb']);
    expect(events[0]!.seq).toBeLessThan(events[1]!.seq);
    expect(events[1]!.seq).toBeLessThan(events[2]!.seq);
  });

  it('an object larger than the EXMEM node is ENOMEM; the creator lives and the node is unchanged', async () => {
    const cap = topology().nodes.find((n) => n.id === exmem)!.memTotal;
    const base = memUsed(exmem);
    const creator = child();
    await creator.ok('connect', { options: { name: 'vm/emb', tier: 'EXMEM' } });
    const r = await creator.call('create', { key: 'huge', size: Math.ceil((cap + 256 * MiB) / 4096) * 4096, seed: 0 });
    expect(r.ok).toBe(false);
    expect(r.code).toBe('ENOMEM');
    expect(((await creator.ok('list')).objects as { key: string }[]).filter((o) => o.key === 'huge')).toEqual([]);
    expect(Math.abs(memUsed(exmem) - base)).toBeLessThan(16 * MiB);
    expect(creator.proc.exitCode).toBeNull();
  });
});
