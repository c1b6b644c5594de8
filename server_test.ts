/**
 * Pins the chat protocol over real TCP: framing, names, relay, commands and
 * leaving. Run with `deno task test`.
 *
 * @module
 */

import {
  deepStrictEqual as assertEquals,
  match as assertMatch,
  ok as assert,
} from "node:assert/strict";
import { LINE_TOO_LONG, LineFramer } from "./src/transport/framing.ts";
import { CTRL_C } from "./src/transport/telnet.ts";
import { checkName, cleanLine } from "./src/core/protocol.ts";
import { lineLimit, NAME_PROMPT, privateReceipt, say } from "./src/text/protocol.ts";
import { CRASH_EXIT, exitOnUncaught } from "./server.ts";
import { eventually, LineClient, quietServer, test, within } from "./tests/test_util.ts";

const encoder = new TextEncoder();

// ---------------------------------------------------------------------------
// Framing and cleaning, as functions
// ---------------------------------------------------------------------------

function frame(maxLine: number, ...chunks: string[]): (string | "TOO_LONG")[] {
  const framer = new LineFramer(maxLine);
  const out: (string | "TOO_LONG")[] = [];
  for (const chunk of chunks) {
    framer.feed(encoder.encode(chunk));
    for (let line = framer.next(); line !== undefined; line = framer.next()) {
      out.push(line === LINE_TOO_LONG ? "TOO_LONG" : new TextDecoder().decode(line));
    }
  }
  return out;
}

test("framer splits lines across and within chunks, dropping CR before LF", () => {
  assertEquals(frame(100, "a\nb", "c\r", "\nd\r\ne\n"), ["a", "bc", "d", "e"]);
  assertEquals(frame(100, "no newline at end"), []);
  assertEquals(frame(100, "\n\n"), ["", ""]);
});

test("framer reports an over-long line once and resumes at the next line", () => {
  assertEquals(frame(4, "1234\n12345\nok\n"), ["1234", "TOO_LONG", "ok"]);
  assertEquals(frame(4, "123", "45", "678", "9\nok\n"), ["TOO_LONG", "ok"]);
  // A CRLF split across reads does not count the CR against the limit.
  assertEquals(frame(4, "1234\r", "\n"), ["1234"]);
});

test("cleanLine replaces bad UTF-8, turns tabs into spaces and drops control characters", () => {
  assertEquals(cleanLine(new Uint8Array([0x68, 0xff, 0x69])), "h\uFFFDi");
  assertEquals(cleanLine(encoder.encode("a\tb")), "a b");
  assertEquals(cleanLine(encoder.encode("\x1b[31mred\x1b[0m\x07\x00")), "[31mred[0m");
  assertEquals(cleanLine(encoder.encode("c1:\u009b2J bidi:\u202eevil")), "c1:2J bidi:evil");
  assertEquals(cleanLine(encoder.encode("你好 👋🏽 family: 👨‍👩‍👧")), "你好 👋🏽 family: 👨‍👩‍👧");
});

test("checkName accepts letters, digits and _ - . and nothing else", () => {
  for (const good of ["alice", "Bob_2", "小明", "Zoë.k-9", "राम", "a", "x".repeat(24)]) {
    assertEquals(checkName(good), null, good);
  }
  for (
    const bad of ["", "x".repeat(25), "a b", "-lead", "_lead", "bob:", "*", "/nick", "\u0301a"]
  ) {
    assert(checkName(bad) !== null, bad);
  }
});

// ---------------------------------------------------------------------------
// Joining
// ---------------------------------------------------------------------------

test("a new connection is greeted, told the line limit and asked for a name", async () => {
  await using server = await quietServer({ maxLine: 1000 });
  using client = await LineClient.connect(server);
  assertMatch(await client.line(), /^-- Welcome/);
  const limits = await client.line();
  assertEquals(lineLimit(limits), 1000);
  assertEquals(await client.line(), NAME_PROMPT);
});

