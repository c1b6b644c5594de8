/**
 * Pins the telnet filter: commands, negotiation and subnegotiation are taken
 * out, even when a read cuts them, and every option asked for is declined.
 *
 * @module
 */

import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { CTRL_C, filterTelnet, hasTelnet } from "./telnet.ts";
import { test } from "../../tests/test_util.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Filters `chunks` in turn; returns the text left and every answer. */
function run(...chunks: Uint8Array[]): { text: string; answers: number[] } {
  let state = 0;
  let text = "";
  const answers: number[] = [];
  for (const chunk of chunks) {
    const filtered = filterTelnet(chunk, state);
    state = filtered.state;
    text += decoder.decode(filtered.data);
    if (filtered.answer) answers.push(...filtered.answer);
  }
  return { text, answers };
}

test("Ctrl-C from telnet is taken out and its timing mark declined", () => {
  const line = new Uint8Array([...encoder.encode("hi"), ...CTRL_C, ...encoder.encode("after\n")]);
  assertEquals(run(line), { text: "hiafter\n", answers: [255, 252, 6] });
});

test("a sequence cut across reads, subnegotiation and IAC IAC leave only the text", () => {
  const bytes = [
    ...encoder.encode("a"),
    255,
    251,
    24, // WILL TERMINAL-TYPE: declined with DONT
    255,
    250,
    24,
    0,
    120,
    255,
    255,
    121,
    255,
    240, // SB … SE, with an escaped IAC inside
    ...encoder.encode("b"),
    255,
    255, // a literal 255: not UTF-8, dropped
    255,
    246, // AYT
    255,
    254,
    1, // DONT ECHO: nothing to answer
    ...encoder.encode("c\n"),
  ];
  const expected = { text: "abc\n", answers: [255, 254, 24] };
  assertEquals(run(new Uint8Array(bytes)), expected);
  // The same bytes one at a time.
  assertEquals(run(...bytes.map((byte) => new Uint8Array([byte]))), expected);
});

test("a stray 255 that starts no telnet command stays in the data", () => {
  const bytes = new Uint8Array([0x62, 0xff, 0x28, 0xff, 0x0a]);
  assertEquals(run(bytes).text, "b\uFFFD(\uFFFD\n");
  assertEquals(run(bytes.subarray(0, 2), bytes.subarray(2)).text, "b\uFFFD(\uFFFD\n");
});

test("only reads with IAC, or after a cut sequence, are filtered", () => {
  assertEquals(hasTelnet(encoder.encode("plain ünïcode 你好\n"), 0), false);
  assertEquals(hasTelnet(new Uint8Array([104, 255]), 0), true);
  assertEquals(hasTelnet(encoder.encode("x"), filterTelnet(new Uint8Array([255]), 0).state), true);
});
