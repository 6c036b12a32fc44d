/** Up to this many elements an insertion sort; beyond, the built-in sort of a subarray (which allocates a view). */
const INSERTION_LIMIT = 16;

/** Sorts a[0 .. n) ascending in place. Per-event lists are short, so this usually allocates nothing. */
export function sortPrefix(a: Int32Array, n: number): void {
  if (n > INSERTION_LIMIT) {
    a.subarray(0, n).sort();
    return;
  }
  for (let i = 1; i < n; i++) {
    const x = a[i];
    let j = i - 1;
    while (j >= 0 && a[j] > x) {
      a[j + 1] = a[j];
      j--;
    }
    a[j + 1] = x;
  }
}
