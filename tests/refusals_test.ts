/**
 * One permission check, three renderings: every moderation refusal is decided once in
 * the core (`src/core/moderation.ts`) and each front-end only words it. A member on the
 * text protocol, one on JSON and one on IRC try the same forbidden things in one room;
 * each gets the same refusal, as its own protocol says it.
 */

import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { MemoryConnection, MemoryHub, test } from "./test_util.ts";
import { IrcFront } from "../src/irc/irc.ts";
import { Cloaks } from "../src/core/cloak.ts";
import { failed, type Problem } from "../src/core/events.ts";
import { renderText } from "../src/text/render.ts";
import { type Json, JsonClient } from "../src/json/json_test_util.ts";

/** The three members, and what each front-end is asked to do for one action. */
interface Trio {
  text: MemoryConnection;
  json: JsonClient;
  irc: MemoryConnection;
}

/** One thing each front-end tries, in its own words. */
interface Attempt {
  text: string;
  irc: string;
}

/** The text line, the JSON error object and the IRC numeric a refusal gives. */
function refusals(trio: Trio, attempt: Attempt): [string | undefined, Json | undefined, string] {
  trio.text.say(attempt.text);
  trio.json.send({ type: "line", text: attempt.text });
  trio.irc.say(attempt.irc);
  const text = trio.text.take().filter((line) => line.startsWith("!!")).at(-1);
  const json = trio.json.take().filter((object) => object.type === "error").at(-1);
  const numerics = trio.irc.take().map((line) => line.split(" ")[1] ?? "")
    .filter((word) => /^[0-9]{3}$/.test(word) && !/^(353|366|332|333|324|329)$/.test(word));
  return [text, json, numerics.at(-1) ?? ""];
}

/** Asserts each front-end rendered `problem` (IRC as `numeric`). */
function assertRefused(
  trio: Trio,
  attempt: Attempt,
  problem: Problem,
  numeric: string,
): void {
  const [text, json, irc] = refusals(trio, attempt);
  assertEquals(text, renderText(failed(problem)), `text: ${attempt.text}`);
  assertEquals(json, { type: "error", ...problem }, `JSON: ${attempt.text}`);
  assertEquals(irc, numeric, `IRC: ${attempt.irc}`);
}

/** Puts the three back in dev (they were sent out by a ban), everything they were told taken. */
function rejoin(trio: Trio): void {
  trio.text.say("/join dev");
  trio.json.send({ type: "line", text: "/join dev" });
  trio.irc.say("JOIN #dev");
  trio.text.take();
  trio.json.take();
  trio.irc.take();
}

test("refusals: the core decides, and text, JSON and IRC each say the same refusal", () => {
  using hub = new MemoryHub({ replay: 0 });
  const front = new IrcFront(hub, {
    serverName: "irc.test",
    pingInterval: 60_000,
    cloaks: new Cloaks("a test key, sixteen characters or more"),
  });
  try {
    const op = hub.member("op");
    op.say("/join dev"); // made by a guest: op operates it while it stays
    op.take();
    const text = hub.member("tess");
    const json = new JsonClient(hub);
    json.send({ type: "hello", name: "jay" });
    const irc = new MemoryConnection();
    irc.session = front.session(irc);
    hub.connect(irc, irc.session);
    irc.say("NICK ivy", "USER ivy 0 * :Ivy");
    const trio = { text, json, irc };
    rejoin(trio);
    op.take();
    const room = "dev";

    // Operators' commands, from members who are not.
    assertRefused(
      trio,
      { text: "/kick op", irc: "KICK #dev op" },
      { code: "notOperator", room },
      "482",
    );
    assertRefused(
      trio,
      { text: "/mode +m", irc: "MODE #dev +m" },
      { code: "notOperator", room },
      "482",
    );
    assertRefused(trio, { text: "/topic mine now", irc: "TOPIC #dev :mine now" }, {
      code: "notOperator",
      room,
    }, "482");
    assertRefused(trio, { text: "/kline spam* 1h", irc: "KLINE 1h spam*" }, {
      code: "notServerOperator",
    }, "481");

    // Speaking in a moderated room, then muted.
    op.say("/mode +m");
    assertRefused(trio, { text: "hello", irc: "PRIVMSG #dev :hello" }, {
      code: "moderated",
      room,
    }, "404");
    op.say("/mode -m", "/mute tess", "/mute jay", "/mute ivy");
    assertRefused(
      trio,
      { text: "hello", irc: "PRIVMSG #dev :hello" },
      { code: "muted", room },
      "404",
    );
    op.say("/unmute tess", "/unmute jay", "/unmute ivy");

    // Coming back in: banned, invite-only, a key, a full room.
    op.say("/ban tess", "/ban jay", "/ban ivy");
    const join = { text: "/join dev", irc: "JOIN #dev" };
    assertRefused(trio, join, { code: "banned", room }, "474");
    op.say("/unban tess", "/unban jay", "/unban ivy", "/mode +i");
    assertRefused(trio, join, { code: "inviteOnly", room }, "473");
    op.say("/mode -i", "/mode +k sesame");
    assertRefused(trio, join, { code: "badKey", room }, "475");
    op.say("/mode -k", "/mode +l 1");
    assertRefused(trio, join, { code: "roomFull", room, max: 1 }, "471");
    op.say("/mode -l");
    rejoin(trio);
    assertEquals(hub.rooms.get("dev")?.members.size, 4, "all back in once the modes are off");
  } finally {
    front.close();
  }
});
