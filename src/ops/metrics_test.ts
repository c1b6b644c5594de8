/**
 * Pins the metrics registry: series made at 0 and kept, label checks, gauges read
 * when rendered, and the Prometheus text format with its escapes.
 *
 * @module
 */

import { deepStrictEqual as assertEquals, throws as assertThrows } from "node:assert/strict";
import { ChatMetrics, Registry, renderReading } from "./metrics.ts";
import { test } from "../../tests/test_util.ts";

test("metrics: counters and gauges render as Prometheus text, in the order they were made", () => {
  const registry = new Registry();
  const sent = registry.counter("sent_total", "Things sent.", "listener", "reason");
  const open = registry.gauge("open", "Open things.");
  const bare = registry.counter("bare_total", "No series yet.", "listener");
  const tcp = sent.with("tcp", "slow");
  tcp.inc();
  tcp.inc(2);
  sent.with('a "quoted"\\ line\nbreak', "x").inc();
  let level = 7;
  open.with().readFrom(() => level);
  level = 9; // read when rendered, not when registered
  assertEquals(sent.with("tcp", "slow"), tcp); // the same series, kept
  assertEquals(
    registry.render(),
    "# HELP sent_total Things sent.\n# TYPE sent_total counter\n" +
      'sent_total{listener="tcp",reason="slow"} 3\n' +
      'sent_total{listener="a \\"quoted\\"\\\\ line\\nbreak",reason="x"} 1\n' +
      "# HELP open Open things.\n# TYPE open gauge\nopen 9\n" +
      "# HELP bare_total No series yet.\n# TYPE bare_total counter\n",
  );
  assertEquals([sent.total(), sent.total({ listener: "tcp" }), sent.total({ reason: "y" })], [
    4,
    3,
    0,
  ]);
  assertEquals(bare.total(), 0);
});

test("metrics: wrong label counts, bad names and a name made twice throw", () => {
  const registry = new Registry();
  const sent = registry.counter("sent_total", "Things sent.", "listener");
  assertThrows(() => sent.with(), /sent_total has labels listener/);
  assertThrows(() => sent.with("tcp", "extra"), /sent_total has labels listener/);
  assertThrows(() => registry.gauge("sent_total", "Again."), /there already/);
  assertThrows(() => registry.gauge("bad-name", "Dashes."), /not a metric name/);
  assertThrows(() => registry.gauge("three", "Labels.", "a", "b", "c"), /at most two labels/);
});

test("metrics: a listener's series are there at 0 before anything happens", () => {
  const metrics = new ChatMetrics();
  let open = 2;
  metrics.listen("irc", () => open);
  open = 3;
  const text = metrics.render();
  for (
    const line of [
      'chat_connections{listener="irc"} 3',
      'chat_connections_accepted_total{listener="irc"} 0',
      'chat_connections_refused_total{listener="irc",reason="server_full"} 0',
      'chat_clients_dropped_total{listener="irc",reason="too_slow"} 0',
      'chat_messages_total{listener="irc"} 0',
    ]
  ) {
    assertEquals(text.split("\n").includes(line), true, line);
  }
  assertEquals(
    renderReading("chat_members", "gauge", "Members.", [[{ room: "lobby" }, 2]]),
    '# HELP chat_members Members.\n# TYPE chat_members gauge\nchat_members{room="lobby"} 2\n',
  );
});
