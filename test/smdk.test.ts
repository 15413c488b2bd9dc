// The SMDK-compatible s_* API on this machine's real topology.
import * as fs from 'node:fs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  SMDK_MEM_EXMEM,
  SMDK_MEM_NORMAL,
  s_calloc,
  s_disable_node_interleave,
  s_enable_node_interleave,
  s_free,
  s_free_node,
  s_get_memsize_available,
  s_get_memsize_node_available,
  s_get_memsize_node_total,
  s_get_memsize_total,
  s_get_memsize_used,
  s_malloc,
  s_malloc_node,
  s_posix_memalign,
  s_realloc,
  s_stats_node_print,
  s_stats_print,
  where,
  stats,
} from '../src/index';
import { topology } from '../src/topology/current';
import { errorCode } from './helpers/error-code';

const node0 = () => topology().normalNodes[0] as number;

function meminfo(node: number, key: string): number {
  const text = fs.readFileSync(`/sys/devices/system/node/node${node}/meminfo`, 'utf8');
  const m = new RegExp(`${key}:\\s+(\\d+) kB`).exec(text);
  return Number(m![1]) * 1024;
}

const code = errorCode;

afterEach(() => s_disable_node_interleave());

describe('s_malloc family', () => {
  it('constants are the type names', () => {
    expect(SMDK_MEM_NORMAL).toBe('NORMAL');
    expect(SMDK_MEM_EXMEM).toBe('EXMEM');
  });

  it('s_malloc / s_free account exactly in s_get_memsize_used', () => {
    const before = s_get_memsize_used('NORMAL');
    const a = s_malloc('NORMAL', 1000);
    const b = s_malloc('NORMAL', 3 << 20);
    expect(s_get_memsize_used('NORMAL') - before).toBe(1000 + (3 << 20));
    s_free(a);
    s_free(b);
    expect(s_get_memsize_used('NORMAL')).toBe(before);
  });

  it('s_calloc zeroes, also over reused memory', () => {
    const a = s_malloc('NORMAL', 512);
    a.fill(0xff);
    s_free(a);
    const c = s_calloc('NORMAL', 16, 32);
    expect(c.length).toBe(512);
    expect(c.every((x) => x === 0)).toBe(true);
    s_free(c);
    expect(code(() => s_calloc('NORMAL', 2 ** 40, 2 ** 20))).toBe('RangeError');
  });

  it('s_realloc keeps the contents, frees the old buffer, grows and shrinks', () => {
    const a = s_malloc('NORMAL', 100);
    a.fill(7);
    const b = s_realloc('NORMAL', a, 100_000);
    expect(a.length).toBe(0); // old one freed (detached)
    expect(b.length).toBe(100_000);
    expect(b.subarray(0, 100).every((x) => x === 7)).toBe(true);
    const c = s_realloc('NORMAL', b, 10);
    expect([...c]).toEqual(new Array(10).fill(7));
    expect(code(() => s_realloc('NORMAL', b, 10))).toBe('EFREED');
    s_free(c);
    const d = s_realloc('NORMAL', null, 64);
    expect(d.length).toBe(64);
    s_free(d);
  });

  it('s_posix_memalign: size, free through the view, alignment argument checked', () => {
    const before = s_get_memsize_used('NORMAL');
    for (const align of [8, 16, 64, 4096]) {
      const b = s_posix_memalign('NORMAL', align, 100);
      expect(b.length).toBe(100);
      s_free(b);
    }
    expect(s_get_memsize_used('NORMAL')).toBe(before);
    expect(code(() => s_posix_memalign('NORMAL', 24, 100))).toBe('RangeError');
    expect(code(() => s_posix_memalign('NORMAL', 4, 100))).toBe('RangeError');
    expect(code(() => s_posix_memalign('NORMAL', 1 << 21, 100))).toBe('RangeError');
  });

  it('s_posix_memalign of a small block charges its size and maps nothing of its own (a 4096-aligned 64-byte block)', () => {
    const used = s_get_memsize_used('NORMAL');
    const large = stats().sdk.largeBytes;
    const bufs = Array.from({ length: 64 }, () => s_posix_memalign('NORMAL', 4096, 64));
    expect(s_get_memsize_used('NORMAL') - used).toBe(64 * 64);
    expect(stats().sdk.largeBytes).toBe(large);
    for (const b of bufs) s_free(b);
    expect(s_get_memsize_used('NORMAL')).toBe(used);
  });

  it('s_malloc_node binds to the node and checks the node belongs to the type', () => {
    const n = node0();
    const b = s_malloc_node('NORMAL', 1 << 20, n);
    b.fill(1);
    expect(where(b).nodes[n]).toBe(256);
    s_free_node('NORMAL', b);
    expect(code(() => s_malloc_node('EXMEM', 4096, n))).toBe(topology().exmemNodes.includes(n) ? undefined : 'ENODEV');
    expect(code(() => s_malloc_node('NORMAL', 4096, 999))).toBe('ENODEV');
  });

  it('type is checked', () => {
    expect(code(() => s_malloc('DRAM' as never, 10))).toBe('TypeError');
    expect(code(() => s_malloc('NORMAL', 0))).toBe('RangeError');
    expect(code(() => s_get_memsize_total('cxl' as never))).toBe('TypeError');
  });
});

