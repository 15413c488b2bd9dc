// Pure sysfs helpers: list syntax, meminfo, safe readers.
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { formatNodeList, listDir, listDirIfExists, MAX_LIST_ID, parseMeminfo, parseNodeList, readInt, readList, readText } from '../src/topology';

describe('parseNodeList', () => {
  it.each([
    ['0-3,8,10-11', [0, 1, 2, 3, 8, 10, 11]],
    ['0', [0]],
    ['0\n', [0]],
    ['', []],
    ['\n', []],
    ['0-1', [0, 1]],
    ['5', [5]],
    ['0,2,5,7', [0, 2, 5, 7]],
    ['3,1,1', [1, 3]],
    ['4-7,12-15', [4, 5, 6, 7, 12, 13, 14, 15]],
    ['2-2', [2]],
  ])('parses %j', (text, ids) => {
    expect(parseNodeList(text)).toEqual(ids);
  });

  it.each(['0-', '-1', 'a', '3-1', '1,,2', '1 2', ',1', '1,', '0x1', '1-2-3', '0-3:2', `0-${MAX_LIST_ID + 1}`])('rejects %j with RangeError', (text) => {
    expect(() => parseNodeList(text)).toThrow(RangeError);
  });

  it('names the bad element', () => {
    expect(() => parseNodeList('0,x')).toThrow(/"x"/);
  });

  it('rejects a non-string with TypeError', () => {
    expect(() => parseNodeList(3 as unknown as string)).toThrow(TypeError);
  });
});

describe('formatNodeList', () => {
  it.each([
    [[0, 1, 2, 3, 8], '0-3,8'],
    [[], ''],
    [[5, 3, 4, 10], '3-5,10'],
    [[1, 1], '1'],
    [[0, 2, 5, 7], '0,2,5,7'],
    [[0, 1], '0-1'],
  ])('formats %j', (ids, text) => {
    expect(formatNodeList(ids)).toBe(text);
  });

  it.each([[[-1]], [[1.5]], [[Number.NaN]], [[Infinity]]])('rejects %j', (ids) => {
    expect(() => formatNodeList(ids)).toThrow(RangeError);
  });

  it('round-trips with parseNodeList', () => {
    let seed = 12345;
    const rnd = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let k = 0; k < 200; k++) {
      const ids = [...new Set(Array.from({ length: Math.floor(rnd() * 20) }, () => Math.floor(rnd() * 64)))].sort((a, b) => a - b);
      expect(parseNodeList(formatNodeList(ids))).toEqual(ids);
    }
  });
});

describe('parseMeminfo', () => {
  it('reads per-node meminfo in bytes', () => {
    const text = ['Node 1 MemTotal:        1015808 kB', 'Node 1 MemFree:          999492 kB', 'Node 1 Active(file):          12 kB', 'Node 1 HugePages_Total:     0', 'Node 1 HugePages_Free:      3', ''].join('\n');
    expect(parseMeminfo(text)).toEqual({
      MemTotal: 1015808 * 1024,
      MemFree: 999492 * 1024,
      'Active(file)': 12 * 1024,
      HugePages_Total: 0,
      HugePages_Free: 3,
    });
  });

  it('reads /proc/meminfo form and skips junk', () => {
    expect(parseMeminfo('MemTotal:       16318256 kB\ngarbage line\nHugepagesize:       2048 kB\n\n')).toEqual({
      MemTotal: 16318256 * 1024,
      Hugepagesize: 2048 * 1024,
    });
  });

  it('gives {} for empty text', () => {
    expect(parseMeminfo('')).toEqual({});
  });
});

describe('safe readers', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hmsdk-sysfs-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'int'), '65536\n');
  writeFileSync(join(dir, 'neg'), '-1\n');
  writeFileSync(join(dir, 'word'), 'true\n');
  writeFileSync(join(dir, 'list'), '0-1,4\n');
  writeFileSync(join(dir, 'badlist'), '0-\n');
  mkdirSync(join(dir, 'sub'));
  writeFileSync(join(dir, 'sub', 'a'), '');

  it('readText returns content or undefined', () => {
    expect(readText(join(dir, 'word'))).toBe('true\n');
    expect(readText(join(dir, 'absent'))).toBeUndefined();
    expect(readText(join(dir, 'int', 'below-a-file'))).toBeUndefined(); // ENOTDIR
  });

  it('readText refuses a directory with ECONFIG naming the path', () => {
    expect(() => readText(join(dir, 'sub'))).toThrow(/sub is a directory, not a regular file/);
  });

  it('readInt parses integers only', () => {
    expect(readInt(join(dir, 'int'))).toBe(65536);
    expect(readInt(join(dir, 'neg'))).toBe(-1);
    expect(readInt(join(dir, 'word'))).toBeUndefined();
    expect(readInt(join(dir, 'absent'))).toBeUndefined();
  });

  it('readList parses lists and throws on garbage', () => {
    expect(readList(join(dir, 'list'))).toEqual([0, 1, 4]);
    expect(readList(join(dir, 'absent'))).toBeUndefined();
    expect(() => readList(join(dir, 'badlist'))).toThrow(RangeError);
  });

  it('listDir / listDirIfExists', () => {
    expect(listDir(join(dir, 'sub'))).toEqual(['a']);
    expect(listDir(join(dir, 'absent'))).toEqual([]);
    expect(listDirIfExists(join(dir, 'absent'))).toBeUndefined();
    expect(listDirIfExists(join(dir, 'sub'))).toEqual(['a']);
  });
});
