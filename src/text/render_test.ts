/**
 * Pins the text rendering of every event to the protocol's wording (`say`), byte for
 * byte, and that what the client and the page read back from those lines
 * (`readNotice`, `helloName`, …) is the event's data again.
 *
 * @module
 */

import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { type ErrorCode, type Event, failed, type Problem } from "../core/events.ts";
import {
  helloName,
  limitsLine,
  lineLimit,
  NAME_PROMPT,
  nameChange,
  privateReceipt,
  readNotice,
  roomChange,
  say,
  WELCOME,
} from "./protocol.ts";
import { renderText } from "./render.ts";
import { test } from "../../tests/test_util.ts";

const time = Date.UTC(2026, 0, 2, 3, 4, 5);
const chat = (kind: "message" | "action" | "private") =>
  ({ kind, from: "ann", room: "lobby", to: "bob", text: "hi there", time }) as const;

/** Every event kind but errors, with the lines today's wording gives it. */
const EXPECTED: [Event, string][] = [
  [{ type: "chat", time, message: chat("message") }, "ann: hi there"],
  [{ type: "chat", time, message: chat("action") }, "* ann hi there"],
  [{ type: "chat", time, message: chat("private") }, "ann (private): hi there"],
  [
    {
      type: "presence",
      time,
      room: "lobby",
      groups: [{ change: "left", names: ["ann"], count: 1, reason: "quit: bye" }],
    },
    say.left("ann", "quit: bye"),
  ],
  [
    {
      type: "presence",
      time,
      room: "lobby",
      groups: [
        { change: "joined", names: ["ann", "bob"], count: 2 },
        { change: "left", names: ["cat"], count: 1 },
        { change: "moved", names: ["dan"], count: 1, to: "dev" },
      ],
    },
    say.happenings(["ann and bob joined", "cat left", "dan went to dev"]),
  ],
  [
    {
      type: "presence",
      time,
      room: "lobby",
      groups: [{ change: "joined", names: ["a", "b"], count: 30 }],
    },
    say.joined("a, b and 10 more"),
  ],
  [{ type: "rename", time, old: "ann", name: "anna", self: true }, say.renamed("anna")],
  [
    { type: "rename", time, old: "ann", name: "anna", self: false },
    say.othersRenamed("ann", "anna"),
  ],
  [{ type: "topic", time, room: "dev", topic: "tests", by: "ann" }, say.topicSet("ann", "tests")],
  [{ type: "greeting", time, maxLine: 4096 }, [WELCOME, limitsLine(4096), NAME_PROMPT].join("\n")],
  [{ type: "prompt", time }, NAME_PROMPT],
  [
    { type: "welcome", time, name: "ann", room: "lobby", others: ["bob"], count: 1, topic: "" },
    say.hello("ann", ["bob"], 1),
  ],
  [
    { type: "welcome", time, name: "ann", room: "lobby", others: [], count: 0, topic: "hi" },
    `${say.hello("ann", [], 0)}\n${say.topicIs("lobby", "hi")}`,
  ],
  [
    { type: "entered", time, room: "dev", others: ["bob", "cat"], count: 2, topic: "" },
    say.nowIn("dev", ["bob", "cat"], 2),
  ],
  [
    { type: "entered", time, room: "dev", others: [], count: 0, topic: "tests" },
    `${say.nowIn("dev", [], 0)}\n${say.topicIs("dev", "tests")}`,
  ],
  [{ type: "alreadyIn", time, room: "dev" }, say.alreadyIn("dev")],
  [{ type: "alreadyNamed", time, name: "ann" }, say.alreadyNamed("ann")],
  [{ type: "topicIs", time, room: "dev", topic: "tests" }, say.topicIs("dev", "tests")],
  [{ type: "topicIs", time, room: "dev", topic: "" }, say.noTopic("dev")],
  [
    { type: "who", time, room: "dev", names: ["ann", "bob"], count: 3 },
    say.online("dev", ["ann", "bob"], 3),
  ],
  [
    {
      type: "rooms",
      time,
      rooms: [{ name: "dev", members: 2, topic: "tests" }, {
        name: "lobby",
        members: 1,
        topic: "",
      }],
      count: 3,
    },
    [
      say.roomsHeader(3),
      say.roomEntry("dev", 2, "tests"),
      say.roomEntry("lobby", 1, ""),
      say
        .moreRooms(1),
    ].join("\n"),
  ],
  [
    {
      type: "history",
      time,
      room: "dev",
      earlier: false,
      entries: [{ id: "0000000000000a", kind: "message", from: "ann", text: "hi", time }],
    },
    [say.historyHeader("dev", 1), "[2026-01-02T03:04:05Z] ann: hi", say.historyEnd].join("\n"),
  ],
  [
    {
      type: "history",
      time,
      room: "dev",
      earlier: true,
      entries: [
        { id: "0000000000000a", kind: "message", from: "ann", text: "hi", time },
        { id: "0000000000000b", kind: "action", from: "bob", text: "waves", time },
      ],
    },
    [
      say.earlierHeader("dev", 2),
      "[2026-01-02T03:04:05Z] ann: hi",
      "[2026-01-02T03:04:05Z] * bob waves",
      say.historyEnd,
    ].join("\n"),
  ],
  [{ type: "noEarlier", time, room: "dev" }, say.noEarlier("dev")],
  [
    { type: "help", time, commands: [{ usage: "/who [ROOM]", summary: "who is here" }] },
    [say.helpHeader, say.helpEntry("/who [ROOM]", "who is here")].join("\n"),
  ],
  [{ type: "privateSent", time, to: "bob", text: "psst" }, say.privateSent("bob", "psst")],
  [{ type: "bye", time }, say.bye],
  [{ type: "shutdown", time, reason: say.shuttingDown }, "-- server shutting down"],
  // Accounts: a logged-in name is marked with `*` in /who.
  [
    { type: "who", time, room: "lobby", names: ["ann", "bob"], count: 2, loggedIn: ["ann"] },
    "-- Online in lobby (2): ann*, bob",
  ],
  [
    { type: "whois", time, name: "ann", room: "dev", account: "ann" },
    "-- ann is in dev, logged in as ann",
  ],
  [
    { type: "whois", time, name: "ann", room: "dev", account: "ann", connections: 2 },
    "-- ann is in dev, logged in as ann, on 2 connections",
  ],
  [{ type: "passwordPrompt", time, name: "ann" }, say.passwordPrompt("ann")],
  [
    { type: "registered", time, name: "ann", persistent: false },
    "-- ann is now your account; log in with /login ann PASSWORD (accounts last until the server stops)",
  ],
  [{ type: "loggedIn", time, account: "ann" }, "-- You are logged in as ann"],
  [
    { type: "loggedOut", time, account: "ann" },
    "-- You are logged out of ann; you keep your name until you leave or change it",
  ],
  [{ type: "passwordChanged", time, account: "ann" }, "-- The password of ann is changed"],
  [
    { type: "unregistered", time, account: "ann" },
    "-- The account ann is deleted; its name is free for anyone",
  ],
  [
    {
      type: "moderation",
      time,
      room: "dev",
      by: "ann",
      action: "kick",
      target: "bob",
      reason: "spam",
    },
    "-- ann kicked bob (spam)",
  ],
  [
    { type: "kicked", time, room: "dev", by: "ann", reason: "spam" },
    "-- ann kicked you out of dev (spam)",
  ],
  [{ type: "invited", time, room: "dev", by: "ann" }, "-- ann invites you to dev: /join dev"],
  [{ type: "killed", time, by: "ann", reason: "spam" }, "-- ann disconnected you (spam)"],
  [{ type: "killed", time, by: "ann" }, "-- ann disconnected you"],
  [{ type: "deleted", time, room: "dev", id: "x", by: "ann" }, "-- ann deleted a message"],
  [
    { type: "hookCreated", time, id: "ab", room: "ci", name: "ci", path: "/hooks/T", url: "" },
    "-- Webhook ab for ci: POST to /hooks/T (keep it secret; it is shown only now)",
  ],
  [{ type: "hookDeleted", time, id: "ab", room: "ci" }, "-- Webhook ab for ci is deleted"],
  [
    { type: "hooks", time, hooks: [{ id: "ab", room: "ci", name: "ci", by: "ann", created: 0 }] },
    "-- Webhooks (1):\n--   ab in ci as ci (by ann)",
  ],
  [
    {
      type: "chat",
      time,
      message: { kind: "message", from: "ci", room: "ci", text: "build passed", time, bot: true },
    },
    "ci [bot]: build passed",
  ],
  [
    { type: "deleted", time, room: "dev", id: "x", by: "ann", from: "bob", reason: "spam" },
    "-- ann deleted a message by bob (spam)",
  ],
  [
    { type: "deleted", time, room: "dev", id: "x", by: "ann", from: "ann" },
    "-- ann deleted one of their messages",
  ],
  [{ type: "announcement", time, by: "ann", text: "hi" }, "-- Announcement from ann: hi"],
  [
    { type: "bans", time, room: "dev", list: "bans", masks: [{ mask: "bob", by: "ann" }] },
    "-- Bans of dev (1):\n--   bob (by ann)",
  ],
  [
    { type: "modes", time, room: "dev", modes: "+nt", founder: "ann", ops: ["cy"], voices: [] },
    "-- Modes of dev: +nt; held by ann; operators: cy",
  ],
  [
    {
      type: "kline",
      time,
      kline: { mask: "192.0.2.0/24", by: "ann", time: 0, expires: 7_200_000, reason: "spam" },
      removed: false,
      disconnected: 2,
    },
    "-- Server ban on 192.0.2.0/24 until 1970-01-01 02:00 UTC (spam); 2 connections ended",
  ],
  [
    {
      type: "klines",
      time,
      klines: [{ mask: "account:bob", by: "ann", time: 0, expires: null, reason: "" }],
    },
    "-- Server bans (1):\n--   account:bob by ann at 1970-01-01 00:00 UTC, for good",
  ],
  [
    {
      type: "searchResults",
      time,
      text: "deploy",
      results: [
        { id: "a", kind: "action", from: "ann", text: "deploys", time, room: "dev" },
        { id: "b", kind: "message", from: "bob", text: "deploy now?", time, with: "bob" },
      ],
      more: true,
    },
    '-- search for "deploy": 2 lines, newest first\n' +
    "[2026-01-02T03:04:05Z] (dev) * ann deploys\n" +
    "[2026-01-02T03:04:05Z] (with bob) bob: deploy now?\n" +
    "-- end of search (there is more: add words to narrow it)",
  ],
  [
    { type: "searchResults", time, text: "x y", results: [], more: false },
    '-- search for "x y": nothing found\n-- end of search',
  ],
  [
    { type: "readMarker", time, room: "dev", id: "0000000000000000000", read: time },
    "-- read up to 0000000000000000000 in dev",
  ],
];

