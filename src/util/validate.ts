/**
 * Argument validation: the one module every public entry point (allocate,
 * the `s_*` API, arenas, migrate, placement, tiering, the policy engine)
 * uses to turn caller values into values the SDK can trust.
 *
 * The rules, and why:
 *
 * - **Errors name the argument.** A wrong kind of value is a `TypeError`, a
 *   right kind with a bad value a `RangeError`; the message starts with the
 *   argument's name (`options.tier`, `align`, `nodes[3]`).
 * - **Describing a value never runs user code and is bounded.** Messages say
 *   what was passed with {@link describe} (`a Buffer of 167772160 bytes`,
 *   `string 'abc…' (1000 chars)`, `bigint 5n`), never by serialising it: a
 *   160 MiB Buffer through `JSON.stringify` exhausts the heap, a BigInt or a
 *   cycle throws the wrong error, and `toJSON`/`toString` are user code.
 *   Typed-array and ArrayBuffer figures come from the built-in getters
 *   captured at load time, so an own `byteLength` property is not consulted;
 *   a Proxy is reported as such without touching its traps.
 * - **Each caller value is read once, into a frozen snapshot.** An options
 *   object is read key by key through its own property descriptors
 *   (inherited keys are ignored, so `Object.prototype.node = 1` changes
 *   nothing); a getter runs once; arrays are copied element by element.
 *   Everything after validation uses the snapshot only, so a getter or Proxy
 *   that answers differently on every read cannot make validation and use
 *   disagree (or poison the placement cache for later callers).
 * - **Collections are walked with a bound** ({@link MAX_LIST_ENTRIES}):
 *   the length is checked before the first element is read, so a 2 MiB
 *   Buffer passed as a list fails at once instead of being walked.
 * - **A throwing getter or trap becomes a TypeError naming the argument**
 *   (the original error is its `cause`).
 *
 * This module is pure (no addon, no sysfs): the policy engine uses it too.
 * @internal
 */
import { types } from 'node:util';
import { MAX_SIZE, type Policy } from '../alloc/options';
import type { Tier } from '../topology/types';

/** Highest NUMA node id (the kernel's MAX_NUMNODES is at most 1024). */
const MAX_NODE_ID = 1023;
/** Most entries a caller's list or record may have (node lists, weights). */
const MAX_LIST_ENTRIES = 1024;
/** Lowest value the kernel accepts in `weighted_interleave/nodeN`. */
export const KERNEL_MIN_WEIGHT = 1;
/** Highest value the kernel accepts in `weighted_interleave/nodeN` (a u8). */
export const KERNEL_MAX_WEIGHT = 255;

/** Characters of a string shown in a message. */
const PREVIEW_CHARS = 24;
/** Bigints with more digits than this are described by size only (printing a huge one costs time). */
const BIGINT_PREVIEW_LIMIT = 10n ** 20n;

// ---- built-in accessors, captured before any caller code runs -------------

function intrinsicGetter<T>(proto: object, key: PropertyKey): (self: unknown) => T {
  // eslint-disable-next-line @typescript-eslint/unbound-method -- a captured built-in getter, only ever called through Reflect.apply
  const get = Object.getOwnPropertyDescriptor(proto, key)?.get;
  if (get === undefined) throw new Error(`hmsdk: the runtime lacks the ${String(key)} getter`);
  return (self) => Reflect.apply(get, self, []) as T;
}

const typedArrayPrototype = Object.getPrototypeOf(Uint8Array.prototype) as object;
const typedArrayByteLength = intrinsicGetter<number>(typedArrayPrototype, 'byteLength');
const typedArrayByteOffset = intrinsicGetter<number>(typedArrayPrototype, 'byteOffset');
const typedArrayLength = intrinsicGetter<number>(typedArrayPrototype, 'length');
const typedArrayBuffer = intrinsicGetter<ArrayBufferLike>(typedArrayPrototype, 'buffer');
const typedArrayKind = intrinsicGetter<string>(typedArrayPrototype, Symbol.toStringTag);
const dataViewByteLength = intrinsicGetter<number>(DataView.prototype, 'byteLength');
const dataViewByteOffset = intrinsicGetter<number>(DataView.prototype, 'byteOffset');
const dataViewBuffer = intrinsicGetter<ArrayBufferLike>(DataView.prototype, 'buffer');
const arrayBufferByteLength = intrinsicGetter<number>(ArrayBuffer.prototype, 'byteLength');
const sharedArrayBufferByteLength = intrinsicGetter<number>(SharedArrayBuffer.prototype, 'byteLength');
// eslint-disable-next-line @typescript-eslint/unbound-method -- the built-in, called through Reflect.apply with its receiver
const isPrototypeOf = (proto: object, value: object): boolean => Reflect.apply(Object.prototype.isPrototypeOf, proto, [value]);