test("bad and taken names are refused with a reason, and the question is asked again", async () => {
  await using server = await quietServer();
  using alice = await LineClient.join(server, "Alice");
  using other = await LineClient.connect(server);
  await other.until((line) => line === NAME_PROMPT);
  const tries: [string, RegExp][] = [
    ["a b", /^!! a name is letters and digits/],
    ["x".repeat(25), /^!! a name is at most 24 characters/],
    ["alice", /^!! the name alice is taken/],
    ["ALICE", /^!! the name ALICE is taken/],
    ["ａｌｉｃｅ", /^!! the name ａｌｉｃｅ is taken/], // fullwidth letters
  ];
  for (const [name, error] of tries) {
    await other.write(`${name}\n`);
    assertMatch(await other.line(), error);
    assertEquals(await other.line(), NAME_PROMPT);
  }
  await other.write("小明\n");
  assertEquals(
    await other.line(),
    "-- Hello, 小明! Also here (1): Alice. Type /help for commands.",
  );
  assertEquals(await alice.line(), "-- 小明 joined");
});

test("the first one in is told so; later ones are told who is here", async () => {
  await using server = await quietServer();
  using alice = await LineClient.connect(server);
  await alice.until((line) => line.endsWith("?"));
  await alice.write("alice\n");
  assertEquals(
    await alice.line(),
    "-- Hello, alice! You are the first one here. Type /help for commands.",
  );
  using bob = await LineClient.connect(server);
  await bob.until((line) => line.endsWith("?"));
  await bob.write("bob\n");
  assertEquals(await bob.line(), "-- Hello, bob! Also here (1): alice. Type /help for commands.");
});

// ---------------------------------------------------------------------------
// Relay
// ---------------------------------------------------------------------------

test("a message goes to every other client, never back to its sender", async () => {
  await using server = await quietServer();
  using alice = await LineClient.join(server, "alice");
  using bob = await LineClient.join(server, "bob");
  using carol = await LineClient.join(server, "carol");
  await alice.write("hello\n");
  assertEquals(await bob.message(), "alice: hello");
  assertEquals(await carol.message(), "alice: hello");
  // If alice had been sent her own line, it would come before bob's.
  await bob.write("hi alice\n");
  assertEquals(await alice.message(), "bob: hi alice");
});

test("messages arrive in the order they were sent", async () => {
  await using server = await quietServer();
  using alice = await LineClient.join(server, "alice");
  using bob = await LineClient.join(server, "bob");
  const lines = Array.from({ length: 500 }, (_, i) => `message ${i}`);
  await alice.write(lines.map((line) => line + "\n").join(""));
  for (const line of lines) assertEquals(await bob.message(), `alice: ${line}`);
});

test("a Chinese and emoji line written one byte per write arrives whole", async () => {
  await using server = await quietServer();
  using alice = await LineClient.join(server, "alice");
  using bob = await LineClient.join(server, "bob");
  const bytes = encoder.encode("你好，世界 👋🏽\n");
  for (const byte of bytes) await alice.write(new Uint8Array([byte]));
  assertEquals(await bob.message(), "alice: 你好，世界 👋🏽");
});

test("several lines in one write, CRLF endings and blank lines", async () => {
  await using server = await quietServer();
  using alice = await LineClient.join(server, "alice");
  using bob = await LineClient.join(server, "bob");
  await alice.write("one\r\n\r\n   \ntwo\nthree\r\n");
  assertEquals(await bob.message(), "alice: one");
  assertEquals(await bob.message(), "alice: two");
  assertEquals(await bob.message(), "alice: three");
});

test("invalid UTF-8 becomes U+FFFD and control characters never reach others", async () => {
  await using server = await quietServer();
  using alice = await LineClient.join(server, "alice");
  using bob = await LineClient.join(server, "bob");
  await alice.write(new Uint8Array([0x62, 0x61, 0x64, 0x20, 0xc3, 0x28, 0xff, 0x0a]));
  assertEquals(await bob.message(), "alice: bad \uFFFD(\uFFFD");
  await alice.write("\x1b]0;pwned\x07\x1b[2Jclear\tme\x00\x7f\n");
  assertEquals(await bob.message(), "alice: ]0;pwned[2Jclear me");
  // A line of nothing but control characters is blank, so it is dropped.
  await alice.write("\x1b\x07\nafter\n");
  assertEquals(await bob.message(), "alice: after");
});

