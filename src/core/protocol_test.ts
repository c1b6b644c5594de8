/**
 * Pins the rules against hostile names and text: look-alike names and room
 * names share a key, a name keeps to one script and holds nothing invisible,
 * and cleaning squeezes whitespace and drops invisible format characters.
 *
 * @module
 */

import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { checkName, checkRoomName, cleanLine, nameKey, roomKey, sanitize } from "./protocol.ts";
import { happened, NAME_PROMPT, readNotice, say } from "../text/protocol.ts";
import { hasInvisible, mixedScripts, skeleton } from "./names.ts";
import { CONFUSABLES_VERSION } from "./confusables.ts";
import { MemoryHub, test } from "../../tests/test_util.ts";

const encoder = new TextEncoder();
const clean = (text: string) => cleanLine(encoder.encode(text));

// ---------------------------------------------------------------------------
// Look-alike names
// ---------------------------------------------------------------------------

test("an ASCII name's key, made a character at a time, is the general way's", () => {
  const general = (name: string) =>
    skeleton(skeleton(name.normalize("NFKC").toUpperCase()).toLowerCase());
  const printable = Array.from({ length: 0x5e }, (_, i) => String.fromCharCode(0x21 + i));
  for (const a of printable) {
    assertEquals(nameKey(a), general(a), a);
    for (const b of printable) assertEquals(nameKey(a + b), general(a + b), a + b);
  }
  for (
    const name of [
      "c0",
      "user123",
      "Alice_B-1.x",
      "rnrn",
      "MIL1",
      "ann",
      "Ann",
      "ΑΝΝ",
      "аnn",
      "Zoë",
    ]
  ) {
    assertEquals(nameKey(name), general(name), name);
  }
  assertEquals(nameKey("C01"), nameKey("cOl"));
  assertEquals(nameKey("ann"), nameKey("аnn")); // Cyrillic а: the general way, the same key
});

test("the skeleton maps confusables to their prototypes (Unicode TS #39)", () => {
  assert(/^\d+\.\d+\.\d+$/.test(CONFUSABLES_VERSION), CONFUSABLES_VERSION);
  assertEquals(skeleton("аlice"), "alice"); // Cyrillic а
  assertEquals(skeleton("ραураl"), "paypal"); // Greek ρ α, Cyrillic у а
  assertEquals(skeleton("b0b"), "bOb");
  assertEquals(skeleton("m"), "rn");
  assertEquals(skeleton("José"), "Jose\u0301", "NFD, accents kept");
});

test("names that look alike share a key, in either case", () => {
  const pairs: [string, string][] = [
    ["alice", "аlice"], // Cyrillic а
    ["alice", "ALICE"],
    ["alice", "ａｌｉｃｅ"], // fullwidth
    ["Alice", "ΑLICE"], // Greek Α
    ["paypal", "раураl"], // Cyrillic р а у а
    ["six", "ѕіх"], // all Cyrillic
    ["TOM", "ΤΟΜ"], // all Greek capitals
    ["tom", "ΤΟΜ"],
    ["ANNA", "ΑΝΝΑ"],
    ["bob", "ВОВ"], // Cyrillic capitals
    ["bob", "b0b"],
    ["xoxo", "хохо"], // Cyrillic х о
    ["straße", "STRASSE"],
    ["Вова", "вова"], // still case-blind within Cyrillic
  ];
  for (const [a, b] of pairs) assertEquals(nameKey(b), nameKey(a), `${a} vs ${b}`);
  for (const [a, b] of [["alice", "alicia"], ["José", "Jose"], ["Zoë", "Zoe"], ["小明", "小朋"]]) {
    assert(nameKey(a) !== nameKey(b), `${a} vs ${b}`);
  }
});

test("room names that look alike share a key, a leading # ignored", () => {
  assertEquals(roomKey("#dev"), roomKey("dеv")); // Cyrillic е
  assertEquals(roomKey("#Ops"), roomKey("#ОРЅ")); // all Cyrillic
  assertEquals(roomKey("lobby"), roomKey("#LOBBY"));
  assert(roomKey("#dev") !== roomKey("#dew"));
});