/** Byte length of an ArrayBuffer, read with the built-in getter (0 once detached). @internal */
export function byteLengthOf(ab: ArrayBuffer): number {
  return arrayBufferByteLength(ab);
}

// ---- describing values ----------------------------------------------------

function preview(s: string): string {
  // JSON escaping of a short primitive string: control characters stay visible.
  return JSON.stringify(s.slice(0, PREVIEW_CHARS)).slice(1, -1);
}

function describeString(s: string): string {
  return s.length <= PREVIEW_CHARS ? `string '${preview(s)}'` : `string '${preview(s)}…' (${s.length} chars)`;
}

function describeFunction(fn: object): string {
  const name: unknown = Object.getOwnPropertyDescriptor(fn, 'name')?.value;
  return typeof name === 'string' && name !== '' ? `function ${preview(name)}` : 'an anonymous function';
}

function describeView(view: ArrayBufferView): string {
  if (types.isTypedArray(view)) {
    const kind = isPrototypeOf(Buffer.prototype as Buffer, view) ? 'Buffer' : typedArrayKind(view);
    return `a ${kind} of ${typedArrayByteLength(view)} bytes`;
  }
  try {
    return `a DataView of ${dataViewByteLength(view)} bytes`;
  } catch {
    return 'a DataView of a detached ArrayBuffer'; // the built-in getter throws once detached
  }
}

/**
 * A short, bounded description of any value for an error message: its type
 * and a preview. Runs no user code (no toString, toJSON, getters or traps).
 * @internal
 */
export function describe(value: unknown): string {
  switch (typeof value) {
    case 'undefined':
    case 'boolean':
      return String(value);
    case 'number':
      return `number ${Object.is(value, -0) ? '-0' : String(value)}`;
    case 'bigint':
      return value > -BIGINT_PREVIEW_LIMIT && value < BIGINT_PREVIEW_LIMIT ? `bigint ${value}n` : 'a bigint of more than 20 digits';
    case 'string':
      return describeString(value);
    case 'symbol':
      return 'a symbol';
    case 'function':
      return types.isProxy(value) ? 'a Proxy' : describeFunction(value);
    case 'object':
      if (value === null) return 'null';
      if (types.isProxy(value)) return 'a Proxy';
      if (types.isArrayBuffer(value)) return `an ArrayBuffer of ${arrayBufferByteLength(value)} bytes`;
      if (types.isSharedArrayBuffer(value)) return `a SharedArrayBuffer of ${sharedArrayBufferByteLength(value)} bytes`;
      if (ArrayBuffer.isView(value)) return describeView(value);
      if (Array.isArray(value)) return `an array of length ${value.length}`;
      return 'an object';
  }
  return 'a value'; // unreachable: typeof has no other answer
}

// ---- reading caller values once ------------------------------------------

/** What {@link ownDescriptor} returns for an inherited, non-enumerable or missing key. */
const ABSENT = Symbol('absent');

/** The own enumerable property descriptor of `key` (one trap for a Proxy), or ABSENT. `length` of an array is not enumerable, hence `anyEnumerability`. */
function ownDescriptor(name: string, obj: object, key: string, anyEnumerability = false): PropertyDescriptor | typeof ABSENT {
  let d: PropertyDescriptor | undefined;
  try {
    d = Reflect.getOwnPropertyDescriptor(obj, key);
  } catch (err) {
    throw new TypeError(`${name} could not be read (a Proxy trap threw)`, { cause: err });
  }
  return d === undefined || (d.enumerable !== true && !anyEnumerability) ? ABSENT : d;
}