/** A kept private message of ann's to bo, and bo's answer. */
const PRIVATE_A = {
  id: "a",
  kind: "private",
  from: "ann",
  to: "bo",
  text: "hi",
  time: 0,
  account: "ann",
  toAccount: "bo",
} as const;
const PRIVATE_B = { ...PRIVATE_A, id: "b", from: "bo", to: "ann", account: "bo", toAccount: "ann" };

Deno.test("a private conversation's page shows the other's lines as they came, one's own as receipts", () => {
  const event = {
    type: "privateHistory",
    time,
    with: "bo",
    earlier: true,
    entries: [PRIVATE_A, PRIVATE_B],
    more: false,
  } as const;
  assertEquals(
    renderText(event),
    [
      "-- earlier with bo (private): 2 lines, oldest first",
      "[1970-01-01T00:00:00Z] to bo (private): hi",
      "[1970-01-01T00:00:00Z] bo (private): hi",
      "-- end of history",
    ].join("\n"),
  );
  assertEquals(
    renderText({ ...event, entries: [PRIVATE_B], away: true }).split("\n")[0],
    "-- while you were away, bo wrote (private): 1 line, oldest first",
  );
  assertEquals(renderText({ ...event, entries: [] }), "-- no earlier private history with bo");
  assertEquals(
    renderText({ type: "heldForLater", time, to: "bo" }),
    "-- bo is away; your message will be delivered when they next log in",
  );
});

