/**
 * Pins the mask matcher: what `*` and `?` match, the length cap, and the step
 * bound that keeps a hostile mask from freezing the server (counted, not timed).
 *
 * @module
 */

import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { GLOB_MAX, type GlobMeter, isGlob, matchGlob } from "./glob.ts";
import { nameKey } from "./protocol.ts";
import { test } from "../../tests/test_util.ts";

test("glob: * is any run, ? one character, the rest itself", () => {
  const cases: [string, string, boolean][] = [
    ["*", "", true],
    ["*", "anything", true],
    ["", "", true],
    ["", "a", false],
    ["a", "a", true],
    ["a", "b", false],
    ["a*", "alice", true],
    ["*e", "alice", true],
    ["*li*", "alice", true],
    ["a*c*e", "alice", true],
    ["a*x", "alice", false],
    ["?", "", false],
    ["?", "a", true],
    ["?", "ab", false],
    ["a?ice", "alice", true],
    ["a??ce", "alice", true],
    ["a???ce", "alice", false],
    ["**a**", "a", true],
    ["*?", "", false],
    ["*a*a*b", "aaaaab", true],
    ["*a*a*b", "aaaaaa", false],
    ["ab*", "a", false],
    ["a.b", "axb", false], // no regular-expression meaning anywhere
    ["[a]", "a", false],
    ["[a]", "[a]", true],
    ["中*", "中文", true],
    ["?文", "中文", true],
    ["?", "😀", true], // a surrogate pair is one character
    ["??", "😀", false],
    ["*😀", "a😀", true],
    ["😀?", "😀x", true],
  ];
  for (const [mask, subject, expected] of cases) {
    assertEquals(matchGlob(mask, subject), expected, `${mask} against ${subject}`);
  }
});

test("glob: folded by nameKey on both sides, a mask is as case- and lookalike-blind as names", () => {
  const matches = (mask: string, name: string) => matchGlob(nameKey(mask), nameKey(name));
  assert(matches("AL*", "alice"));
  assert(matches("*ICE", "Alice"));
  assert(matches("ａｌ*", "Alice")); // fullwidth
  assert(matches("аl*", "alice")); // a Cyrillic а
  assert(!matches("bo*", "alice"));
});

test("glob: a mask longer than GLOB_MAX matches nothing", () => {
  assert(matchGlob("*".repeat(GLOB_MAX), "x"));
  assert(!matchGlob("*".repeat(GLOB_MAX + 1), "x"));
  assertEquals(isGlob("a*"), true);
  assertEquals(isGlob("a?"), true);
  assertEquals(isGlob("alice"), false);
});

test("glob: hostile masks take at most (mask + 1) × (subject + 1) steps", () => {
  const subject = "a".repeat(400);
  const hostile = [
    "*".repeat(200) + "#", // WHO ******…#: exponential as a regular expression
    "*a".repeat(100) + "#",
    "a*".repeat(100) + "b",
    "?*".repeat(100) + "#",
    "*" + "a".repeat(200) + "#",
  ];
  for (const mask of hostile) {
    const meter: GlobMeter = { steps: 0 };
    assertEquals(matchGlob(mask, subject, meter), false, mask.slice(0, 10));
    const bound = (mask.length + 1) * (subject.length + 1);
    assert(meter.steps <= bound, `${meter.steps} steps > ${bound} for ${mask.slice(0, 10)}…`);
  }
  // A run of stars costs no more than one star: the scan never returns to an earlier star.
  const one: GlobMeter = { steps: 0 };
  const many: GlobMeter = { steps: 0 };
  matchGlob("*#", subject, one);
  matchGlob("*".repeat(200) + "#", subject, many);
  assert(many.steps <= one.steps + 200, `${many.steps} against ${one.steps}`);
});