/** The value a descriptor holds; an accessor's getter runs once. A throwing getter becomes a TypeError naming the property. */
function valueOf(name: string, obj: object, d: PropertyDescriptor): unknown {
  if ('value' in d) return d.value;
  if (d.get === undefined) return undefined;
  try {
    // eslint-disable-next-line @typescript-eslint/unbound-method -- the descriptor's getter runs once, with obj as its receiver
    return Reflect.apply(d.get, obj, []);
  } catch (err) {
    throw new TypeError(`${name} could not be read (its getter threw)`, { cause: err });
  }
}

/**
 * Read an own enumerable property exactly once: one descriptor lookup and,
 * for an accessor, one getter call. Inherited and non-enumerable properties
 * (and holes) read as undefined.
 */
function readOwn(name: string, obj: object, key: string, anyEnumerability = false): unknown {
  const d = ownDescriptor(name, obj, key, anyEnumerability);
  return d === ABSENT ? undefined : valueOf(name, obj, d);
}

function ownStringKeys(name: string, obj: object): string[] {
  let keys: (string | symbol)[];
  try {
    keys = Reflect.ownKeys(obj);
  } catch (err) {
    throw new TypeError(`${name} could not be read (its ownKeys trap threw)`, { cause: err });
  }
  if (!Array.isArray(keys)) throw new TypeError(`${name} could not be read`);
  return keys.filter((k): k is string => typeof k === 'string');
}

function isArray(name: string, value: unknown): boolean {
  try {
    return Array.isArray(value);
  } catch (err) {
    throw new TypeError(`${name} could not be read (a revoked Proxy)`, { cause: err }); // Array.isArray throws only for those
  }
}

/**
 * Snapshot a caller's options object: its own enumerable string-keyed
 * properties, each read once, into a frozen null-prototype record. A key
 * outside `known` is a TypeError ("is not `what`"); `undefined` is an empty
 * record. Arrays, buffers and functions are not options objects.
 * @internal
 */
export function readOptions(name: string, value: unknown, known: readonly string[], what = 'an option'): Readonly<Record<string, unknown>> {
  const out: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  readOptionsInto(name, value, known, out, what);
  return Object.freeze(out);
}

/**
 * {@link readOptions} into `out`, an object that already has an own
 * property for every key of `known` (so reading an absent option never
 * reaches a prototype): the allocation path's fixed-shape variant.
 * @internal
 */
export function readOptionsInto(name: string, value: unknown, known: readonly string[], out: Record<string, unknown>, what = 'an option'): void {
  if (value === undefined) return;
  if (typeof value !== 'object' || value === null || ArrayBuffer.isView(value) || types.isAnyArrayBuffer(value) || isArray(name, value)) {
    throw new TypeError(`${name} must be an object, got ${describe(value)}`);
  }
  for (const key of ownStringKeys(name, value)) {
    // Names in messages are built only on the error path (allocation hot path).
    let d: PropertyDescriptor | undefined;
    try {
      d = Reflect.getOwnPropertyDescriptor(value, key);
    } catch (err) {
      throw new TypeError(`${name}.${preview(key)} could not be read (a Proxy trap threw)`, { cause: err });
    }
    if (d === undefined || d.enumerable !== true) continue;
    // Checked before the value is read: the getter of an unknown key never runs.
    if (!known.includes(key)) throw new TypeError(`${name}.${preview(key)} is not ${what} (known: ${known.join(', ')})`);
    out[key] = 'value' in d ? d.value : valueOf(`${name}.${key}`, value, d);
  }
}

/**
 * Read one own property of a caller's object once (an environment map, of
 * which only one key matters); other keys are not looked at.
 * @internal
 */
export function readOwnProperty(name: string, value: unknown, key: string): unknown {
  if (typeof value !== 'object' || value === null) throw new TypeError(`${name} must be an object, got ${describe(value)}`);
  return readOwn(`${name}.${key}`, value, key);
}

/**
 * Copy a caller's list (an array, a Proxy of one, or a typed array) element
 * by element, after checking its length against `max`. Holes and inherited
 * indices read as undefined.
 * @internal
 */