test("a look-alike of a member's name is taken, and so is a look-alike room", () => {
  using hub = new MemoryHub();
  const alice = hub.member("alice");
  const mallory = hub.open();
  mallory.say("ΑLICE"); // Greek Α: refused as mixed
  assertEquals(mallory.take(), [
    say.badName("a name may not mix scripts (Greek and Latin)"),
    NAME_PROMPT,
  ]);
  hub.member("six");
  mallory.say("ѕіх"); // all Cyrillic: a whole-script look-alike
  assertEquals(mallory.take(), [say.nameTaken("ѕіх"), NAME_PROMPT]);
  mallory.say("mallory", "/nick ALlCE");
  assertEquals(mallory.take().slice(1), [say.nameTaken("ALlCE")]);

  alice.say("/join #ops");
  alice.take();
  mallory.take();
  mallory.say("/join #ОРЅ"); // Cyrillic: the same room
  assertEquals(mallory.take()[0], say.nowIn("ops", ["alice"], 1)); // #ops is the room ops
});

// ---------------------------------------------------------------------------
// What a name may hold
// ---------------------------------------------------------------------------

test("names in one script (or a CJK mix) are accepted", () => {
  for (
    const good of [
      "alice",
      "小明",
      "Zoë.k-9",
      "José",
      "日本語かな",
      "カタカナー",
      "한국어漢字",
      "注音ㄅㄆ",
      "Дмитрий",
      "Ελένη",
      "كريم",
      "ایران",
      "קרן",
      "ﾊﾝｶｸ",
      "x_1",
    ]
  ) {
    assertEquals(checkName(good), null, good);
    assertEquals(checkRoomName(`#${good}`), null, good);
  }
});

test("a name that mixes scripts is refused, naming them", () => {
  const cases: [string, string][] = [
    ["аlice", "Cyrillic and Latin"],
    ["alicе", "Latin and Cyrillic"],
    ["ΑLICE", "Greek and Latin"],
    ["Bob小明", "Latin and Han"],
    ["한국かな", "Hangul and Hiragana"],
    ["Дмитрийz", "Cyrillic and Latin"],
  ];
  for (const [name, scripts] of cases) {
    assertEquals(checkName(name), `a name may not mix scripts (${scripts})`, name);
  }
  assertEquals(mixedScripts("abc123_-."), null);
  assertEquals(
    checkRoomName("#dеv"),
    "a room name may not mix scripts (Latin and Cyrillic)",
  );
});

test("names with invisible or blank characters are refused", () => {
  for (
    const bad of [
      "\u115F",
      "\u1160",
      "\u3164",
      "\uFFA0",
      "bob\u3164",
      "a\u200Bb",
      "a\u200Db",
      "a\u200Cb",
      "a\u2060b",
      "\uFEFFbob",
      "bob\u00AD",
      "bob\u200E",
      "bob\uFE0F",
    ]
  ) {
    assertEquals(
      checkName(bad),
      "a name may not contain invisible characters",
      JSON.stringify(bad),
    );
    assertEquals(
      checkRoomName(`#${bad}`),
      "a room name may not contain invisible characters",
      JSON.stringify(bad),
    );
  }
  assert(!hasInvisible("Zoë.k-9"));
});

test("the other name rules hold as before", () => {
  assertEquals(checkName(""), "a name cannot be empty");
  assertEquals(checkName("x".repeat(25)), "a name is at most 24 characters");
  assertEquals(
    checkName("a b"),
    "a name is letters and digits, with _ - . allowed after the first",
  );
  assertEquals(
    checkRoomName("#a b"),
    "a room name is letters and digits, with _ - . allowed after the first, and may start with #",
  );
  assertEquals(checkRoomName("#"), "a room name cannot be empty");
});

// ---------------------------------------------------------------------------
// Cleaning text
// ---------------------------------------------------------------------------

test("cleanLine squeezes runs of whitespace to one space and trims both ends", () => {
  assertEquals(clean("a\tb"), "a b");
  assertEquals(clean("  hello    world \t "), "hello world");
  assertEquals(clean("pad" + " ".repeat(70) + "bob (private): hi"), "pad bob (private): hi");
  assertEquals(clean("no\u00A0\u00A0break\u2003em\u3000wide"), "no break em wide");
  assertEquals(clean("hangul\u3164\u3164\uFFA0filler"), "hangul filler");
  assertEquals(clean(" \u200B \t"), "", "nothing but blanks");
  assertEquals(clean("plain text stays"), "plain text stays");
});

