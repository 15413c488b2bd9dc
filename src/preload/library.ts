/**
 * Where the preload library (hmsdk_preload.so, built from native/preload/)
 * is on this machine.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { HmsdkError } from '../errors';

/**
 * Where the preload library is: $HMSDK_PRELOAD_PATH, else next to the addon
 * node-gyp-build picks (build/Release when a local build exists, else the
 * matching prebuilds/<platform>-<arch>/), so both come from the same build.
 */
export function preloadPath(): string {
  const env = process.env.HMSDK_PRELOAD_PATH;
  const root = path.join(__dirname, '..', '..');
  const candidates: string[] = [];
  if (env) candidates.push(env);
  else {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- untyped CommonJS module; a failure falls back to the fixed places
      const gypBuild = require('node-gyp-build') as { path(dir: string): string };
      candidates.push(path.join(path.dirname(gypBuild.path(root)), 'hmsdk_preload.so'));
    } catch {
      // no addon build or prebuild for this machine: the fixed places below
    }
    candidates.push(path.join(root, 'build', 'Release', 'hmsdk_preload.so'), path.join(root, 'prebuilds', `${process.platform}-${process.arch}`, 'hmsdk_preload.so'));
  }
  for (const c of candidates) if (fs.existsSync(c)) return path.resolve(c);
  throw new HmsdkError('ENOADDON', `the preload library is missing (${[...new Set(candidates)].join(', ')}): build it with 'npm run build:native' (or 'npm rebuild hmsdk')`);
}
