/**
 * Pins event ids: their form, their order within a process (even when the clock
 * steps back or a millisecond overflows), and history's use of them (`after`).
 *
 * @module
 */

import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { ID_LENGTH, idBound, IdMaker, idOf, isId } from "./ids.ts";
import { MemoryHistory } from "./history.ts";
import { test } from "../../tests/test_util.ts";

test("ids: fixed length, 0-9a-z, increasing as strings, even when the clock steps back", () => {
  const maker = new IdMaker("abc");
  const made = [maker.next(1000), maker.next(1000), maker.next(999), maker.next(2000)];
  for (const id of made) assert(isId(id) && id.length === ID_LENGTH, id);
  assertEquals([...made].sort(), made);
  assertEquals(new Set(made).size, made.length);
  assert(made[3].endsWith("000abc"));
  // Two processes in one millisecond: different ids, in time order with the others.
  const other = new IdMaker("xyz");
  const theirs = other.next(1000);
  assert(!made.includes(theirs) && theirs < made[3]);
  assert(!isId("x") && !isId(12) && !isId(made[0] + "0"));
});

test("ids: a millisecond's sequence overflows into the next, still increasing", () => {
  const maker = new IdMaker("t");
  let last = "";
  for (let i = 0; i < 36 ** 4 + 2; i++) {
    const id = maker.next(5);
    if (id <= last) throw new Error(`${id} after ${last}`);
    last = id;
  }
  assert(last > idOf(5, 36 ** 4 - 1, "t") && last < idBound(7));
});

test("ids: a bound sorts after every id made before its time and before the rest", () => {
  const maker = new IdMaker();
  const before = maker.next(100);
  const at = maker.next(101);
  assert(before < idBound(101) && idBound(101) < at);
});

test("history.after: exactly what follows a kept id; a gap for one unknown or trimmed", () => {
  const maker = new IdMaker();
  const history = new MemoryHistory(3, 10);
  const entries = [1, 2, 3, 4].map((n) => ({
    id: maker.next(n),
    kind: "message" as const,
    from: "ann",
    text: `${n}`,
    time: n,
  }));
  for (const entry of entries) history.add("a", entry);
  const texts = (after: string) => {
    const { entries, gap } = history.after("a", after);
    return { texts: entries.map((entry) => entry.text), gap };
  };
  assertEquals(texts(entries[1].id), { texts: ["3", "4"], gap: false });
  assertEquals(texts(entries[3].id), { texts: [], gap: false });
  // Trimmed (the room keeps 3): what is kept, and a gap.
  assertEquals(texts(entries[0].id), { texts: ["2", "3", "4"], gap: true });
  assertEquals(texts(idOf(9, 0, "zz")), { texts: ["2", "3", "4"], gap: true });
  // An entry from another server a little older than the newest goes in id order.
  history.add("a", { ...entries[0], id: idOf(3, 5, "other"), text: "3b" });
  assertEquals(texts(entries[2].id), { texts: ["3b", "4"], gap: false });
});
