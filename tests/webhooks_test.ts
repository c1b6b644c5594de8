/**
 * Incoming webhooks against a real server on free ports: an operator makes one with
 * `/hook create`, `POST /hooks/TOKEN` posts into the room as a bot (text, IRC with the
 * `bot` tag, JSON with `bot`), and every limit answers as documented: 400 with a JSON
 * reason, 404, 405, 413, 429 with Retry-After; revoked hooks are gone; with `--db` the
 * hook outlives a restart and only its token's SHA-256 is in the file.
 */

import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import type { ChatServer, ServerOptions } from "../server.ts";
import {
  CHEAP,
  eventually,
  HAVE_REDIS,
  LineClient,
  quietServer,
  sanitized,
  startRedis,
  test,
} from "./test_util.ts";
import { toJson } from "../src/json/render.ts";
import { HOOK_BURST } from "../src/core/webhooks.ts";
import { roomKey } from "../src/core/protocol.ts";
import { hookCommand } from "../src/ops/hook_command.ts";

/** A server with the page and IRC on free ports. */
function hookServer(options: ServerOptions = {}): Promise<ChatServer> {
  return quietServer({ web: 0, irc: 0, hashCost: CHEAP, ...options });
}

/** ann, logged in, founder of `ci`; the URL of the hook she makes there. */
async function annWithHook(server: ChatServer): Promise<{ ann: LineClient; url: string }> {
  const ann = await LineClient.join(server, "ann");
  await ann.write("/register ann-password\n");
  await ann.until((line) => line.startsWith("-- ann is now your account"));
  await ann.write("/join ci\n/hook create #ci\n");
  const made = await ann.until((line) => line.startsWith("-- Webhook "));
  const url = /POST to (\S+) /.exec(made)![1];
  return { ann, url };
}

/** POSTs `body` (JSON unless a string) to `url`; the status, the JSON answer, and the headers. */
async function post(url: string, body: unknown, type = "application/json") {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": type },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  const json = await response.json();
  return { status: response.status, json, headers: response.headers };
}