test("telnet's Ctrl-C is not relayed, and its timing mark is answered so telnet keeps reading", async () => {
  await using server = await quietServer();
  using alice = await LineClient.join(server, "alice");
  await alice.write(CTRL_C);
  const answer = new Uint8Array(3);
  let got = 0;
  while (got < 3) got += (await within(alice.conn.read(answer.subarray(got)), "an answer"))!;
  assertEquals([...answer], [255, 252, 6]); // IAC WONT TIMING-MARK
  using bob = await LineClient.join(server, "bob");
  await alice.write("after ctrl-c\n");
  assertEquals(await bob.message(), "alice: after ctrl-c");
});

test("a line over 4096 bytes is refused to its sender and the connection goes on", async () => {
  await using server = await quietServer();
  using alice = await LineClient.join(server, "alice");
  using bob = await LineClient.join(server, "bob");
  const longest = "x".repeat(4096);
  await alice.write(`${longest}\n${longest}y\nnext\n`);
  assertEquals(await bob.message(), `alice: ${longest}`);
  assertEquals(
    await alice.message(),
    say.lineTooLong(4096),
  );
  assertEquals(await bob.message(), "alice: next");
});

test("a client that half-closes still has its last lines relayed", async () => {
  await using server = await quietServer();
  using alice = await LineClient.join(server, "alice");
  using bob = await LineClient.join(server, "bob");
  await alice.write("last words\n");
  await alice.conn.closeWrite();
  assertEquals(await bob.line(), "alice: last words");
  assertEquals(await bob.line(), "-- alice left");
  // The server closes the half-closed connection once its output is sent.
  assertEquals(await alice.rest(), ["-- bob joined"]);
});

test("a client gone mid-line (reset or EOF) leaves without its partial line relayed", async () => {
  await using server = await quietServer();
  using alice = await LineClient.join(server, "alice");
  using bob = await LineClient.join(server, "bob");
  using carol = await LineClient.connect(server);
  // carol never reads, so closing with unread input makes the kernel send RST.
  // (An unfinished line at a plain EOF is dropped the same way.)
  await carol.write("carol\nhalf a li");
  await alice.until((line) => /carol joined$/.test(line));
  await bob.write("ping\n");
  assertEquals(await alice.line(), "bob: ping");
  carol.close();
  assertMatch(await alice.line(), /^-- carol left/);
  await bob.write("pong\n");
  assertEquals(await alice.line(), "bob: pong");
});

test("200 clients each receive every message", async () => {
  await using server = await quietServer();
  const clients: LineClient[] = [];
  try {
    for (let i = 0; i < 200; i++) clients.push(await LineClient.join(server, `user${i}`));
    const [sender, ...receivers] = clients;
    await sender.write("one\ntwo\nthree\n");
    await Promise.all(receivers.map(async (client) => {
      for (const text of ["one", "two", "three"]) {
        assertEquals(await client.message(), `user0: ${text}`);
      }
    }));
    assertEquals(server.stats().members, 200);
  } finally {
    for (const client of clients) client.close();
  }
});

test("a burst of joins is announced in a few merged lines, not one line per join", async () => {
  await using server = await quietServer({ noticeInterval: 200 });
  using watcher = await LineClient.join(server, "watcher");
  const joiners: LineClient[] = [];
  try {
    for (let i = 0; i < 30; i++) joiners.push(await LineClient.join(server, `m${i}`));
    // Count the joins each line announces: names listed, plus "and N more".
    let announced = 0;
    let lines = 0;
    while (announced < 30) {
      const names = /^-- (.*) joined$/.exec(await watcher.line())![1];
      const more = /^(.*) and (\d+) more$/.exec(names);
      announced += more ? 20 + Number(more[2]) : names.split(/, | and /).length;
      lines++;
    }
    assertEquals(announced, 30);
    assert(lines <= 5, `${lines} notice lines for 30 joins`);
    await joiners[0].write("hello\n");
    assertEquals(await watcher.line(), "m0: hello");
  } finally {
    for (const client of joiners) client.close();
  }
});

