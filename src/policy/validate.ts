/**
 * Argument checks shared by the policy modules. Every failure is a
 * `TypeError` (wrong kind of value) or `RangeError` (right kind, bad value)
 * whose message starts with the argument's name, as the SDK's error
 * convention asks (see `src/errors.ts`).
 */

/** Lowest and highest value the kernel accepts in `weighted_interleave/nodeN`. */
export const KERNEL_MIN_WEIGHT = 1;
/** Highest value the kernel accepts in `weighted_interleave/nodeN` (a u8). */
export const KERNEL_MAX_WEIGHT = 255;

/** Throw unless `value` is an array; returns it typed. */
export function checkArray(name: string, value: unknown): readonly unknown[] {
  if (!Array.isArray(value)) throw new TypeError(`${name} must be an array, got ${describe(value)}`);
  return value;
}

/** Throw unless `value` is a finite number. */
export function checkFinite(name: string, value: unknown): number {
  if (typeof value !== 'number') throw new TypeError(`${name} must be a number, got ${describe(value)}`);
  if (!Number.isFinite(value)) throw new RangeError(`${name} must be finite, got ${value}`);
  return value;
}

/** Throw unless `value` is a finite number >= 0. */
export function checkNonNegative(name: string, value: unknown): number {
  const v = checkFinite(name, value);
  if (v < 0) throw new RangeError(`${name} must be >= 0, got ${v}`);
  return v;
}

/** Throw unless `value` is a finite number > 0. */
export function checkPositive(name: string, value: unknown): number {
  const v = checkFinite(name, value);
  if (v <= 0) throw new RangeError(`${name} must be > 0, got ${v}`);
  return v;
}

/** Throw unless `value` is an integer in [min, max]. */
export function checkInt(name: string, value: unknown, min: number, max: number): number {
  const v = checkFinite(name, value);
  if (!Number.isInteger(v) || v < min || v > max) {
    throw new RangeError(`${name} must be an integer in ${min}..${max}, got ${v}`);
  }
  return v;
}

/** Throw unless `value` is a NUMA node id (integer >= 0). */
export function checkNodeId(name: string, value: unknown): number {
  return checkInt(name, value, 0, Number.MAX_SAFE_INTEGER);
}

/** Throw unless `ids` is a non-empty array of distinct node ids. */
export function checkNodeList(name: string, ids: unknown): number[] {
  const arr = checkArray(name, ids);
  if (arr.length === 0) throw new RangeError(`${name} must not be empty`);
  const seen = new Set<number>();
  return arr.map((id, i) => {
    const n = checkNodeId(`${name}[${i}]`, id);
    if (seen.has(n)) throw new RangeError(`${name} lists node ${n} twice`);
    seen.add(n);
    return n;
  });
}

/** Short description of a value for error messages. */
function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}
