// The TypeScript half of the preload contract (src/preload/conf.ts):
// buildConf is pure (options + topology in, HMSDK_CONF out) and throws a
// typed PreloadConfError naming the option, never the CLI's UsageError;
// `hmsdk run` maps it to a usage error (exit 2) with the same message.
// The keys themselves are pinned against the C parser in contract.test.ts.
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../src/cli/args';
import { HmsdkError } from '../src/errors';
import { buildConf, PreloadConfError, type RunOptions } from '../src/preload/conf';
import { readTopology } from '../src/topology';
import { hmsdk, sysfsFixtures } from './helpers/cli';
import { thrown } from './helpers/error-code';

const two = readTopology({ sysRoot: resolve(sysfsFixtures, 'two-socket-cxl'), env: {} }); // NORMAL 0,1; EXMEM 2,3
const one = readTopology({ sysRoot: resolve(sysfsFixtures, 'one-node'), env: {} });


describe('buildConf', () => {
  it('resolves a tier to its nodes (default exmem, bind)', () => {
    expect(buildConf({}, two)).toMatchObject({ conf: 'nodes=2,3,policy=bind', nodes: [2, 3] });
    expect(buildConf({ tier: 'normal', policy: 'interleave' }, two)).toMatchObject({ conf: 'nodes=0,1,policy=interleave', nodes: [0, 1] });
  });
  it('weights: explicit pairs, or the policy engine over every memory node', () => {
    expect(buildConf({ weights: { 0: 3, 2: 1 } }, two).conf).toBe('weights=0:3,2:1');
    const auto = buildConf({ weights: 'auto' }, two);
    expect(auto.nodes).toEqual([0, 1, 2, 3]);
    expect(auto.conf).toMatch(/^weights=0:\d+,1:\d+,2:\d+,3:\d+$/);
    expect(auto.notes.join('\n')).toMatch(/weights from the policy engine/);
  });
  it('passes the other keys through', () => {
    const o: RunOptions = { nodes: [1], minSize: 8192, cap: 1 << 30, overflow: 'fail', populate: true, reserve: 1 << 26, mapsMin: 65536, expect: 90, stats: true, statsJson: true, verbose: 2 };
    expect(buildConf(o, two).conf).toBe('threshold=8192,nodes=1,policy=bind,cap=1073741824,overflow=fail,populate=1,reserve=67108864,maps_min=65536,expect=90,stats=exit,stats_format=json,verbose=2');
    expect(buildConf({ nodes: [1], maps: false, expect: 0 }, two).conf).toBe('nodes=1,policy=bind,maps=0,expect=0');
  });
  const bad: [RunOptions, keyof RunOptions, RegExp][] = [
    [{ tier: 'exmem', nodes: [2] }, 'tier', /^--tier and --nodes are exclusive$/],
    [{ weights: { 0: 1 }, policy: 'bind' }, 'weights', /^--weighted conflicts with --policy bind$/],
    [{ weights: { 0: 1, 2: 1 }, nodes: [0, 3] }, 'nodes', /^--nodes and --weighted name different nodes$/],
    [{ nodes: [0], maps: false, mapsMin: 4096 }, 'mapsMin', /^--maps-min conflicts with --no-maps$/],
    [{ nodes: [0], expect: 101 }, 'expect', /^--expect takes a percentage 0..100, got 101$/],
    [{ nodes: [0], cap: 0 }, 'cap', /^--cap must be positive$/],
    [{ nodes: [0], statsFile: '/tmp/a,b' }, 'statsFile', /^--stats-file: the path must not contain a comma$/],
  ];
  it.each(bad)('%j: a PreloadConfError (a RangeError) naming option %s, not a UsageError', (opts, option, message) => {
    const e = thrown(() => buildConf(opts, two));
    expect(e).toBeInstanceOf(PreloadConfError);
    expect(e).toBeInstanceOf(RangeError);
    expect(e).not.toBeInstanceOf(UsageError);
    expect((e as PreloadConfError).option).toBe(option);
    expect((e).message).toMatch(message);
  });
  it('a missing tier or node is HmsdkError ENODEV', () => {
    expect((thrown(() => buildConf({ tier: 'exmem' }, one)) as HmsdkError).code).toBe('ENODEV');
    expect((thrown(() => buildConf({ nodes: [5] }, two)) as HmsdkError).code).toBe('ENODEV');
  });
});

describe('hmsdk run maps PreloadConfError to a usage error', () => {
  it('exit 2, the message on one line', () => {
    const r = hmsdk('run', '--sys-root', resolve(sysfsFixtures, 'two-socket-cxl'), '--tier', 'exmem', '--nodes', '2', '--print-env');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--tier and --nodes are exclusive/);
    expect(r.err.trim().split('\n')).toHaveLength(1);
  });
  it('--expect outside 0..100: exit 2', () => {
    const r = hmsdk('run', '--sys-root', resolve(sysfsFixtures, 'two-socket-cxl'), '--nodes', '0', '--expect', '120', '--print-env');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--expect takes a percentage 0..100, got '120'/);
  });
  it('a missing tier stays a runtime error: exit 1', () => {
    const r = hmsdk('run', '--sys-root', resolve(sysfsFixtures, 'one-node'), '--tier', 'exmem', '--print-env');
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/ENODEV/);
  });
});