test("the welcome lists at most 20 of those here, then a count", async () => {
  await using server = await quietServer();
  const clients: LineClient[] = [];
  try {
    for (let i = 0; i < 25; i++) clients.push(await LineClient.join(server, `user${i}`));
    using last = await LineClient.connect(server);
    await last.until((line) => line.endsWith("?"));
    await last.write("last\n");
    const names = Array.from({ length: 20 }, (_, i) => `user${i}`).join(", ");
    assertEquals(
      await last.line(),
      `-- Hello, last! Also here (25): ${names} and 5 more. Type /help for commands.`,
    );
  } finally {
    for (const client of clients) client.close();
  }
});

test("someone who leaves within the join grace costs the room no notice at all", async () => {
  await using server = await quietServer({ joinGrace: 60_000 });
  using watcher = await LineClient.join(server, "watcher");
  for (let i = 0; i < 3; i++) {
    using passer = await LineClient.join(server, `x${i}`);
    await passer.write("/quit\n");
    await passer.rest();
  }
  using speaker = await LineClient.join(server, "speaker");
  await speaker.write("anyone?\n");
  // Speaking announces the speaker first (with every join still waiting, the watcher's own
  // left out for the watcher); x0-x2 never show.
  assertEquals(await watcher.line(), say.joined("speaker"));
  assertEquals(await watcher.line(), "speaker: anyone?");
});

test("/quit before choosing a name says goodbye and closes the connection", async () => {
  await using server = await quietServer();
  using shy = await LineClient.connect(server);
  await shy.until((line) => line.endsWith("?"));
  await shy.write("/quit\n");
  assertEquals(await shy.rest(), [say.bye]);
  await eventually(() => server.stats().connections === 0);
  assertEquals(server.stats().members, 0);
});

// ---------------------------------------------------------------------------
// Commands
// ---------------------------------------------------------------------------

test("/help lists the commands", async () => {
  await using server = await quietServer();
  using alice = await LineClient.join(server, "alice");
  await alice.write("/help\n/who\n");
  assertEquals(await alice.line(), "-- Commands:");
  const lines = [];
  for (let line = await alice.line(); line.startsWith("--   "); line = await alice.line()) {
    lines.push(line);
  }
  const commands = [
    "/who",
    "/rooms",
    "/join",
    "/topic",
    "/history",
    "/search",
    "/nick",
    "/whois",
    "/register",
    "/login",
    "/logout",
    "/password",
    "/unregister",
    "/me",
    "/msg",
    "/delete",
    "/quit",
    "/help",
  ];
  assertEquals(lines.length, commands.length + 1);
  for (const command of [...commands, "//TEXT"]) {
    assert(lines.some((line) => line.startsWith(`--   ${command} `)), command);
  }
});

test("/who gives the count and the names", async () => {
  await using server = await quietServer();
  using _bob = await LineClient.join(server, "bob");
  using alice = await LineClient.join(server, "alice");
  await alice.write("/who\n");
  assertEquals(await alice.line(), "-- Online in lobby (2): alice, bob");
});

test("/nick renames, tells the others, and refuses bad or taken names", async () => {
  await using server = await quietServer();
  using alice = await LineClient.join(server, "alice");
  using bob = await LineClient.join(server, "bob");
  await bob.write("/nick ALICE\n/nick no way\n/nick\n/nick robert\n");
  assertEquals(await bob.line(), say.nameTaken("ALICE"));
  assertMatch(await bob.line(), /^!! a name is letters and digits/);
  assertEquals(await bob.line(), say.usage("/nick NEW"));
  assertEquals(await bob.line(), say.renamed("robert"));
  assertEquals(await alice.message(), say.othersRenamed("bob", "robert"));
  await bob.write("hi\n/nick Robert\n");
  assertEquals(await alice.message(), "robert: hi");
  // Changing only the case of your own name is allowed.
  assertEquals(await bob.message(), "-- You are now known as Robert");
  // The old name is free again.
  using _newBob = await LineClient.join(server, "bob");
});

test("/me sends an action", async () => {
  await using server = await quietServer();
  using alice = await LineClient.join(server, "alice");
  using bob = await LineClient.join(server, "bob");
  await alice.write("/me waves\n/me\n");
  assertEquals(await bob.message(), "* alice waves");
  assertEquals(await alice.message(), say.usage("/me TEXT"));
});

