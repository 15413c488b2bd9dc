/**
 * Coded errors. Every failure the SDK reports that is not an argument error
 * is an {@link HmsdkError} with a stable {@link HmsdkErrorCode}; argument
 * errors are plain `TypeError` / `RangeError` whose message names the
 * argument. Codes never change meaning between versions.
 */

/** Stable error codes carried by {@link HmsdkError}. */
export type HmsdkErrorCode =
  /** A node (or tier) cannot hold the requested strict allocation. */
  | 'ENOMEM'
  /** The requested tier or node does not exist on this machine. */
  | 'ENODEV'
  /** The running kernel lacks a feature (e.g. weighted interleave before 6.9). */
  | 'ENOTSUP'
  /** The buffer was already freed by the SDK. */
  | 'EDOUBLEFREE'
  /** The buffer was freed and can no longer be used. */
  | 'EFREED'
  /** The buffer was not allocated by the SDK (e.g. `Buffer.alloc`). */
  | 'EFOREIGN'
  /** The buffer was detached by someone else (transferred); the SDK cannot free it. */
  | 'EDETACHED'
  /** A system call failed; `errno` and `syscall` say which. */
  | 'ESYSCALL'
  /** The native addon could not be loaded. */
  | 'ENOADDON'
  /** A configuration value (environment, file, preset) is invalid. */
  | 'ECONFIG'
  /** An external tool the command needs (QEMU, ...) is missing or failed. */
  | 'ETOOL'
  /** Store: an object with this key already exists. */
  | 'EEXIST'
  /** Store: no object with this key (never created, or deleted). */
  | 'ENOENT'
  /** Store: the object is still being created; readers see it only once sealed. */
  | 'ENOTSEALED'
  /** Store: only the connection that created an object may seal it, and only once. */
  | 'ENOTOWNER'
  /** Store: the store's manager is gone and no new one could be reached or started. */
  | 'EMANAGER'
  /** Store: the store was disconnected. */
  | 'ECLOSED'
  /** The process to act on does not exist (any more). */
  | 'ESRCH'
  /** A kernel facility the command needs is in use by someone else (e.g. DAMON's kdamonds). */
  | 'EBUSY';

/**
 * The one error class of the SDK.
 *
 * @example
 * ```ts
 * try { s_malloc('EXMEM', 1 << 40); }
 * catch (e) { if (e instanceof HmsdkError && e.code === 'ENOMEM') shrink(); }
 * ```
 */
export class HmsdkError extends Error {
  /** Stable, machine-readable code. */
  readonly code: HmsdkErrorCode;
  /** For `ESYSCALL`: the failing system call. */
  readonly syscall: string | undefined;
  /** For `ESYSCALL`: the errno value (positive). */
  readonly errno: number | undefined;

  /**
   * @param code - stable error code
   * @param message - human readable explanation, with the numbers involved
   * @param details - syscall name and errno for `ESYSCALL`
   */
  constructor(code: HmsdkErrorCode, message: string, details: { syscall?: string; errno?: number; cause?: unknown } = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'HmsdkError';
    this.code = code;
    this.syscall = details.syscall;
    this.errno = details.errno;
  }
}
