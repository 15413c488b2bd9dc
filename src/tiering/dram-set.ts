/**
 * The DRAM set of a tiering pass: given things ranked by how much they
 * deserve the fast tier (TieredPool's entries, hmsdk tier's page granules)
 * and what each takes, the ranked prefix that fits in a byte budget. One
 * rule for both levels: no rate threshold (MEMTIS, ARMS), whatever is
 * hottest relative to the rest gets DRAM.
 */
/** Something to place and its rank score (higher: more deserving of DRAM). @internal */
export interface Ranked<E extends Charged = Charged> {
  e: E;
  score: number;
}

/** What the DRAM set is made of: bytes it takes (`charge`) and a recency stamp for ties (`last`, higher: more recent). */
export interface Charged {
  charge: number;
  last: number;
}

/** Rank order: higher score first, then the more recent access. */
export const byRank = (a: Ranked, b: Ranked): number => b.score - a.score || b.e.last - a.e.last;

/**
 * The DRAM set: what a greedy walk of `items` in rank order takes while it
 * fits in `budget` (an entry that does not fit is skipped, smaller ones
 * after it still go in). Computed without sorting everything: the entries
 * above the {@link budgetCut} all fit and are taken; only when room is left
 * for one of the others are those sorted and walked. Reorders `items`.
 * @internal
 */
export function dramSet<T extends Ranked>(items: T[], budget: number): Set<T['e']> {
  const cut = budgetCut(items, budget);
  const set = new Set<T['e']>();
  const rest: T[] = [];
  let room = budget;
  let smallest = Infinity;
  for (const x of items) {
    if (x.score > cut) {
      set.add(x.e);
      room -= x.e.charge;
    } else {
      rest.push(x);
      smallest = Math.min(smallest, x.e.charge);
    }
  }
  if (room >= smallest) {
    rest.sort(byRank);
    for (const { e } of rest) {
      if (e.charge <= room) {
        set.add(e);
        room -= e.charge;
      }
    }
  }
  return set;
}

/**
 * The score s* that splits `items` at the budget: the entries scored above
 * s* fit in the budget together, those scored s* or above do not (-Infinity
 * when everything fits). A weighted quickselect (3-way partitions around a
 * random pivot, expected O(m)), so a pass sorts only the few entries it must
 * order: everything above the cut is in the DRAM set whatever the order.
 * Reorders `items`.
 */
function budgetCut(items: Ranked[], budget: number): number {
  let lo = 0;
  let hi = items.length;
  let above = 0; // charge of the entries ranked above [lo, hi)
  while (lo < hi) {
    const pivot = items[lo + Math.floor(Math.random() * (hi - lo))]!.score;
    // [lo, gtEnd) > pivot, [gtEnd, i) == pivot, [ltStart, hi) < pivot
    let gtEnd = lo;
    let i = lo;
    let ltStart = hi;
    let gt = 0;
    let eq = 0;
    while (i < ltStart) {
      const x = items[i]!;
      if (x.score > pivot) {
        items[i] = items[gtEnd]!;
        items[gtEnd++] = x;
        gt += x.e.charge;
        i++;
      } else if (x.score < pivot) {
        items[i] = items[--ltStart]!;
        items[ltStart] = x;
      } else {
        eq += x.e.charge;
        i++;
      }
    }
    if (above + gt > budget) hi = gtEnd;
    else if (above + gt + eq > budget) return pivot;
    else {
      above += gt + eq;
      lo = ltStart;
    }
  }
  return -Infinity;
}
