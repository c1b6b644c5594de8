/**
 * Pins what the line framer counts of the bytes it throws away: flood control
 * charges for them (see `src/core/session.ts`).
 *
 * @module
 */

import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { LINE_TOO_LONG, LineFramer } from "./framing.ts";
import { test } from "../../tests/test_util.ts";

const encoder = new TextEncoder();

/** Feeds `chunk`, and returns what came out of it: lines, TOO_LONG, and the bytes thrown away. */
function feed(framer: LineFramer, chunk: string): { lines: string[]; discarded: number } {
  framer.feed(encoder.encode(chunk));
  const lines = [];
  for (let line = framer.next(); line !== undefined; line = framer.next()) {
    lines.push(line === LINE_TOO_LONG ? "TOO_LONG" : new TextDecoder().decode(line));
  }
  return { lines, discarded: framer.takeDiscarded() };
}

test("the framer counts every byte of an over-long line it throws away, newline included", () => {
  const framer = new LineFramer(4);
  assertEquals(feed(framer, "1234\n123456\nok\n"), {
    lines: ["1234", "TOO_LONG", "ok"],
    discarded: 7,
  });
  assertEquals(feed(framer, "fine\n"), { lines: ["fine"], discarded: 0 });
});

test("the framer counts the bytes of a line that never ends, chunk after chunk", () => {
  const framer = new LineFramer(4);
  assertEquals(feed(framer, "123"), { lines: [], discarded: 0 }); // may still end in time
  assertEquals(feed(framer, "45678"), { lines: ["TOO_LONG"], discarded: 8 });
  assertEquals(feed(framer, "x".repeat(1000)), { lines: [], discarded: 1000 });
  assertEquals(feed(framer, "x".repeat(1000)), { lines: [], discarded: 1000 });
  assertEquals(feed(framer, "yy\nok\n"), { lines: ["ok"], discarded: 3 });
});