test("cleanLine drops line separators, bidi marks and other invisible format characters", () => {
  assertEquals(clean("one\u2028two\u2029three"), "onetwothree");
  assertEquals(clean("l\u200Er\u200Fa\u061Cm"), "lram", "LRM, RLM, ALM");
  assertEquals(clean("\u202Eevil\u202C \u2066iso\u2069"), "evil iso", "overrides and isolates");
  assertEquals(clean("zero\u200Bwidth\u2060joiner\uFEFF"), "zerowidthjoiner");
  assertEquals(clean("soft\u00ADhyphen"), "softhyphen");
  assertEquals(clean("tag\u{E0041}\u{E0042}s"), "tags", "tag characters outside a flag");
  assertEquals(clean("a\u200Db \u200Dc"), "a\u200Db c", "a joiner not between letters");
  assertEquals(clean("\u115Fblank"), "blank", "a Hangul filler that fills no syllable");
  // The existing guarantees.
  assertEquals(clean("\x1b[31mred\x1b[0m\x07\x00"), "[31mred[0m");
  assertEquals(clean("c1:\u009b2J bidi:\u202eevil"), "c1:2J bidi:evil");
});

test("cleanLine keeps the joiners that emoji and scripts need", () => {
  for (
    const keep of [
      "family: 👨‍👩‍👧", // ZWJ between emoji
      "🏳️‍🌈 👩🏽‍💻 🏃‍♂️ ❤️‍🔥", // after VS16 or a skin tone
      "🏴\u{E0067}\u{E0062}\u{E0073}\u{E0063}\u{E0074}\u{E007F}", // Scotland: a tag sequence
      "می\u200Cخواهم", // Persian ZWNJ
      "क्\u200Dष", // Devanagari ZWJ after a virama
      "ශ්\u200Dරී", // Sinhala
      "你好 👋🏽",
    ]
  ) {
    assertEquals(clean(keep), keep, keep);
  }
});

test("sanitize cleans a line for display but keeps its spacing", () => {
  assertEquals(sanitize("--   /join ROOM   move"), "--   /join ROOM   move");
  assertEquals(sanitize("a\tb\u00A0c"), "a b c");
  assertEquals(sanitize("x\u2028\u202Ey\u200B"), "xy");
  assertEquals(sanitize("👨‍👩‍👧"), "👨‍👩‍👧");
});

test("readNotice reads back every notice the server says, and nothing else", () => {
  const read = (line: string) => readNotice(line.slice(3));
  assertEquals(read(say.online("dev", ["a", "b"], 5)), {
    kind: "online",
    room: "dev",
    total: 5,
    names: ["a", "b"],
  });
  assertEquals(read(say.roomsHeader(3)), { kind: "rooms", count: 3 });
  assertEquals(read(say.roomEntry("dev", 2, "a: b")), {
    kind: "roomEntry",
    room: "dev",
    members: 2,
    topic: "a: b",
  });
  assertEquals(read(say.moreRooms(4)), { kind: "moreRooms", count: 4 });
  assertEquals(read(say.topicIs("dev", "x")), { kind: "topicIs", room: "dev", topic: "x" });
  assertEquals(read(say.noTopic("dev")), { kind: "noTopic", room: "dev" });
  assertEquals(read(say.topicSet("ann", "x")), { kind: "topicSet", name: "ann", topic: "x" });
  assertEquals(read(say.earlierHeader("dev", 1)), {
    kind: "historyHeader",
    room: "dev",
    earlier: true,
    count: 1,
  });
  assertEquals(read(say.historyEnd), { kind: "historyEnd" });
  assertEquals(read(say.noEarlier("dev")), { kind: "noEarlier", room: "dev" });
  assertEquals(read(say.bye), { kind: "bye" });
  for (
    const presence of [
      say.joined("a, b and 3 more"),
      say.left("a", "quit: see you (soon)"),
      say.happenings([happened.joined("a"), happened.moved("b and c", "dev")]),
      say.othersRenamed("a", "b"),
    ]
  ) assertEquals(read(presence), { kind: "presence" }, presence);
  assertEquals(read(say.hello("ann", [], 0)), null);
  assertEquals(read("a, b and c were here"), null);
});
