import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { selectPage } from "./pages.ts";
import { test } from "../../tests/test_util.ts";

/** Ten entries, ids "a".."j", one per 10 ms. */
const entries = [..."abcdefghij"].map((id, i) => ({ id, time: 1000 + 10 * i }));
const ids = (page: { id: string }[]) => page.map((entry) => entry.id).join("");

test("pages: latest, before, after, between both ways, around, by id and by time", () => {
  assertEquals(ids(selectPage(entries, { kind: "latest", limit: 20 })), "abcdefghij");
  assertEquals(ids(selectPage(entries, { kind: "latest", limit: 3 })), "hij");
  assertEquals(
    ids(selectPage(entries, { kind: "latest", after: { id: "e" }, limit: 20 })),
    "fghij",
  );
  assertEquals(
    ids(selectPage(entries, { kind: "latest", after: { time: 1040 }, limit: 20 })),
    "fghij",
  );
  assertEquals(ids(selectPage(entries, { kind: "before", at: { id: "g" }, limit: 20 })), "abcdef");
  assertEquals(ids(selectPage(entries, { kind: "before", at: { time: 1060 }, limit: 2 })), "ef");
  assertEquals(ids(selectPage(entries, { kind: "after", at: { id: "d" }, limit: 20 })), "efghij");
  assertEquals(ids(selectPage(entries, { kind: "after", at: { time: 1030 }, limit: 3 })), "efg");
  const between = (from: string, to: string, limit: number) =>
    ids(selectPage(entries, { kind: "between", from: { id: from }, to: { id: to }, limit }));
  assertEquals(between("a", "j", 20), "bcdefghi");
  assertEquals(between("j", "a", 20), "bcdefghi");
  assertEquals(between("a", "j", 3), "bcd");
  assertEquals(between("j", "a", 3), "ghi");
  assertEquals(
    ids(
      selectPage(entries, { kind: "between", from: { time: 1090 }, to: { time: 1000 }, limit: 3 }),
    ),
    "ghi",
  );
  assertEquals(ids(selectPage(entries, { kind: "around", at: { id: "h" }, limit: 1 })), "h");
  assertEquals(ids(selectPage(entries, { kind: "around", at: { id: "h" }, limit: 3 })), "ghi");
  assertEquals(ids(selectPage(entries, { kind: "around", at: { id: "a" }, limit: 3 })), "abc");
  assertEquals(ids(selectPage(entries, { kind: "around", at: { id: "j" }, limit: 4 })), "ghij");
  assertEquals(ids(selectPage(entries, { kind: "around", at: { time: 1070 }, limit: 3 })), "ghi");
  assertEquals(selectPage(entries, { kind: "latest", limit: 0 }), []);
  assertEquals(selectPage([], { kind: "around", at: { id: "a" }, limit: 5 }), []);
});
