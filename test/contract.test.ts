/**
 * Contract tests: one mechanism, one rule, wherever it runs.
 *
 * - The reserve rule: the TypeScript policy engine (src/policy/capacity.ts)
 *   and the native core (native/core/hm_reserve.h, which the addon and the
 *   preload library both compile) give the same bytes for every MemTotal.
 * - The weighted stripe: the engine's planner (src/policy/stripe.ts) and the
 *   core's layout (native/core/hm_stripe.c, used by the addon's stripes and
 *   the preload's `weights=`) give the same unit and the same segments.
 * - HMSDK_CONF: every key `hmsdk run` writes is in the preload's key table
 *   and accepted by the preload's own parser (compiled into the addon as
 *   confCheck); hostile values are refused by that parser; docs/preload.md
 *   documents every key of the table.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildConf, type RunOptions } from '../src/preload/conf';
import { native } from '../src/alloc/native';
import { nodeReserve } from '../src/policy/capacity';
import { stripeLayout, stripeSegments } from '../src/policy/stripe';
import { readTopology } from '../src/topology';
import { rng } from './helpers/rng';

const MiB = 2 ** 20;
const GiB = 2 ** 30;
const addon = native();

describe('contract: the reserve rule', () => {
  it('TypeScript and the native core agree for MemTotal from 0 to 16 TiB', () => {
    const next = rng(7);
    const totals = [0, 1, 64 * MiB, 3200 * MiB, 3200 * MiB + 49, 3200 * MiB + 50, GiB, 24 * GiB, 2 ** 44];
    for (let i = 0; i < 2000; i++) totals.push(Math.floor(next() * 2 ** 44));
    const mismatches = totals.filter((t) => addon.reserveFor(t) !== nodeReserve({ memTotal: t })).slice(0, 5);
    expect(mismatches).toEqual([]);
  });
});

describe('contract: the weighted stripe', () => {
  function nativeLayout(size: number, weights: number[], stripeBytes: number, pageSize: number) {
    const r = addon.stripeLayout(size, weights, stripeBytes, pageSize);
    if (typeof r === 'number') throw new Error(`native stripeLayout refused (${r})`);
    const segments = [];
    for (let i = 1; i < r.length; i += 3) segments.push({ offset: r[i], length: r[i + 1], node: r[i + 2] });
    return { unit: r[0], segments };
  }

  it('the same unit and segments for many sizes, weights and units', () => {
    const next = rng(42);
    const problems: string[] = [];
    for (let t = 0; t < 600 && problems.length < 5; t++) {
      const n = 1 + Math.floor(next() * 4);
      const weights = Array.from({ length: n }, () => 1 + Math.floor(next() * (next() < 0.2 ? 255 : 8)));
      const nodes = Array.from({ length: n }, (_, i) => i); // node index = node id here
      const size =
        t % 3 === 0 ? 1 + Math.floor(next() * 4 * MiB) : t % 3 === 1 ? Math.floor(next() * 512) * 4096 + 4096 : 1 + Math.floor(next() * 8 * GiB);
      const stripeBytes = next() < 0.3 ? (1 + Math.floor(next() * 64)) * 4096 : 0;
      const opts = stripeBytes ? { stripeBytes } : {};
      const ts = stripeSegments(size, nodes, weights, opts);
      const tsUnit = stripeLayout(size, nodes, weights, opts).unit;
      const c = nativeLayout(size, weights, stripeBytes, 4096);
      const label = `size ${size} weights ${weights.join(':')} stripe ${stripeBytes}`;
      if (c.unit !== tsUnit) problems.push(`${label}: unit ${c.unit} vs ${tsUnit}`);
      else if (JSON.stringify(c.segments) !== JSON.stringify(ts)) problems.push(`${label}: segments differ (${c.segments.length} vs ${ts.length})`);
    }
    expect(problems).toEqual([]);
  });

  it('the core refuses what the engine refuses (weights outside 1..255, no nodes)', () => {
    expect(addon.stripeLayout(4096, [0], 0, 4096)).toBeLessThan(0);
    expect(addon.stripeLayout(4096, [256], 0, 4096)).toBeLessThan(0);
    expect(addon.stripeLayout(4096, [], 0, 4096)).toBeLessThan(0);
    expect(() => stripeSegments(4096, [0], [0])).toThrow(RangeError);
    expect(() => stripeSegments(4096, [0], [256])).toThrow(RangeError);
  });
});

describe('contract: HMSDK_CONF keys', () => {
  const fixture = path.join(__dirname, 'fixtures', 'sysfs', 'cxl-expander');
  const topo = readTopology({ sysRoot: fixture });
  const tableKeys = addon.confKeys().map((k) => k.name);

  const variants: RunOptions[] = [
    { tier: 'exmem' },
    { nodes: [0], policy: 'preferred' },
    { nodes: [0, 1], policy: 'interleave' },
    { weights: { 0: 3, 1: 1 }, stripe: 2 * MiB },
    { weights: 'auto' },
    {
      tier: 'normal',
      minSize: 64 * 1024,
      cap: GiB,
      overflow: 'interleave',
      populate: true,
      reserve: 128 * MiB,
      stats: true,
      statsFile: '/tmp/hmsdk-%p.stats',
      statsJson: true,
      verbose: 2,
      mapsMin: 64 * 1024,
      expect: 80,
    },
    { tier: 'exmem', overflow: 'fail', maps: false, expect: 0 },
    { tier: 'exmem', overflow: 'fallback' },
    { tier: 'exmem', policy: 'preferred', granule: 2 * MiB, expect: 0 }, // hmsdk tier
  ];

  it('every configuration hmsdk run builds is accepted by the preload parser, key by key in its table', () => {
    const used = new Set<string>();
    for (const v of variants) {
      const { conf } = buildConf(v, topo);
      expect(addon.confCheck(conf), conf).toBeNull();
      for (const m of conf.matchAll(/(?:^|,)([a-z_]+)=/g)) used.add(m[1] as string);
    }
    for (const k of used) expect(tableKeys, `key ${k}`).toContain(k);
    // the keys hmsdk run and hmsdk tier never write: an alias and four preload-only settings
    expect(tableKeys.filter((k) => !used.has(k)).sort()).toEqual(['cache', 'expect_min', 'fallback_nodes', 'min_size', 'stats_signal']);
  });

  it.each(
    [
    ['weights=0:2,stripe=9223372036854775808', /bad value '9223372036854775808' for key 'stripe'/],
    ['weights=0:2,stripe=1000', /bad value '1000' for key 'stripe'/],
    ['nodes=0,threshold=99999999999999999999999', /bad value .* for key 'threshold'/],
    ['nodes=0,cap=17T', null],
    ['nodes=0,cap=2P', /bad value '2P' for key 'cap'/],
    ['nodes=0,reserve=18446744073709551615', /bad value .* for key 'reserve'/],
    ['nodes=0,verbose=3', /bad value '3' for key 'verbose'/],
    ['weights=0:0', /bad value '0:0' for key 'weights'/],
    ['nodes=0-1023,policy=interleave', /bad value '0-1023' for key 'nodes'/],
    ['nodes=0,stats_file=' + 'x'.repeat(400), /bad value .* for key 'stats_file'/],
    ['x'.repeat(5000), /longer than 4095 bytes/],
    ['nodes=0,stripe=4096', /'stripe' needs policy=weighted/],
    ].map(([conf, re]) => ({ conf: conf as string, re: re as RegExp | null, label: (conf as string).length > 60 ? `${(conf as string).slice(0, 40)}… (${(conf as string).length} chars)` : conf })),
  )('the parser decides $label', ({ conf, re }) => {
    const r = addon.confCheck(conf);
    if (re === null) expect(r).toBeNull();
    else expect(r).toMatch(re);
  });

  it('docs/preload.md documents every key of the table', () => {
    const doc = fs.readFileSync(path.join(__dirname, '..', 'docs', 'preload.md'), 'utf8');
    for (const k of tableKeys) expect(doc, `docs/preload.md lacks ${k}`).toMatch(new RegExp('`' + k + '`'));
  });
});