test("/msg reaches only its target, and errors name what went wrong", async () => {
  await using server = await quietServer();
  using alice = await LineClient.join(server, "alice");
  using bob = await LineClient.join(server, "bob");
  using carol = await LineClient.join(server, "carol");
  await alice.write("/msg BOB psst\n/msg dave hi\n/msg bob\n/msg alice me\n");
  assertEquals(await bob.message(), "alice (private): psst");
  // The sender gets a receipt naming the recipient as the server knows it.
  assertEquals(await alice.message(), say.privateSent("bob", "psst"));
  assertEquals(privateReceipt(say.privateSent("bob", "psst")), { to: "bob", text: "psst" });
  assertEquals(await alice.message(), say.noSuchMember("dave"));
  assertEquals(await alice.message(), say.usage("/msg NAME TEXT"));
  assertEquals(await alice.message(), say.thatIsYou);
  // carol never saw the private message: the next thing she gets is this.
  await bob.write("public\n");
  assertEquals(await carol.message(), "bob: public");
});

test("a private message never arrives before its sender's join notice", async () => {
  await using server = await quietServer();
  using alice = await LineClient.join(server, "alice");
  using bob = await LineClient.join(server, "bob"); // within the notice interval: merged later
  await bob.write("/msg alice hi\n");
  assertEquals(await alice.line(), "-- bob joined");
  assertEquals(await alice.line(), "bob (private): hi");
});

test("/nick to your own name changes nothing and tells no one", async () => {
  await using server = await quietServer();
  using alice = await LineClient.join(server, "alice");
  using bob = await LineClient.join(server, "bob");
  await bob.write("/nick bob\nhello\n");
  assertEquals(await bob.message(), say.alreadyNamed("bob"));
  assertEquals(await alice.message(), "bob: hello");
});

test("/quit with a reason tells the others and closes the connection", async () => {
  await using server = await quietServer();
  using alice = await LineClient.join(server, "alice");
  using bob = await LineClient.join(server, "bob");
  await bob.write("/quit off to lunch\n");
  assertEquals(await bob.rest(), ["-- Bye!"]);
  assertEquals(
    await alice.until((line) => line.includes("left")),
    "-- bob left (quit: off to lunch)",
  );
  await eventually(() => server.stats().connections === 1);
});

test("//text sends a message that starts with a slash; unknown commands point to /help", async () => {
  await using server = await quietServer();
  using alice = await LineClient.join(server, "alice");
  using bob = await LineClient.join(server, "bob");
  await alice.write("//shrug\n/dance\n");
  assertEquals(await bob.message(), "alice: /shrug");
  assertEquals(await alice.message(), say.unknownCommand("/dance"));
});

test("leaving by EOF is announced to the others", async () => {
  await using server = await quietServer();
  using alice = await LineClient.join(server, "alice");
  const bob = await LineClient.join(server, "bob");
  bob.close();
  assertEquals(await alice.until((line) => line.includes("left")), "-- bob left");
  await eventually(() => server.stats().connections === 1);
});

test("close() tells every client and closes all connections", async () => {
  const server = await quietServer();
  using alice = await LineClient.join(server, "alice");
  using stranger = await LineClient.connect(server);
  await server.close();
  assertEquals((await alice.rest()).at(-1), `-- ${say.shuttingDown}`);
  assertEquals((await stranger.rest()).at(-1), `-- ${say.shuttingDown}`);
  assertEquals(server.stats().connections, 0);
});

// ---------------------------------------------------------------------------
// The command line
// ---------------------------------------------------------------------------

const SERVER = new URL("./server.ts", import.meta.url).pathname;

/** Runs server.ts with `args` until it exits; its exit code and output. */
async function runServer(...args: string[]) {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-N", "-R", SERVER, ...args],
    stdin: "null",
  }).output();
  const decoder = new TextDecoder();
  return { code, stdout: decoder.decode(stdout), stderr: decoder.decode(stderr) };
}

