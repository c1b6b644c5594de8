/**
 * The page's modules that need no browser: its name colours agree with the
 * terminal client's, and its sentences (the JSON protocol's events, rendered).
 *
 * @module
 */

import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import * as core from "../text/protocol.ts";
import * as page from "./page/color.js";
import * as wording from "./page/wording.js";
import { test } from "../../tests/test_util.ts";

test("page: a name has the same colour in the page as in the terminal client", () => {
  assertEquals(page.NAME_COLORS, [...core.NAME_COLORS]);
  const names = ["ann", "Bob", "carol", "Ἀθηνᾶ", "张伟", "x_y.z-9", "ÉMILE", "🙂"];
  for (let i = 0; i < 2000; i++) names.push(`user${i}`);
  for (const name of names) assertEquals(page.nameColor(name), core.nameColor(name), name);
});

test("page: its sentences list names as the server's do, and say every error code", () => {
  assertEquals(wording.listNames([]), "");
  assertEquals(wording.listNames(["ann"]), "ann");
  assertEquals(wording.listNames(["ann", "bob", "carol"]), "ann, bob and carol");
  assertEquals(wording.listNames(["ann", "bob"], 5), "ann, bob and 3 more");
  assertEquals(
    wording.presence([
      { change: "joined", names: ["ann"], count: 1 },
      { change: "left", names: ["bob", "carol"], count: 2 },
      { change: "moved", names: ["dan"], count: 1, to: "dev" },
    ]),
    "ann joined; bob and carol left; dan went to dev",
  );
  const generic = wording.errorText({ code: "somethingNew" });
  assertEquals(generic, "The server refused that (somethingNew).");
  // Every code the server's text protocol has a sentence for gets one of the page's own.
  const codes = [
    "badName",
    "nameTaken",
    "nameReserved",
    "nameFirst",
    "noNameInTime",
    "nameLost",
    "lineTooLong",
    "tooManyLongLines",
    "tooFast",
    "usage",
    "unknownCommand",
    "noSuchMember",
    "noSuchRoom",
    "thatIsYou",
    "topicTooLong",
    "historyTooFast",
    "tooManyRooms",
    "tooManyRoomsFromAddress",
    "serverFull",
    "tooManyFromAddress",
    "connectingTooFast",
    "nameRegistered",
    "accountRequired",
    "registrationClosed",
    "registerThrottled",
    "alreadyLoggedIn",
    "notLoggedIn",
    "noSuchAccount",
    "badPassword",
    "wrongPassword",
    "loginThrottled",
    "loginBusy",
    "internal",
  ];
  for (const code of codes) {
    const fields = {
      name: "ann",
      max: 9,
      room: "dev",
      command: "/x",
      seconds: 3,
      usage: "/x Y",
      account: "ann",
      reason: "why",
    };
    const text = wording.errorText({ code, ...fields });
    assert(!text.startsWith("The server refused that"), code);
    assert(!/undefined|\(\)| {2}/.test(text), `${code}: ${text}`);
  }
});

test("page: account replies in its own words (whois: logged in, a guest, or not known)", () => {
  assertEquals(wording.say.whois("ann", "lobby", "ann"), "ann is in lobby, logged in as ann.");
  assertEquals(wording.say.whois("bob", "dev", null), "bob is in dev, not logged in.");
  assertEquals(wording.say.whois("cat", null, undefined), "cat is in no room.");
  assertEquals(
    wording.say.registered("ann", false),
    "ann is now your account. Accounts on this server last until it stops.",
  );
  assertEquals(wording.say.registered("ann", true), "ann is now your account.");
});

test("page: moderation, roles, counts and days in its own words", () => {
  assertEquals(wording.moderation("ann", "op", "bob"), "ann gave operator to bob.");
  assertEquals(wording.moderation("ann", "kick", "bob", "spam"), "ann kicked bob (spam).");
  assertEquals(wording.moderation("ann", "mode", "+m"), "ann set modes +m.");
  assertEquals(wording.moderation("ann", "claim"), "ann claimed the room.");
  assertEquals(
    wording.say.modes("dev", "+nt", "ann", ["bob"], []),
    "Modes of dev: +nt; held by ann; operators: bob.",
  );
  assertEquals(wording.say.bans("mutes", "dev", []), "Muted in dev: no one.");
  assertEquals(wording.say.kicked("ann", "dev"), "ann kicked you out of dev.");
  assertEquals(wording.say.counts(2, 1), "2 unread, 1 mention");
  assertEquals(wording.say.counts(0, 3), "3 mentions");
  assertEquals(wording.say.day(new Date()), "Today");
  const yesterday = new Date();
  yesterday.setDate(yesterday.getDate() - 1);
  assertEquals(wording.say.day(yesterday), "Yesterday");
  assert(/2020/.test(wording.say.day(new Date(2020, 0, 15))));
  for (const code of ["notOperator", "banned", "muted", "needsAccount", "notInRoom", "roomFull"]) {
    const text = wording.errorText({ code, room: "dev", name: "bob", max: 5 });
    assert(!text.startsWith("The server refused that") && !/undefined/.test(text), code);
  }
});
