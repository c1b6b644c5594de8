/**
 * Pages of kept messages chosen by id or time, as IRCv3 `draft/chathistory` asks for
 * them (LATEST, BEFORE, AFTER, BETWEEN, AROUND): pure functions over entries in id
 * order, for rooms and private conversations alike.
 *
 * @module
 */

/** Where a page starts or ends: an entry's id, or a time (milliseconds since the epoch). */
export type Bound = { readonly id: string } | { readonly time: number };

/** Which entries a page holds, at most `limit` of them, oldest first. */
export type PageQuery =
  /** The newest, all after `after` if given. */
  | { readonly kind: "latest"; readonly after?: Bound; readonly limit: number }
  /** The newest before `at`. */
  | { readonly kind: "before"; readonly at: Bound; readonly limit: number }
  /** The oldest after `at`. */
  | { readonly kind: "after"; readonly at: Bound; readonly limit: number }
  /** Between the two, both left out: from `from`'s side (the older one first: forwards). */
  | { readonly kind: "between"; readonly from: Bound; readonly to: Bound; readonly limit: number }
  /** Around `at`: that entry in the middle. */
  | { readonly kind: "around"; readonly at: Bound; readonly limit: number };

/** What an entry needs for paging: an id (in order) and its time. */
export interface Paged {
  readonly id: string;
  readonly time: number;
}

/** The entries of `entries` (in id order) that `query` asks for, oldest first. */
export function selectPage<T extends Paged>(entries: readonly T[], query: PageQuery): T[] {
  const { limit } = query;
  if (limit <= 0) return [];
  switch (query.kind) {
    case "latest": {
      const start = query.after === undefined ? 0 : afterIndex(entries, query.after);
      return entries.slice(Math.max(start, entries.length - limit));
    }
    case "before": {
      const end = beforeIndex(entries, query.at);
      return entries.slice(Math.max(0, end - limit), end);
    }
    case "after": {
      const start = afterIndex(entries, query.at);
      return entries.slice(start, start + limit);
    }
    case "between": {
      const forwards = beforeIndex(entries, query.from) <= beforeIndex(entries, query.to);
      const [older, newer] = forwards ? [query.from, query.to] : [query.to, query.from];
      const start = afterIndex(entries, older);
      const end = beforeIndex(entries, newer);
      if (end <= start) return [];
      return forwards
        ? entries.slice(start, Math.min(end, start + limit))
        : entries.slice(Math.max(start, end - limit), end);
    }
    case "around": {
      const center = beforeIndex(entries, query.at);
      const end = Math.min(entries.length, Math.max(0, center - (limit >> 1)) + limit);
      return entries.slice(Math.max(0, end - limit), end);
    }
  }
}

/** The index of the first entry not before `bound` (the entry with that id, if kept). */
function beforeIndex(entries: readonly Paged[], bound: Bound): number {
  return "id" in bound
    ? search(entries, (entry) => entry.id < bound.id)
    : search(entries, (entry) => entry.time < bound.time);
}

/** The index of the first entry after `bound`. */
function afterIndex(entries: readonly Paged[], bound: Bound): number {
  return "id" in bound
    ? search(entries, (entry) => entry.id <= bound.id)
    : search(entries, (entry) => entry.time <= bound.time);
}

/** The first index whose entry is not `below` (entries below come first). */
function search(entries: readonly Paged[], below: (entry: Paged) => boolean): number {
  let low = 0;
  let end = entries.length;
  while (low < end) {
    const middle = (low + end) >> 1;
    if (below(entries[middle])) low = middle + 1;
    else end = middle;
  }
  return low;
}