export function readList(name: string, value: unknown, max = MAX_LIST_ENTRIES): unknown[] {
  if (types.isTypedArray(value)) {
    const n = typedArrayLength(value);
    if (n > max) throw new RangeError(`${name} has ${n} entries; at most ${max} are accepted`);
    const ta = value as unknown as ArrayLike<unknown>;
    return Array.from({ length: n }, (_, i) => ta[i]);
  }
  if (!isArray(name, value)) throw new TypeError(`${name} must be an array, got ${describe(value)}`);
  const arr = value as object;
  const n = readOwn(`${name}.length`, arr, 'length', true);
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) throw new TypeError(`${name} has an invalid length (${describe(n)})`);
  if (n > max) throw new RangeError(`${name} has ${n} entries; at most ${max} are accepted`);
  const out: unknown[] = [];
  for (let i = 0; i < n; i++) out.push(readOwn(`${name}[${i}]`, arr, String(i)));
  return out;
}

/**
 * A record keyed by node id (`{ 0: 3, 1: 1 }`), read once into
 * `[node, value]` pairs in ascending node order. Keys must be canonical node
 * ids; at most {@link MAX_LIST_ENTRIES} entries.
 * @internal
 */
export function readNodeRecord(name: string, value: unknown): [number, unknown][] {
  if (typeof value !== 'object' || value === null || ArrayBuffer.isView(value) || types.isAnyArrayBuffer(value) || isArray(name, value)) {
    throw new TypeError(`${name} must be an object keyed by node id, got ${describe(value)}`);
  }
  const keys = ownStringKeys(name, value);
  if (keys.length > MAX_LIST_ENTRIES) throw new RangeError(`${name} has ${keys.length} keys; at most ${MAX_LIST_ENTRIES} are accepted`);
  const out: [number, unknown][] = [];
  for (const key of keys) {
    const d = ownDescriptor(`${name}[${preview(key)}]`, value, key);
    if (d === ABSENT) continue;
    if (!/^(0|[1-9]\d{0,3})$/.test(key) || Number(key) > MAX_NODE_ID) {
      throw new RangeError(`${name}: key '${preview(key)}' is not a node id (0..${MAX_NODE_ID})`);
    }
    out.push([Number(key), valueOf(`${name}[${key}]`, value, d)]);
  }
  return out.sort((a, b) => a[0] - b[0]);
}

// ---- scalar rules ---------------------------------------------------------

/** Throw unless `value` is a number. @internal */
export function checkNumber(name: string, value: unknown): number {
  if (typeof value !== 'number') throw new TypeError(`${name} must be a number, got ${describe(value)}`);
  return value;
}

/** Throw unless `value` is a finite number. @internal */
export function checkFinite(name: string, value: unknown): number {
  const v = checkNumber(name, value);
  if (!Number.isFinite(v)) throw new RangeError(`${name} must be finite, got ${describe(v)}`);
  return v;
}

/** Throw unless `value` is a finite number >= 0. @internal */
export function checkNonNegative(name: string, value: unknown): number {
  const v = checkFinite(name, value);
  if (v < 0) throw new RangeError(`${name} must be >= 0, got ${describe(v)}`);
  return v;
}

/** Throw unless `value` is a finite number > 0. @internal */
export function checkPositive(name: string, value: unknown): number {
  const v = checkFinite(name, value);
  if (v <= 0) throw new RangeError(`${name} must be > 0, got ${describe(v)}`);
  return v;
}

/** Throw unless `value` is an integer in [min, max]. @internal */
export function checkInt(name: string, value: unknown, min: number, max: number): number {
  const v = checkNumber(name, value);
  if (!Number.isInteger(v) || v < min || v > max) throw new RangeError(`${name} must be an integer in ${min}..${max}, got ${describe(v)}`);
  return v;
}

/** Throw unless `value` is a power of two in [min, max] (no 32-bit bitwise arithmetic: exact up to 2^53). @internal */
export function checkPowerOfTwo(name: string, value: unknown, min: number, max: number): number {
  const v = checkNumber(name, value);
  // A bit test up to 2^30 (the common case, and exact); a log2 test above.
  const pow2 = v <= 2 ** 30 ? (v & (v - 1)) === 0 : 2 ** Math.round(Math.log2(v)) === v;
  if (!Number.isInteger(v) || v < min || v > max || !pow2) {
    throw new RangeError(`${name} must be a power of two in ${min}..${max}, got ${describe(v)}`);
  }
  return v;
}

