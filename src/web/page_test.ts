import { deepStrictEqual as assertEquals } from "node:assert/strict";
import * as core from "../core/protocol.ts";
import { ROOMS_LISTED } from "../core/commands.ts";
import * as page from "./page/color.js";
import * as lines from "./page/text_lines.js";
import { test } from "../../tests/test_util.ts";

test("page: a name has the same colour in the page as in the terminal client", () => {
  assertEquals(page.NAME_COLORS, [...core.NAME_COLORS]);
  const names = ["ann", "Bob", "carol", "Ἀθηνᾶ", "张伟", "x_y.z-9", "ÉMILE", "🙂"];
  for (let i = 0; i < 2000; i++) names.push(`user${i}`);
  for (const name of names) assertEquals(page.nameColor(name), core.nameColor(name), name);
});

test("page: its readers of text lines read the server's sentences as the core's do", () => {
  assertEquals(
    [lines.LOBBY, lines.ROOMS_LISTED, lines.NAME_PROMPT, lines.WELCOME],
    [core.LOBBY, ROOMS_LISTED, core.NAME_PROMPT, core.WELCOME],
  );
  const { say } = core;
  const samples = [
    "ann: hi there",
    "* ann waves",
    "bob (private): psst",
    "!! the name ann is taken",
    "weird line",
    core.historyLine({ kind: "message", from: "ann", text: "old", time: 0 }),
    core.limitsLine(4096),
    say.privateSent("bob", "hi"),
    say.hello("ann", ["bob"], 1),
    say.nowIn("dev", [], 0),
    say.renamed("annie"),
    say.online("lobby", ["ann", "bob"], 5),
    say.roomsHeader(3),
    say.roomEntry("dev", 2, "a topic"),
    say.roomEntry("lobby", 1, ""),
    say.moreRooms(4),
    say.topicIs("dev", "release"),
    say.noTopic("dev"),
    say.topicSet("ann", "new topic"),
    say.historyHeader("lobby", 2),
    say.earlierHeader("lobby", 1),
    say.historyEnd,
    say.noEarlier("lobby"),
    say.bye,
    say.happenings(["ann and bob joined", "carol left (quit: bye)", "dan went to dev"]),
    say.othersRenamed("ann", "annie"),
    say.alreadyIn("dev"),
  ];
  for (const line of samples) {
    const text = line.slice(3);
    assertEquals(lines.parseLine(line), core.parseLine(line), line);
    assertEquals(lines.parseHistoryLine(line), core.parseHistoryLine(line), line);
    assertEquals(lines.lineLimit(line), core.lineLimit(line), line);
    assertEquals(lines.privateReceipt(line), core.privateReceipt(line), line);
    assertEquals(lines.readNotice(text), core.readNotice(text), line);
    assertEquals(lines.roomChange(line), core.roomChange(line), line);
    assertEquals(lines.helloName(line), core.helloName(line), line);
    assertEquals(lines.nameChange(line), core.nameChange(line), line);
  }
});
