/**
 * A binary min-heap over an array, ordered by a caller's `less` function.
 *
 * The rebalancer uses it to take the coldest hot-tier entries one at a time:
 * building the heap from n entries is O(n) (Floyd's bottom-up heapify) and
 * each `pop` is O(log n), so a pass that moves k entries costs
 * O(n + k log n) instead of sorting all n entries (O(n log n)). k is small
 * because each background tick moves a bounded number of bytes.
 * @internal
 */

/**
 * Min-heap: `peek()`/`pop()` return the element for which `less` holds
 * against every other.
 *
 * @example
 * ```ts
 * const h = new MinHeap([5, 1, 4], (a, b) => a < b);
 * h.pop(); // 1
 * h.push(0);
 * h.peek(); // 0
 * ```
 * @internal
 */
export class MinHeap<T> {
  readonly #a: T[];
  readonly #less: (a: T, b: T) => boolean;

  /**
   * @param items - initial elements (the array is taken over, not copied)
   * @param less - strict order: true when `a` must come out before `b`
   */
  constructor(items: T[], less: (a: T, b: T) => boolean) {
    this.#a = items;
    this.#less = less;
    for (let i = (items.length >> 1) - 1; i >= 0; i--) this.#down(i);
  }

  /** Number of elements. */
  get size(): number {
    return this.#a.length;
  }

  /** The least element, without removing it; undefined when empty. */
  peek(): T | undefined {
    return this.#a[0];
  }

  /** Remove and return the least element; undefined when empty. */
  pop(): T | undefined {
    const a = this.#a;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0 && last !== undefined) {
      a[0] = last;
      this.#down(0);
    }
    return top;
  }

  /** Add an element. */
  push(x: T): void {
    const a = this.#a;
    a.push(x);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.#less(a[i] as T, a[p] as T)) break;
      [a[i], a[p]] = [a[p] as T, a[i] as T];
      i = p;
    }
  }

  #down(i: number): void {
    const a = this.#a;
    const n = a.length;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) return;
      const r = l + 1;
      const c = r < n && this.#less(a[r] as T, a[l] as T) ? r : l;
      if (!this.#less(a[c] as T, a[i] as T)) return;
      [a[i], a[c]] = [a[c] as T, a[i] as T];
      i = c;
    }
  }
}