test("webhooks: a POST posts into the room as a bot: text, IRC (bot tag), JSON", async () => {
  await using server = await hookServer({ replay: 20 });
  const { ann, url } = await annWithHook(server);
  using _ann = ann;
  assert(url.startsWith(`http://127.0.0.1:${server.webAddr!.port}/hooks/`), url);
  using bob = await LineClient.join(server, "bob");
  await bob.write("/join ci\n");
  await bob.until((line) => line.startsWith("-- You are now in ci"));
  using irc = await LineClient.connect({ addr: server.ircAddr! });
  await irc.write("CAP REQ :message-tags\r\nNICK ivy\r\nUSER ivy 0 * :ivy\r\nCAP END\r\n");
  await irc.write("JOIN #ci\r\n");
  await irc.until((line) => / 366 /.test(line));

  const sent = await post(url, { text: "build passed", username: "ci" });
  assertEquals(sent.status, 200);
  assertEquals(sent.json.ok, true);
  assertEquals(sent.json.ids.length, 1);
  assertEquals(await bob.until((line) => line.includes("build passed")), "ci [bot]: build passed");
  const line = (await irc.until((line) => line.includes("build passed"))).replace(/\r$/, "");
  assert(/^@[^ ]*\bbot\b[^ ]* :ci\[bot\]!bot@chat PRIVMSG #ci :build passed$/.test(line), line);
  // Kept as a bot's line: a replay shows it as one.
  const entry = server.hub.history.before(roomKey("ci"), 5).at(-1)!;
  assertEquals([entry.from, entry.bot, entry.id], ["ci", true, sent.json.ids[0]]);
  using late = await LineClient.connect({ addr: server.ircAddr! });
  await late.write("CAP REQ :message-tags\r\nNICK lee\r\nUSER lee 0 * :lee\r\nCAP END\r\n");
  await late.write("JOIN #ci\r\n");
  const replayed = (await late.until((line) => line.includes("build passed"))).replace(/\r$/, "");
  assert(
    /^@[^ ]*\bbot\b[^ ]* :ci\[bot\]!bot@chat PRIVMSG #ci :build passed$/.test(replayed),
    replayed,
  );

  // Slack's form body, and the hook's own name when none is given; several lines, several messages.
  const form = "payload=" + encodeURIComponent(JSON.stringify({ text: "deploy\nstarted" }));
  const formed = await post(url, form, "application/x-www-form-urlencoded");
  assertEquals(formed.status, 200);
  assertEquals(await bob.until((line) => line.includes("deploy")), "hook [bot]: deploy");
  assertEquals(await bob.line(), "hook [bot]: started");

  // The JSON protocol marks it.
  const json = toJson({
    type: "chat",
    time: 0,
    message: { kind: "message", id: "x", from: "ci", room: "ci", text: "t", time: 0, bot: true },
  });
  assertEquals(json.bot, true);
});

test("webhooks: refusals: 404, 405, 400 with a reason, 413, 429 with Retry-After, revoked", async () => {
  await using server = await hookServer({ maxLine: 100 });
  const { ann, url } = await annWithHook(server);
  using _ann = ann;
  const base = url.slice(0, url.lastIndexOf("/") + 1);
  assertEquals((await post(base + "nosuchtoken", { text: "x" })).status, 404);
  assertEquals((await post(base + "%00bad", { text: "x" })).status, 404);
  const get = await fetch(url);
  assertEquals([get.status, get.headers.get("allow")], [405, "POST"]);
  await get.body?.cancel();

  const bad = async (body: unknown, code: string, type?: string) => {
    const answer = await post(url, body, type);
    assertEquals([answer.status, answer.json.code], [400, code], JSON.stringify(answer.json));
    assert(typeof answer.json.error === "string");
  };
  await bad("{not json", "badBody");
  await bad("[1]", "badBody");
  await bad("text=hi", "badBody", "application/x-www-form-urlencoded");
  await bad({ username: "x" }, "badText");
  await bad({ text: "hi", username: "not a name!" }, "badUsername");
  await bad({ text: " \n " }, "emptyText");
  await bad({ text: "a\n".repeat(11) }, "tooManyLines");
  await bad({ text: "x".repeat(101) }, "lineTooLong");

  const huge = await fetch(url, { method: "POST", body: "x".repeat(64 * 1024 + 1) });
  assertEquals(huge.status, 413);
  await huge.body?.cancel();

  // The burst (less the refusals above, which were counted as posts too) then 429.
  let answer;
  for (let i = 0; i <= HOOK_BURST; i++) {
    answer = await post(url, { text: `n ${i}` });
    if (answer.status === 429) break;
  }
  assertEquals(answer!.status, 429);
  assertEquals(answer!.json.code, "tooFast");
  assert(Number(answer!.headers.get("retry-after")) >= 1);
  const counted = (result: string) => server.hub.metrics.webhooks.with(result).value;
  assert(counted("limited") === 1 && counted("bad") === 8 && counted("unknown") === 2, "counted");

  // Listed (never with its token), and revoked.
  await ann.write("/hook list\n");
  const listed = await ann.until((line) => line.startsWith("--   "));
  const id = /^-- {3}(\S+) in ci as hook \(by ann\)$/.exec(listed)![1];
  assert(!listed.includes(url.slice(url.lastIndexOf("/") + 1)));
  await ann.write(`/hook delete ${id}\n`);
  assertEquals(
    await ann.until((line) => line.includes("is deleted")),
    `-- Webhook ${id} for ci is deleted`,
  );
  assertEquals((await post(url, { text: "x" })).status, 404);
});

test("webhooks: only a room's operators (and server operators) make them", async () => {
  await using server = await hookServer({ admins: ["root"] });
  using eve = await LineClient.join(server, "eve");
  await eve.write("/hook create #ci\n/hook create #ci not-a-name!\n/hook list\n/hook delete zzz\n");
  assertEquals(await eve.line(), "!! you are not an operator of ci");
  assert((await eve.line()).startsWith("!! "));
  assertEquals(await eve.line(), "!! you are not an operator of lobby");
  assertEquals(await eve.line(), "!! there is no webhook zzz; /hook list shows them");
  using root = await LineClient.join(server, "root");
  await root.write("/register root-password\n");
  await root.until((line) => line.startsWith("-- root is now your account"));
  await root.write("/hook create #anywhere\n");
  assert((await root.until((line) => line.startsWith("-- Webhook "))).includes(" for anywhere: "));
});

test("webhooks: with --db a hook outlives a restart, its token kept only as SHA-256; the operator command", async () => {
  const db = await Deno.makeTempFile({ suffix: ".db" });
  try {
    let token: string;
    {
      await using server = await hookServer({ db });
      const { ann, url } = await annWithHook(server);
      ann.close();
      token = url.slice(url.lastIndexOf("/") + 1);
    }
    const file = new TextDecoder("latin1").decode(await Deno.readFile(db));
    assert(!file.includes(token), "the token is not in the file");
    {
      await using server = await hookServer({ db });
      const url = `http://127.0.0.1:${server.webAddr!.port}/hooks/${token}`;
      const answer = await post(url, { text: "after a restart" });
      assertEquals(answer.status, 200, JSON.stringify(answer.json));
      assertEquals(server.hub.history.before(roomKey("ci"), 1)[0]?.text, "after a restart");
    }
    // The operator command, while the server is stopped.
    const out: string[] = [];
    const io = { out: (line: string) => out.push(line), err: (line: string) => out.push(line) };
    assertEquals(await hookCommand(["create", "#ops", "deploy", "--db", db], io), 0);
    assert(out.some((line) => /\/hooks\/[A-Za-z0-9_-]{43}$/.test(line)), out.join("\n"));
    out.length = 0;
    assertEquals(await hookCommand(["list", "--db", db], io), 0);
    assertEquals(out.filter((line) => /\t(ci|ops)\t/.test(line)).length, 2, out.join("\n"));
    const id = out.find((line) => line.includes("\tops\t"))!.split("\t")[0];
    assertEquals(await hookCommand(["delete", id, "--db", db], io), 0);
    assertEquals(await hookCommand(["delete", id, "--db", db], io), 1);
    assertEquals(await hookCommand(["create", "#ops"], io), 2);
  } finally {
    for (const suffix of ["", "-wal", "-shm"]) await Deno.remove(db + suffix).catch(() => {});
  }
});

Deno.test({
  name:
    "webhooks: in a cluster, a hook made on one server posts through any, and a server started later knows it",
  ignore: !HAVE_REDIS,
  ...sanitized,
  async fn() {
    await using redis = await startRedis();
    await using a = await hookServer({ redis: redis.url });
    await using b = await hookServer({ redis: redis.url });
    const { ann, url } = await annWithHook(a);
    using _ann = ann;
    const token = url.slice(url.lastIndexOf("/") + 1);
    const viaB = `http://127.0.0.1:${b.webAddr!.port}/hooks/${token}`;
    await eventually(() => b.hub.webhooks.list().length === 1);
    const answer = await post(viaB, { text: "through b", username: "ci" });
    assertEquals(answer.status, 200, JSON.stringify(answer.json));
    // ann, on a, in the room: the post went through the hub and the bus like any message.
    assertEquals(await ann.until((line) => line.includes("through b")), "ci [bot]: through b");
    await using c = await hookServer({ redis: redis.url });
    assertEquals(c.hub.webhooks.list().map((hook) => hook.room), ["ci"]);
    assertEquals(c.hub.history.before(roomKey("ci"), 1)[0]?.bot, true);
    // Revoked on a: b forgets it too.
    await ann.write(`/hook delete ${c.hub.webhooks.list()[0].id}\n`);
    await eventually(() => b.hub.webhooks.list().length === 0);
    assertEquals((await post(viaB, { text: "x" })).status, 404);
  },
});

test("webhooks: the body is read whole across chunks, and a request pipelined behind it is answered", async () => {
  await using server = await hookServer();
  const { ann, url } = await annWithHook(server);
  using _ann = ann;
  const path = new URL(url).pathname;
  const body = JSON.stringify({ text: "in two pieces" });
  const head = `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n` +
    `Content-Length: ${body.length}\r\n\r\n`;
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.webAddr!.port });
  try {
    const encoder = new TextEncoder();
    conn.setNoDelay(true); // two writes, two segments (the server sees two chunks, as a rule)
    await conn.write(encoder.encode(head + body.slice(0, 7)));
    // The rest of the body, then a second request on the same connection.
    await conn.write(encoder.encode(
      body.slice(7) + `GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`,
    ));
    let text = "";
    const buffer = new Uint8Array(4096);
    for (let n; (n = await conn.read(buffer)) !== null;) {
      text += new TextDecoder().decode(buffer.subarray(0, n));
    }
    const statuses = [...text.matchAll(/^HTTP\/1\.1 (\d+)/gm)].map((match) => match[1]);
    assertEquals(statuses, ["200", "200"]);
    assert(text.includes('"ok":true') && text.endsWith("ok\n"), text);
    assertEquals(server.hub.history.before(roomKey("ci"), 1)[0].text, "in two pieces");
  } finally {
    conn.close();
  }
});