/** Every error code, with its line in today's wording. */
const ERRORS: Record<ErrorCode, [Problem, string]> = {
  tooFast: [{ code: "tooFast" }, "!! too much input too fast; goodbye"],
  noSuchMessage: [
    { code: "noSuchMessage", room: "dev", id: "x" },
    "!! no message x is kept here",
  ],
  tooManyHooks: [{ code: "tooManyHooks", max: 20 }, "!! too many webhooks (at most 20 a room)"],
  noSuchHook: [
    { code: "noSuchHook", id: "ab" },
    "!! there is no webhook ab; /hook list shows them",
  ],
  deleteForbidden: [
    { code: "deleteForbidden", room: "dev", id: "x" },
    "!! only its author or an operator may delete that message",
  ],
  badName: [
    { code: "badName", name: "", reason: "a name cannot be empty" },
    say.badName(
      "a name cannot be empty",
    ),
  ],
  nameTaken: [{ code: "nameTaken", name: "ann" }, say.nameTaken("ann")],
  nameReserved: [{ code: "nameReserved", name: "NS" }, say.nameReserved("NS")],
  nameFirst: [{ code: "nameFirst" }, say.nameFirst],
  noNameInTime: [{ code: "noNameInTime" }, say.noNameInTime],
  nameLost: [{ code: "nameLost", name: "ann" }, say.nameLost("ann")],
  lineTooLong: [{ code: "lineTooLong", max: 4096 }, say.lineTooLong(4096)],
  tooManyLongLines: [{ code: "tooManyLongLines" }, say.tooManyLongLines],
  usage: [{ code: "usage", usage: "/msg NAME TEXT" }, say.usage("/msg NAME TEXT")],
  unknownCommand: [{ code: "unknownCommand", command: "/x" }, say.unknownCommand("/x")],
  noSuchMember: [{ code: "noSuchMember", name: "zed" }, say.noSuchMember("zed")],
  noSuchRoom: [{ code: "noSuchRoom", room: "nowhere" }, say.noSuchRoom("nowhere")],
  thatIsYou: [{ code: "thatIsYou" }, say.thatIsYou],
  topicTooLong: [{ code: "topicTooLong", max: 300 }, say.topicTooLong(300)],
  historyTooFast: [{ code: "historyTooFast", seconds: 3 }, say.historyTooFast(3)],
  heldFull: [
    { code: "heldFull", name: "ann" },
    "!! too many messages are waiting for ann; try again later",
  ],
  tooManyRooms: [{ code: "tooManyRooms", max: 9, room: "x" }, say.tooManyRooms(9)],
  tooManyJoined: [{ code: "tooManyJoined", max: 20, room: "x" }, say.tooManyJoined(20)],
  tooManyRoomsFromAddress: [
    { code: "tooManyRoomsFromAddress", max: 4, room: "x" },
    say.tooManyRoomsFromAddress(4),
  ],
  nameRegistered: [
    { code: "nameRegistered", name: "ann" },
    "!! the name ann is registered; log in with /login ann PASSWORD",
  ],
  accountElsewhere: [
    { code: "accountElsewhere", name: "ann" },
    "!! ann is connected on another server; one account's connections share a server",
  ],
  accountRequired: [{ code: "accountRequired", name: "zed" }, say.accountRequired("zed")],
  registrationClosed: [{ code: "registrationClosed" }, say.registrationClosed],
  registerThrottled: [
    { code: "registerThrottled", seconds: 8 },
    "!! too many accounts made from your address lately; try again in 8 s",
  ],
  alreadyLoggedIn: [{ code: "alreadyLoggedIn", account: "ann" }, say.alreadyLoggedIn("ann")],
  notLoggedIn: [{ code: "notLoggedIn" }, "!! you are not logged in; /login NAME PASSWORD"],
  noSuchAccount: [{ code: "noSuchAccount", name: "zed" }, "!! there is no account zed"],
  badPassword: [
    { code: "badPassword", reason: "a password cannot be empty" },
    "!! a password cannot be empty",
  ],
  wrongPassword: [{ code: "wrongPassword", name: "ann" }, "!! wrong password for ann"],
  loginThrottled: [
    { code: "loginThrottled", seconds: 4 },
    "!! too many wrong passwords; try again in 4 s",
  ],
  loginBusy: [{ code: "loginBusy" }, say.loginBusy],
  notOperator: [{ code: "notOperator", room: "dev" }, "!! you are not an operator of dev"],
  notServerOperator: [{ code: "notServerOperator" }, "!! you are not a server operator"],
  banned: [{ code: "banned", room: "dev" }, "!! you are banned from dev"],
  inviteOnly: [
    { code: "inviteOnly", room: "dev" },
    "!! dev is invite-only; an operator can /invite you",
  ],
  badKey: [{ code: "badKey", room: "dev" }, "!! dev needs its key: /join dev KEY"],
  roomFull: [{ code: "roomFull", room: "dev", max: 2 }, "!! dev is full (at most 2 members)"],
  moderated: [
    { code: "moderated", room: "dev" },
    "!! dev is moderated: only voiced members and operators speak; it was not sent",
  ],
  muted: [{ code: "muted", room: "dev" }, "!! you are muted in dev; it was not sent"],
  badMask: [
    { code: "badMask", mask: "a b" },
    "!! a b is no mask: NAME, account:NAME, an address or CIDR (* and ? match)",
  ],
  noSuchMask: [{ code: "noSuchMask", mask: "zed" }, "!! zed is not on the list"],
  badMode: [
    { code: "badMode", mode: "+x" },
    "!! cannot set +x; modes: +t +n +m +i +s, +k KEY, +l N (- takes one off)",
  ],
  needsAccount: [
    { code: "needsAccount", name: "zed" },
    "!! zed is not logged in; roles belong to accounts",
  ],
  notInRoom: [{ code: "notInRoom", name: "zed", room: "dev" }, "!! zed is not in dev"],
  roomHeld: [
    { code: "roomHeld", room: "dev", founder: "ann" },
    "!! dev is held by ann already",
  ],
  searchTooLong: [{ code: "searchTooLong", max: 200 }, "!! a search is at most 200 characters"],
  internal: [{ code: "internal" }, say.internalError],
  klined: [
    { code: "klined", reason: "spam", expires: null },
    "!! you are banned from this server for good: spam",
  ],
  tooManyKlines: [
    { code: "tooManyKlines", max: 1000 },
    "!! the kline list is full (1000); /unkline some first",
  ],
  badDuration: [
    { code: "badDuration", text: "soon" },
    "!! soon is no duration: 30m, 2h, 7d, 1w (at most a year) or perm",
  ],
  tooManyMasks: [
    { code: "tooManyMasks", room: "dev", list: "bans", max: 100 },
    "!! dev has 100 bans already, the most it keeps; lift some first",
  ],
  moderationTooFast: [
    { code: "moderationTooFast", seconds: 3 },
    "!! too many moderation actions at once; try again in 3 s",
  ],
};

