/**
 * Loader and typed view of the native addon (native/addon/addon.c). Loaded with
 * node-gyp-build: a local build (`build/Release`, made by `npm run
 * build:native`, scripts/setup.js or a source install) wins, else the
 * matching `prebuilds/<platform>-<arch>/hmsdk.napi.glibc.node` shipped in the
 * npm package; `bindings` never looks in prebuilds/. `HMSDK_PREBUILD=DIR`
 * (node-gyp-build's override) loads from DIR instead.
 * Nothing else in the SDK touches the addon object directly.
 * @internal
 */
import * as path from 'node:path';
import { HmsdkError } from '../errors';

/** Allocation flags understood by the addon (native/core/hm_extent.h HM_F_*). @internal */
export const F_POPULATE = 1;
/** @internal */
export const F_ZERO = 2;

/** memfd seal that keeps a store object from shrinking under its mappers (linux/fcntl.h F_SEAL_SHRINK). @internal */
export const SEAL_SHRINK = 2;

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
  quarantinedBytes: number;
  pendingFinalizers: number;
}

/** Constants and probes of the native core. @internal */
export interface NativeInfo {
  pageSize: number;
  smallMax: number;
  quarantineSmallBytes: number;
  quarantineLargeBytes: number;
  preferredMany: boolean;
  weightedInterleave: boolean;
}

/** The addon's functions. @internal */
export interface NativeAddon {
  /** `align` 0 = the default 16-byte alignment; a power of two up to the page size. */
  alloc(placement: number, size: number, align: number, flags: number): ArrayBuffer | number;
  /** Userspace weighted stripe over `nodes` (native/core/hm_stripe.c); stripeBytes 0 = adaptive unit. */
  allocStripe(size: number, nodes: number[], weights: number[], stripeBytes: number, flags: number): ArrayBuffer | number;
  free(ab: ArrayBuffer): 0 | 1 | 2 | 3;
  placement(mode: number, nodes: number[], charge: number[]): number;
  lastError(): NativeError;
  where(buf: ArrayBuffer | ArrayBufferView): NativeWhere | number;
  stats(): NativeStats;
  trim(): number;
  info(): NativeInfo;
  migrate(ab: ArrayBuffer, placement: number): { onTarget: number; resident: number; moved: number; neighbourMoved: number } | number;
  /** The core's reserve rule (native/core/hm_reserve.h), for contract tests. */
  reserveFor(memTotal: number): number;
  /** The core's stripe layout: [unit, (offset, length, nodeIndex)*], for contract tests. */
  stripeLayout(size: number, weights: number[], stripeBytes: number, pageSize: number): Float64Array | number;
  /** The preload's HMSDK_CONF parser (native/preload/hm_conf.c): null when valid, else its one-line message. */
  confCheck(conf: string): string | null;
  /** The preload's key table. */
  confKeys(): { name: string; expect: string }[];
  /** The non-strict form of a configuration's policy (native/preload/hm_conf.c hm_conf_lenient), or the parser's message. */
  confLenient(conf: string): { mode: number; nodes: number[] } | string;
  /**
   * Replace this process with `path` (execve), with the task memory policy
   * `mode` over `nodes` first (0 = leave it), default signal dispositions,
   * an empty signal mask and blocking stdio. Returns a negative errno when
   * execve failed; on success it does not return.
   */
  exec(path: string[], argv: string[], env: string[], mode: number, nodes: number[]): number;
  /**
   * move_pages on process `pid` for the `npages` pages from `start`: node -1
   * asks, a node id moves them there. Each page's node after the call, or
   * -errno for that page; a negative number when the call failed.
   */
  movePages(pid: number, start: number, npages: number, node: number): Int32Array | number;
  /** process_madvise(MADV_COLD) over the ranges of process `pid` (accessed bits cleared, TLB entries flushed); no ranges: checks the right to. 0 or -errno. */
  madviseCold(pid: number, starts: Float64Array, lengths: Float64Array): number;
  /** A new store object (native/core/hm_shm.h): a memfd placed under `placement`, mapped shared read/write. */
  shmCreate(placement: number, size: number, populate: boolean): { buffer: ArrayBuffer; fd: number } | number;
  /** A private copy-on-write mapping of `size` bytes of the object behind fd. */
  shmMap(fd: number, size: number, prefault: boolean): ArrayBuffer | number;
  /** open(path, O_RDONLY): fd or -errno. */
  shmOpen(path: string): number;
  /** fstat identity of an fd and its memfd seals (-1: not a memfd), or -errno. */
  shmIdent(fd: number): { ino: number; dev: number; size: number; seals: number } | number;
  /** Write-seal a memfd: 0 or -errno. */
  shmSeal(fd: number): number;
  /** Detach a store view and let go of its pages: 0 released, 1 already detached, 2 not a store view, 3 detach failed. */
  shmRelease(ab: ArrayBuffer): 0 | 1 | 2 | 3;
  closeFd(fd: number): number;
  /** flock a lock file (created 0600): fd, or -EWOULDBLOCK while held elsewhere, or -errno. */
  lockFile(path: string): number;
  unlockFile(fd: number): number;
}

let addon: NativeAddon | undefined;

/** Load the addon once. Throws HmsdkError ENOADDON with the reason. @internal */
export function native(): NativeAddon {
  if (addon) return addon;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- untyped CommonJS module; a load failure is reported below
    const load = require('node-gyp-build') as (dir: string) => NativeAddon;
    addon = load(path.join(__dirname, '..', '..'));
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    // The binaries need libc only (no libnuma, no libstdc++), so a load
    // fails for a glibc older than the prebuild's, a missing binary, or a
    // damaged one.
    const build = "'npm rebuild hmsdk --build-from-source' (needs a C compiler, make and python3)";
    const hint = /GLIBC_[0-9.]+' not found/.test(msg)
      ? `the prebuilt binary needs a newer glibc than this system has: build it here with ${build}`
      : /No native build was found/.test(msg)
        ? "no prebuilt binary matches and no local build exists: run 'npm rebuild hmsdk' (needs a C compiler, make and python3)"
        : `the native binary does not load: rebuild it with ${build}`;
    throw new HmsdkError('ENOADDON', `hmsdk native addon could not be loaded: ${hint} (${msg})`, { cause: err });
  }
  return addon;
}