/** Throw unless `value` is a byte count: an integer 1..{@link MAX_SIZE}. @internal */
export function checkSize(name: string, value: unknown): number {
  const v = checkNumber(name, value);
  if (!Number.isInteger(v) || v <= 0) throw new RangeError(`${name} must be a positive integer number of bytes, got ${describe(v)}`);
  if (v > MAX_SIZE) throw new RangeError(`${name} ${v} exceeds the largest buffer this runtime supports (${MAX_SIZE} bytes)`);
  return v;
}

/** Throw unless `value` is a boolean. @internal */
export function checkBoolean(name: string, value: unknown): boolean {
  if (typeof value !== 'boolean') throw new TypeError(`${name} must be a boolean, got ${describe(value)}`);
  return value;
}

/** Throw unless `value` is one of `allowed` (strings compared exactly). @internal */
export function checkOneOf<T extends string>(name: string, value: unknown, allowed: readonly T[]): T {
  if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T;
  throw new TypeError(`${name} must be one of ${allowed.map((a) => `'${a}'`).join(', ')}, got ${describe(value)}`);
}

/** Throw unless `value` is a tier: 'NORMAL' or 'EXMEM'. @internal */
export function checkTier(name: string, value: unknown): Tier {
  if (value === 'NORMAL' || value === 'EXMEM') return value;
  throw new TypeError(`${name} must be 'NORMAL' or 'EXMEM' (SMDK_MEM_NORMAL / SMDK_MEM_EXMEM), got ${describe(value)}`);
}

/** Throw unless `value` is a node id (shape only: existence is the topology's business). @internal */
export function checkNodeId(name: string, value: unknown): number {
  return checkInt(name, value, 0, MAX_NODE_ID);
}

/** Throw unless `value` is a non-empty list of distinct node ids; returns a copy. @internal */
export function checkNodeList(name: string, value: unknown): number[] {
  const list = readList(name, value);
  if (list.length === 0) throw new RangeError(`${name} must not be empty`);
  const seen = new Set<number>();
  return list.map((id, i) => {
    const n = checkNodeId(`${name}[${i}]`, id);
    if (seen.has(n)) throw new RangeError(`${name} lists node ${n} twice`);
    seen.add(n);
    return n;
  });
}

/** Throw unless `value` is a kernel interleave weight (integer 1..255). @internal */
export function checkWeight(name: string, value: unknown): number {
  return checkInt(name, value, KERNEL_MIN_WEIGHT, KERNEL_MAX_WEIGHT);
}

/** Throw unless `value` is a string of at most `maxChars` characters without NUL. @internal */
export function checkString(name: string, value: unknown, maxChars: number): string {
  if (typeof value !== 'string') throw new TypeError(`${name} must be a string, got ${describe(value)}`);
  if (value.length > maxChars) throw new RangeError(`${name} must be at most ${maxChars} characters, got ${describe(value)}`);
  if (value.includes('\0')) throw new RangeError(`${name} must not contain NUL characters, got ${describe(value)}`);
  return value;
}

// ---- buffers --------------------------------------------------------------

/** The bytes a caller's buffer argument covers, read with the built-in getters. @internal */
export interface ByteRange {
  /** The ArrayBuffer behind the argument. */
  readonly buffer: ArrayBuffer;
  /** Offset of the range in `buffer`. */
  readonly byteOffset: number;
  /** Length of the range (0 when detached). */
  readonly byteLength: number;
}

/**
 * The ArrayBuffer and byte range of an ArrayBuffer or view argument. A
 * SharedArrayBuffer, a Proxy or any other value is a TypeError.
 * @internal
 */