test("an error that escapes every handler is logged with its stack and ends the server", async () => {
  const escaped = [
    new ErrorEvent("error", { error: new Error("escaped"), cancelable: true }),
    new PromiseRejectionEvent("unhandledrejection", {
      promise: new Promise(() => {}),
      reason: new Error("escaped"),
      cancelable: true,
    }),
  ];
  for (const event of escaped) {
    const lines: string[] = [];
    await using server = await quietServer({ log: (line) => lines.push(line) });
    using ann = await LineClient.join(server, "ann");
    const exited = Promise.withResolvers<number>();
    const remove = exitOnUncaught(server, exited.resolve);
    try {
      globalThis.dispatchEvent(event);
      assertEquals(await exited.promise, CRASH_EXIT, event.type);
    } finally {
      remove();
    }
    assertEquals(event.defaultPrevented, true);
    const logged = lines.find((line) => line.startsWith("internal error: Error: escaped"));
    assertMatch(logged ?? "", /\n {4}at /, "the stack is logged");
    assertEquals((await ann.rest()).at(-1), `-- ${say.shuttingDown}`);
  }
});

test("a bad flag value is one line and exit 2, a negative number included", async () => {
  for (
    const args of [
      ["--port", "-1"],
      ["--rate", "-5"],
      ["--max-buffered", "12XB"],
      ["--exempt", "10.0.0.0/"], // once read as /0: every address exempt
      ["--exempt", "10.0.0.0/8,"],
    ]
  ) {
    const { code, stderr } = await runServer(...args);
    assertEquals(code, 2, args.join(" "));
    const [first, ...rest] = stderr.trimEnd().split("\n");
    assertMatch(first, new RegExp(`^server: ${args[0]} must be `));
    assertEquals(rest, ["Run with --help for usage."]);
  }
});

test("a busy port is named in the one line printed, and nothing claims to be listening", async () => {
  using busy = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = busy.addr;
  for (const [flag, what] of [["--irc", " (IRC)"], ["--web", " (web)"]]) {
    const { code, stdout, stderr } = await runServer("--port", "0", flag, String(port));
    assertEquals(code, 1, flag);
    const expected = `server: cannot listen on 127.0.0.1:${port}${what}: `;
    assert(stderr.startsWith(expected), stderr);
    assertEquals(stderr.trimEnd().split("\n").length, 1, stderr);
    assertEquals(stdout, "", "no listening line before every listener is up");
  }
});

test("a certificate file that cannot be read is a runtime error: exit 1, no usage hint", async () => {
  const { code, stderr } = await runServer(
    "--cert",
    "/nonexistent.pem",
    "--key",
    "/nonexistent.pem",
  );
  assertEquals(code, 1);
  assertMatch(stderr, /^server: cannot read --cert \/nonexistent\.pem: .*\n$/);
});

test("the log has a time on every line and brackets IPv6 addresses", async () => {
  const lines: string[] = [];
  await using server = await quietServer({ hostname: "::1", log: (line) => lines.push(line) });
  using _ann = await LineClient.join(server, "ann");
  await eventually(() => lines.some((line) => line.startsWith("+ ann")));
  assertEquals(lines[0], `listening on [::1]:${server.addr.port}`);
  assertMatch(lines.find((line) => line.startsWith("+ ann"))!, /^\+ ann joined from \[::1\]:\d+$/);
  // Without a log function, lines go to stdout with a time in front.
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-N", SERVER, "--host", "::1", "--port", "0"],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  try {
    let output = "";
    while (!output.includes("\n")) output += (await reader.read()).value ?? "";
    assertMatch(output, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d listening on \[::1\]:\d+\n/);
  } finally {
    child.kill();
    await child.status;
    await reader.cancel();
  }
});

test("the default run fetches nothing: server.ts starts from an empty cache with npm unreachable", async () => {
  // An empty DENO_DIR and a registry nobody answers at: one npm package in what the default
  // run resolves would be a "Download" line on stderr, or a server that never listens.
  const denoDir = await Deno.makeTempDir();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-N", "-R", SERVER, "--port", "0"],
    env: { DENO_DIR: denoDir, NPM_CONFIG_REGISTRY: "http://127.0.0.1:9/" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  try {
    let output = "";
    for (let read = await reader.read(); !read.done; read = await reader.read()) {
      output += read.value;
      if (output.includes("\n")) break;
    }
    assertMatch(output, /listening on 127\.0\.0\.1:\d+/);
  } finally {
    child.kill();
    await child.status;
    await reader.cancel();
    await Deno.remove(denoDir, { recursive: true });
  }
  assertEquals(await stderr, "");
});