test("text: every event renders as today's wording, byte for byte", () => {
  for (const [event, lines] of EXPECTED) assertEquals(renderText(event), lines, event.type);
  const kinds = new Set(EXPECTED.map(([event]) => event.type));
  const chatKinds = new Set(
    EXPECTED.flatMap(([event]) => event.type === "chat" ? [event.message.kind] : []),
  );
  assertEquals(kinds.size, 41, "every event type but errors");
  assertEquals(chatKinds.size, 3, "message, action and private");
});

test("text: every error code renders as today's wording", () => {
  for (const [code, [problem, line]] of Object.entries(ERRORS)) {
    assertEquals(problem.code, code);
    assertEquals(renderText(failed(problem)), line, code);
  }
});

test("text: what the client and the page read back is the event's data", () => {
  const read = (event: Event) => readNotice(renderText(event).slice(3));
  assertEquals(read({ type: "who", time, room: "dev", names: ["ann", "bob"], count: 3 }), {
    kind: "online",
    room: "dev",
    total: 3,
    names: ["ann", "bob"],
  });
  assertEquals(
    read({ type: "who", time, room: "dev", names: ["ann", "bob"], count: 2, loggedIn: ["bob"] }),
    { kind: "online", room: "dev", total: 2, names: ["ann", "bob"], loggedIn: ["bob"] },
  );
  assertEquals(read({ type: "topicIs", time, room: "dev", topic: "a: b" }), {
    kind: "topicIs",
    room: "dev",
    topic: "a: b",
  });
  assertEquals(read({ type: "topicIs", time, room: "dev", topic: "" }), {
    kind: "noTopic",
    room: "dev",
  });
  assertEquals(read({ type: "topic", time, room: "dev", topic: "t", by: "ann" }), {
    kind: "topicSet",
    name: "ann",
    topic: "t",
  });
  assertEquals(read({ type: "noEarlier", time, room: "dev" }), { kind: "noEarlier", room: "dev" });
  assertEquals(read({ type: "bye", time }), { kind: "bye" });
  assertEquals(
    read({
      type: "presence",
      time,
      room: "x",
      groups: [{ change: "joined", names: ["a"], count: 1 }, {
        change: "moved",
        names: ["b", "c"],
        count: 2,
        to: "dev",
      }],
    }),
    { kind: "presence" },
  );
  assertEquals(read({ type: "rename", time, old: "a", name: "b", self: false }), {
    kind: "presence",
  });
  const rooms = renderText({
    type: "rooms",
    time,
    rooms: [{ name: "dev", members: 2, topic: "t" }],
    count: 2,
  }).split("\n").map((line) => readNotice(line.slice(3)));
  assertEquals(rooms, [
    { kind: "rooms", count: 2 },
    { kind: "roomEntry", room: "dev", members: 2, topic: "t" },
    { kind: "moreRooms", count: 1 },
  ]);
  const history = renderText({
    type: "history",
    time,
    room: "dev",
    earlier: true,
    entries: [{ id: "00000000000001", kind: "message", from: "a", text: "x", time }],
  }).split("\n");
  assertEquals(readNotice(history[0].slice(3)), {
    kind: "historyHeader",
    room: "dev",
    earlier: true,
    count: 1,
  });
  assertEquals(readNotice(history[2].slice(3)), { kind: "historyEnd" });
  const welcome = {
    type: "welcome",
    time,
    name: "ann",
    room: "lobby",
    others: [],
    count: 0,
    topic: "",
  } as const;
  assertEquals(helloName(renderText(welcome)), "ann");
  const entered = { type: "entered", time, room: "dev", others: [], count: 0, topic: "" } as const;
  assertEquals(roomChange(renderText(entered)), "dev");
  assertEquals(
    nameChange(renderText({ type: "rename", time, old: "a", name: "b", self: true })),
    "b",
  );
  assertEquals(lineLimit(renderText({ type: "greeting", time, maxLine: 999 }).split("\n")[1]), 999);
  assertEquals(privateReceipt(renderText({ type: "privateSent", time, to: "bob", text: "x y" })), {
    to: "bob",
    text: "x y",
  });
});