export function byteRangeOf(name: string, value: unknown): ByteRange {
  if (types.isArrayBuffer(value)) return { buffer: value, byteOffset: 0, byteLength: arrayBufferByteLength(value) };
  if (types.isTypedArray(value)) {
    const ab = typedArrayBuffer(value);
    if (types.isArrayBuffer(ab)) return { buffer: ab, byteOffset: typedArrayByteOffset(value), byteLength: typedArrayByteLength(value) };
  } else if (types.isDataView(value)) {
    const ab = dataViewBuffer(value);
    if (types.isArrayBuffer(ab)) {
      // The DataView getters throw once the buffer is detached; a detached range is empty.
      return arrayBufferByteLength(ab) === 0
        ? { buffer: ab, byteOffset: 0, byteLength: 0 }
        : { buffer: ab, byteOffset: dataViewByteOffset(value), byteLength: dataViewByteLength(value) };
    }
  }
  throw new TypeError(`${name} must be a Buffer, typed array, DataView or ArrayBuffer (not shared), got ${describe(value)}`);
}

/** The element count of a typed array, read with the built-in getter (0 once detached). @internal */
export function typedArrayLengthOf(view: unknown): number | undefined {
  return types.isTypedArray(view) ? typedArrayLength(view) : undefined;
}

/** The ArrayBuffer behind a typed array, read with the built-in getter. @internal */
export function typedArrayBufferOf(view: unknown): ArrayBufferLike | undefined {
  return types.isTypedArray(view) ? typedArrayBuffer(view) : undefined;
}

// ---- allocation options ---------------------------------------------------

/** Caller weights, read once: by position (aligned with the nodes) or by node id. @internal */
export type WeightsRequest =
  | { readonly kind: 'list'; readonly values: readonly number[] }
  | { readonly kind: 'byNode'; readonly entries: readonly (readonly [node: number, weight: number])[] };

/** The placement part of validated options: everything placement resolution reads. @internal */
export interface PlacementRequest {
  readonly tier: Tier | undefined;
  /** `node` and `nodes` alike (they are exclusive). */
  readonly nodes: readonly number[] | undefined;
  readonly policy: Policy;
  readonly weights: WeightsRequest | undefined;
  readonly fallback: 'none' | 'normal';
}

/** Validated options of allocate(): a frozen snapshot nothing reads the caller's object for again. @internal */
export interface AllocateRequest {
  readonly placement: PlacementRequest;
  readonly populate: boolean;
  /** undefined: the caller's default (allocate zeroes, arenas do not). */
  readonly zero: boolean | undefined;
}

/** Placement of an options-less request: strict NORMAL. @internal */
export const DEFAULT_PLACEMENT: PlacementRequest = Object.freeze({ tier: undefined, nodes: undefined, policy: 'bind', weights: undefined, fallback: 'none' });

const ALLOCATE_KEYS = ['tier', 'node', 'nodes', 'policy', 'weights', 'populate', 'zero', 'fallback'] as const;
const PLACEMENT_KEYS = ['tier', 'node', 'nodes', 'policy', 'weights', 'fallback'] as const;
const POLICIES: readonly Policy[] = ['bind', 'preferred', 'interleave', 'weighted'];
const FALLBACKS = ['none', 'normal'] as const;

function weightsRequest(name: string, value: unknown): WeightsRequest {
  if (types.isTypedArray(value) || isArray(name, value)) {
    return Object.freeze({ kind: 'list', values: Object.freeze(readList(name, value).map((w, i) => checkWeight(`${name}[${i}]`, w))) });
  }
  const entries = readNodeRecord(name, value).map(([node, w]) => Object.freeze([node, checkWeight(`${name}[${node}]`, w)] as const));
  if (entries.length === 0) throw new RangeError(`${name} must name at least one node`);
  return Object.freeze({ kind: 'byNode', entries: Object.freeze(entries) });
}

/**
 * Validate the options of allocate() (or, with `placementOnly`, of
 * migrate()/placementOf's placement keys) into a frozen snapshot.
 * @internal
 */