describe('sizes', () => {
  it('total and available come from the nodes\' meminfo', () => {
    const t = topology();
    const total = t.normalNodes.reduce((a, n) => a + meminfo(n, 'MemTotal'), 0);
    expect(s_get_memsize_total('NORMAL')).toBe(total);
    const avail = s_get_memsize_available('NORMAL');
    const freeNow = t.normalNodes.reduce((a, n) => a + meminfo(n, 'MemFree'), 0);
    expect(Math.abs(avail - freeNow)).toBeLessThan(256 << 20); // the machine is not idle
    const n = node0();
    expect(s_get_memsize_node_total('NORMAL', n)).toBe(meminfo(n, 'MemTotal'));
    expect(s_get_memsize_node_available('NORMAL', n)).toBeGreaterThan(0);
    expect(code(() => s_get_memsize_node_total('NORMAL', 999))).toBe('ENODEV');
  });

  it('an empty EXMEM tier has total 0 (a value, not an error)', () => {
    if (topology().exmemNodes.length > 0) {
      expect(s_get_memsize_total('EXMEM')).toBeGreaterThan(0);
    } else {
      expect(s_get_memsize_total('EXMEM')).toBe(0);
      expect(s_get_memsize_used('EXMEM')).toBe(0);
    }
  });
});

describe('printing', () => {
  it('s_stats_print and s_stats_node_print print the numbers in the unit', () => {
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const b = s_malloc('NORMAL', 3 << 20);
    try {
      const text = s_stats_print('M');
      expect(text).toMatch(/^type\s+total\(M\)/);
      const used = s_get_memsize_used('NORMAL') / 2 ** 20;
      expect(text).toContain(used.toFixed(1));
      const nodes = s_stats_node_print('k');
      expect(nodes.split('\n').filter(Boolean).length).toBe(1 + topology().nodes.length);
      expect(spy).toHaveBeenCalledWith(text);
      expect(code(() => s_stats_print('T'))).toBe('TypeError');
    } finally {
      spy.mockRestore();
      s_free(b);
    }
  });
});

describe('node interleave', () => {
  it('s_enable_node_interleave switches s_malloc to interleave over the listed nodes of the type', () => {
    const n = node0();
    s_enable_node_interleave(String(n));
    const b = s_malloc('NORMAL', 1 << 20);
    b.fill(1);
    expect(where(b).nodes[n]).toBe(256);
    s_free(b);
    const maps = fs.readFileSync('/proc/self/numa_maps', 'utf8');
    // One node: the engine's weighted plan degenerates to MPOL_PREFERRED on it
    // (multi-node ratios are checked inside the VM, test/numa/weighted.test.ts).
    expect(maps).toMatch(new RegExp(`prefer:${n} `));
    expect(code(() => s_enable_node_interleave([]))).toBe('RangeError');
    expect(code(() => s_enable_node_interleave('0-x'))).not.toBeUndefined();
    expect(code(() => s_enable_node_interleave([999]))).toBe('ENODEV');
  });
});
