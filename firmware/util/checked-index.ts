// Reading an element that must be there. With `noUncheckedIndexedAccess` an indexed
// read is `T | undefined`; where the index comes from elsewhere (a parsed header, a
// regular expression's group, a caller) and no loop bound sits beside it, these turn
// a broken assumption into an error that says what was read, instead of an
// `undefined` travelling on. No Node-only code: the page script uses it too.

/** `items[index]`, or a RangeError naming `what` when `index` is outside `items`. */
export function itemAt<T>(items: ArrayLike<T>, index: number, what = 'item'): T {
  if (!Number.isInteger(index) || index < 0 || index >= items.length) {
    throw new RangeError(`${what}: index ${index} is outside 0..${items.length - 1}`);
  }
  return items[index] as T;
}

/** The first element, or a RangeError naming `what` when `items` is empty. */
export function firstOf<T>(items: ArrayLike<T>, what = 'item'): T {
  return itemAt(items, 0, what);
}

/** The last element, or a RangeError naming `what` when `items` is empty. */
export function lastOf<T>(items: ArrayLike<T>, what = 'item'): T {
  return itemAt(items, items.length - 1, what);
}

/** A regular expression's capture group that the pattern always fills when it matched. */
export function groupOf(match: RegExpMatchArray | RegExpExecArray, group: number): string {
  const value = match[group];
  if (value === undefined) throw new RangeError(`capture group ${group} is empty in the match of "${match.input ?? ''}"`);
  return value;
}