export function checkAllocateOptions(name: string, value: unknown, placementOnly = false): AllocateRequest {
  const o: Record<(typeof ALLOCATE_KEYS)[number], unknown> = {
    tier: undefined,
    node: undefined,
    nodes: undefined,
    policy: undefined,
    weights: undefined,
    populate: undefined,
    zero: undefined,
    fallback: undefined,
  };
  readOptionsInto(name, value, placementOnly ? PLACEMENT_KEYS : ALLOCATE_KEYS, o);
  const tier = o.tier === undefined ? undefined : checkTier(`${name}.tier`, o.tier);
  if (o.node !== undefined && o.nodes !== undefined) throw new TypeError(`${name}.node and ${name}.nodes are exclusive`);
  const nodes =
    o.node !== undefined ? [checkNodeId(`${name}.node`, o.node)] : o.nodes !== undefined ? checkNodeList(`${name}.nodes`, o.nodes) : undefined;
  const policy = o.policy === undefined ? 'bind' : checkOneOf(`${name}.policy`, o.policy, POLICIES);
  let weights: WeightsRequest | undefined;
  if (o.weights !== undefined) {
    if (policy !== 'weighted') throw new TypeError(`${name}.weights needs policy: 'weighted'`);
    weights = weightsRequest(`${name}.weights`, o.weights);
  }
  const fallback = o.fallback === undefined ? 'none' : checkOneOf(`${name}.fallback`, o.fallback, FALLBACKS);
  const populate = o.populate === undefined ? false : checkBoolean(`${name}.populate`, o.populate);
  const zero = o.zero === undefined ? undefined : checkBoolean(`${name}.zero`, o.zero);
  const placement: PlacementRequest = Object.freeze({ tier, nodes: nodes && Object.freeze(nodes), policy, weights, fallback });
  return Object.freeze({ placement, populate, zero });
}

// ---- store options (src/store) ----------------------------------------------

/** Longest store name and object key, in characters. @internal */
export const STORE_NAME_MAX = 200;
/** @internal */
export const STORE_KEY_MAX = 1024;

/** Validated options of the store's connect(): a frozen snapshot. @internal */
export interface StoreRequest {
  readonly name: string;
  readonly placement: PlacementRequest;
  /** Fault (and verify) every page of an object when it is created. */
  readonly populate: boolean;
  /** Serve the store from this process when nobody does (embedded mode). */
  readonly serve: boolean;
  /** Milliseconds to find or become the store's manager. */
  readonly timeout: number;
}

const STORE_KEYS = ['name', 'tier', 'node', 'nodes', 'policy', 'fallback', 'populate', 'serve', 'timeout'] as const;

/** Throw unless `value` is a store name: 1..200 characters, no NUL. @internal */
export function checkStoreName(name: string, value: unknown): string {
  const s = checkString(name, value, STORE_NAME_MAX);
  if (s.length === 0) throw new RangeError(`${name} must not be empty`);
  return s;
}

/** Throw unless `value` is an object key: 1..1024 characters, no NUL. @internal */
export function checkStoreKey(name: string, value: unknown): string {
  const s = checkString(name, value, STORE_KEY_MAX);
  if (s.length === 0) throw new RangeError(`${name} must not be empty`);
  return s;
}

/**
 * Validate connect() options: `name` is required; the placement keys are
 * allocate()'s (`weights` excepted: a store object has one kernel policy).
 * @internal
 */
export function checkStoreOptions(name: string, value: unknown): StoreRequest {
  if (value === undefined) throw new TypeError(`${name} must be an object with a name, got undefined`);
  const o = readOptions(name, value, STORE_KEYS);
  const storeName = checkStoreName(`${name}.name`, o.name);
  const placementKeys: Record<string, unknown> = {};
  for (const k of ['tier', 'node', 'nodes', 'policy', 'fallback'] as const) if (o[k] !== undefined) placementKeys[k] = o[k];
  const { placement } = checkAllocateOptions(name, placementKeys, true);
  const populate = o.populate === undefined ? true : checkBoolean(`${name}.populate`, o.populate);
  const serve = o.serve === undefined ? true : checkBoolean(`${name}.serve`, o.serve);
  const timeout = o.timeout === undefined ? 5000 : checkInt(`${name}.timeout`, o.timeout, 1, 600_000);
  return Object.freeze({ name: storeName, placement, populate, serve, timeout });
}

/** Throw unless `value` is a function (a callback option). @internal */
export function checkFunction(name: string, value: unknown): (...args: never[]) => unknown {
  if (typeof value !== 'function') throw new TypeError(`${name} must be a function, got ${describe(value)}`);
  return value as (...args: never[]) => unknown;
}
