/**
 * Pins the operator's log: text and JSON lines, summaries of repeated events,
 * bracketed IPv6 addresses, a queue that drops rather than blocks, and a
 * verbose log that never shows private messages.
 *
 * @module
 */

import { deepStrictEqual as assertEquals, match as assertMatch } from "node:assert/strict";
import { AsyncLog, hostPort, ServerLog } from "./log.ts";
import { MemoryHub, test } from "../../tests/test_util.ts";

test("events log as text or as one JSON object per line", () => {
  const lines: string[] = [];
  const text = new ServerLog((line) => lines.push(line));
  const json = new ServerLog((line) => lines.push(line), "json");
  const event = {
    event: "leave",
    name: "ann",
    room: "dev",
    address: "[::1]:5",
    reason: "x",
  } as const;
  text.event(event);
  json.event(event);
  assertEquals(lines[0], "- ann left from [::1]:5 (x)");
  const parsed = JSON.parse(lines[1]);
  assertMatch(parsed.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d/);
  assertEquals({ ...parsed, time: undefined }, { ...event, time: undefined });
});

test("a repeated event is logged once, then summed up when the interval ends", () => {
  const lines: string[] = [];
  const log = new ServerLog((line) => lines.push(line), "text", 60_000);
  for (let i = 0; i < 5; i++) {
    log.repeated({ event: "refused", address: `1.2.3.${i}:1`, reason: "full" });
  }
  log.repeated({ event: "name-timeout", address: "1.2.3.9:1" });
  assertEquals(lines, ["refused a connection from 1.2.3.0:1 (full)"]);
  log.close();
  assertEquals(
    lines[1],
    "in the last 60 s, also: 4 × refused a connection (full); 1 × no name given in time",
  );
});

test("a summary of failed logins names no account (its lines differ by account)", () => {
  const lines: string[] = [];
  const log = new ServerLog((line) => lines.push(line), "text", 60_000);
  for (const name of ["ann", "bob", "cy"]) {
    log.repeated({ event: "login-failed", name, address: "1.2.3.4:1" });
    log.repeated({ event: "login-throttled", name, address: "1.2.3.4:1" });
  }
  assertEquals(lines, ["wrong password for ann from 1.2.3.4:1"]);
  log.close();
  assertEquals(
    lines[1],
    "in the last 60 s, also: 3 × login refused, too many failures; 2 × wrong password",
  );
});

test("IPv6 hosts are bracketed", () => {
  assertEquals(hostPort("::1", 1801), "[::1]:1801");
  assertEquals(hostPort("127.0.0.1", 1801), "127.0.0.1:1801");
});

test("a log whose writer stalls drops lines past its queue and says how many", async () => {
  const written: string[] = [];
  let release!: () => void;
  const stalled = new Promise<void>((resolve) => release = resolve);
  const log = new AsyncLog(async (bytes) => {
    await stalled;
    written.push(new TextDecoder().decode(bytes));
  }, 3);
  for (let i = 0; i < 10; i++) log.line(`line ${i}`); // 0 is being written; 1-3 wait; 4-9 dropped
  release();
  await log.flush();
  assertEquals(
    written.join(""),
    "line 0\nline 1\nline 2\nline 3\n-- 6 log lines dropped (the log's reader fell behind)\n",
  );
});

test("--verbose logs public messages and actions, never private ones", () => {
  using hub = new MemoryHub({ verbose: true });
  const ann = hub.member("ann");
  hub.member("bob");
  ann.say("hello", "/me waves", "/msg bob secret");
  const words = hub.logged.filter((line) => line.startsWith("lobby: "));
  assertEquals(words, ["lobby: ann: hello", "lobby: * ann waves"]);
  assertEquals(hub.logged.some((line) => line.includes("secret")), false);
});
