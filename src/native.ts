/**
 * Loader and typed view of the native addon (native/addon.cc). Loaded with
 * node-gyp-build: a local build (`build/Release`, made by `npm run
 * build:native`, scripts/setup.js or a source install) wins, else the
 * matching `prebuilds/<platform>-<arch>/hmsdk.napi.glibc.node` shipped in the
 * npm package; `bindings` never looks in prebuilds/. `HMSDK_PREBUILD=DIR`
 * (node-gyp-build's override) loads from DIR instead.
 * Nothing else in the SDK touches the addon object directly.
 * @internal
 */
import * as path from 'node:path';
import { HmsdkError } from './errors';

/** Allocation flags understood by the addon (hm_core.h HM_F_*). @internal */
export const F_POPULATE = 1;
/** @internal */
export const F_ZERO = 2;

/** Kernel policy modes (linux/mempolicy.h). @internal */
export const MPOL = { preferred: 1, bind: 2, interleave: 3, preferredMany: 5, weightedInterleave: 6 } as const;

/** Details of the last failed native allocation on this thread. @internal */
export interface NativeError {
  code: 'OK' | 'ENOMEM' | 'ESYSCALL' | 'ENOTSUP' | 'EINVAL';
  errno: number;
  syscall: string;
  node: number;
  requested: number;
  available: number;
  reserve: number;
  committed: number;
}

/** Page histogram returned by the addon's where(). @internal */
export interface NativeWhere {
  nodes: Record<number, number>;
  absent: number;
  other: number;
  pageSize: number;
}

/** Process-wide counters from hm_core. @internal */
export interface NativeStats {
  used: Record<number, number>;
  liveCount: number;
  arenaBytes: number;
  largeBytes: number;
  cachedBytes: number;
  pendingFinalizers: number;
}

/** Constants and probes of the native core. @internal */
export interface NativeInfo {
  pageSize: number;
  smallMax: number;
  chunkSize: number;
  cacheMaxBytes: number;
  reserveMin: number;
  reserveDiv: number;
  maxNodes: number;
  preferredMany: boolean;
  weightedInterleave: boolean;
}

/** The addon's functions. @internal */
export interface NativeAddon {
  alloc(placement: number, size: number, flags: number): ArrayBuffer | number;
  allocSegments(size: number, segments: Float64Array, flags: number): ArrayBuffer | number;
  free(ab: ArrayBuffer): 0 | 1 | 2 | 3;
  placement(mode: number, nodes: number[], charge: number[]): number;
  lastError(): NativeError;
  where(buf: ArrayBuffer | ArrayBufferView): NativeWhere | number;
  stats(): NativeStats;
  trim(): number;
  info(): NativeInfo;
  /** Benchmark baseline: one mmap + mbind per allocation. */
  naiveAlloc(size: number, node: number): ArrayBuffer | number;
  /** Benchmark baseline: detach + munmap. */
  naiveFree(ab: ArrayBuffer): number;
  migrate(ab: ArrayBuffer, placement: number): { onTarget: number; resident: number } | number;
}

let addon: NativeAddon | undefined;

/** Load the addon once. Throws HmsdkError ENOADDON with the reason. @internal */
export function native(): NativeAddon {
  if (addon) return addon;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const load = require('node-gyp-build') as (dir: string) => NativeAddon;
    addon = load(path.join(__dirname, '..'));
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    const hint = /libnuma/.test(msg)
      ? 'libnuma.so.1 is missing: install it (Debian/Ubuntu: apt-get install libnuma1; Fedora/RHEL: dnf install numactl-libs)'
      : /GLIBC(XX)?_[0-9.]+' not found/.test(msg)
        ? "the prebuilt binary needs a newer glibc/libstdc++ than this system has: build it here with 'npm rebuild hmsdk --build-from-source' (needs a C++ toolchain and libnuma-dev)"
        : "no prebuilt binary matches and no local build exists: run 'npm rebuild hmsdk' (needs a C++ toolchain and libnuma-dev)";
    throw new HmsdkError('ENOADDON', `hmsdk native addon could not be loaded: ${hint} (${msg})`, { cause: err });
  }
  return addon;
}
