/**
 * Pins a session's flood control over input it throws away: over-long lines
 * cost tokens by their bytes, an endless line included, and a client that
 * keeps sending them is dropped, whatever protocol it speaks.
 *
 * @module
 */

import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { IrcFront } from "../irc/irc.ts";
import { reasons } from "./protocol.ts";
import { say } from "../text/protocol.ts";
import { NO_LISTENER } from "../ops/metrics.ts";
import { MemoryConnection, MemoryHub, test } from "../../tests/test_util.ts";

const encoder = new TextEncoder();

test("an endless line costs flood-control tokens by its bytes: the session is paused", async () => {
  using hub = new MemoryHub({ rate: 100, burst: 10, maxLine: 4096 });
  const ann = hub.member("ann"); // the name took 1 token of 10
  const bob = hub.member("bob");
  ann.take();
  const resumed = ann.resumed();
  // 12 KiB and no newline: refused at once, then skipped; 24 tokens' worth.
  for (let i = 0; i < 3; i++) ann.session.receive(encoder.encode("a".repeat(4096)));
  assertEquals(ann.paused, true);
  await resumed;
  // Paid for: the line's end and what follows are read again, and nothing else was lost.
  ann.say("aaa", "hello");
  while (ann.paused) await ann.resumed();
  assertEquals(ann.take(), [say.lineTooLong(4096)]);
  assertEquals(bob.take(), ["ann: hello"]);
  assertEquals(ann.closed, undefined);
});

test("a client that keeps sending over-long lines is told and dropped, with the reason", async () => {
  using hub = new MemoryHub({ maxLine: 100 }); // flood control off: this is what stops it
  const ann = hub.member("ann");
  const bob = hub.member("bob");
  ann.take();
  const events: string[] = [];
  const log = hub.log.repeated.bind(hub.log);
  hub.log.repeated = (e) => (events.push(e.event), log(e));
  for (let i = 0; i < 8; i++) ann.say("x".repeat(101));
  assertEquals(ann.take(), Array(8).fill(say.lineTooLong(100)));
  assertEquals(ann.closed, undefined);
  ann.say("x".repeat(101), "not handled");
  assertEquals(ann.take(), [say.tooManyLongLines]);
  assertEquals(ann.closed, true); // drained: the line goes out first
  await ann.whenClosed;
  assertEquals(bob.take(), [say.left("ann", reasons.longLines)]);
  assertEquals(events.filter((event) => event === "long-lines").length, 1); // for /metrics
});

test("one endless line is dropped once it passes 16 times --max-line", () => {
  using hub = new MemoryHub({ maxLine: 1024 });
  const shy = hub.open(); // before a name, too
  for (let i = 0; i < 16; i++) shy.session.receive(encoder.encode("y".repeat(1024)));
  assertEquals(shy.closed, undefined);
  shy.session.receive(encoder.encode("y"));
  assertEquals(shy.closed, true);
  assertEquals(shy.take().at(-1), say.tooManyLongLines);
});

test("an IRC client sending over-long lines is dropped with an ERROR line", () => {
  using hub = new MemoryHub({ maxLine: 100 });
  const front = new IrcFront(hub, { serverName: "irc.test", pingInterval: 60_000 });
  try {
    const conn = new MemoryConnection();
    conn.session = front.session(conn);
    hub.connect(conn, conn.session);
    for (let i = 0; i < 9; i++) conn.say("PRIVMSG #x :" + "x".repeat(100));
    assertEquals(conn.closed, true);
    assertEquals(conn.take().at(-1), "ERROR :Closing Link: too many over-long lines; goodbye\r");
  } finally {
    front.close();
  }
});

test("/metrics counts a client dropped for over-long lines once, named or not", () => {
  using hub = new MemoryHub({ maxLine: 100 });
  const ann = hub.member("ann");
  const shy = hub.open();
  for (const conn of [ann, shy]) {
    for (let i = 0; i < 9; i++) conn.say("x".repeat(101));
    assertEquals(conn.closed, true);
  }
  const { dropped, linesTooLong } = hub.metrics;
  assertEquals(dropped.total({ reason: "long_lines" }), 2);
  assertEquals(dropped.total(), 2); // and as nothing else
  assertEquals(dropped.with(NO_LISTENER, "long_lines").value, 2);
  assertEquals(linesTooLong.total(), 16); // 8 each: the ninth drops its client, unanswered
});
