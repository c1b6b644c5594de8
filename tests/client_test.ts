/**
 * Tests for the chat client: formatting, the session over in-memory streams,
 * the command line as a subprocess, and the prompt in a real terminal (tmux).
 * Run with `deno test -A client_test.ts`.
 *
 * @module
 */

import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { checkRoomName, LOBBY, roomKey } from "../src/core/protocol.ts";
import {
  helloName,
  historyLine,
  limitsLine,
  NAME_PROMPT,
  nameChange,
  notice,
  roomChange,
  say,
  WELCOME,
} from "../src/text/protocol.ts";
import {
  extraRows,
  formatLine,
  hangingIndent,
  historyStamp,
  nameColor,
  ownLine,
  parseLine,
  runClient,
  sentPrivateLine,
  splitKeys,
  timestamp,
} from "../client.ts";
import {
  freePort,
  LineClient,
  quietServer,
  sanitized,
  test,
  WAIT_LIMIT,
  within,
} from "./test_util.ts";

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

const encoder = new TextEncoder();
const CLIENT = new URL("../client.ts", import.meta.url).pathname;
const testdata = new URL("./testdata/", import.meta.url);
/** A file of test TLS material: `ca.pem`, or `cert.pem` and `key.pem` signed by it. */
const pem = (file: string) => Deno.readTextFileSync(new URL(file, testdata));

/** Lines typed by a pretend user, fed to runClient as an AsyncIterable<string>. */
class Keyboard implements AsyncIterable<string> {
  #queue: (string | null)[] = [];
  #wake: (() => void) | null = null;

  type(line: string): void {
    this.#push(line);
  }

  /** Ctrl-D: the end of input. */
  end(): void {
    this.#push(null);
  }

  #push(line: string | null): void {
    this.#queue.push(line);
    this.#wake?.();
    this.#wake = null;
  }

  async *[Symbol.asyncIterator](): AsyncIterator<string> {
    for (;;) {
      while (this.#queue.length === 0) await new Promise<void>((r) => this.#wake = r);
      const line = this.#queue.shift()!;
      if (line === null) return;
      yield line;
    }
  }
}

/** Collects what runClient prints and lets a test wait for a line. */
class Screen {
  readonly lines: string[] = [];
  #waiters: (() => void)[] = [];
  readonly print = (line: string): void => {
    this.lines.push(line);
    for (const waiter of this.#waiters.splice(0)) waiter();
  };

  /** Waits until `count` printed lines match `match`; returns the last of them. */
  waitFor(match: (line: string) => boolean, count = 1): Promise<string> {
    const check = async (): Promise<string> => {
      for (;;) {
        const found = this.lines.filter(match);
        if (found.length >= count) return found[count - 1];
        await new Promise<void>((resolve) => this.#waiters.push(resolve));
      }
    };
    return within(check(), () => `output; got ${JSON.stringify(this.lines)}`);
  }
}

/** Runs the client on a fake keyboard and screen, as in a terminal, with `options` on top. */
function interactiveClient(options: Partial<Parameters<typeof runClient>[0]>) {
  const keyboard = new Keyboard();
  const screen = new Screen();
  const done = runClient({ input: keyboard, output: screen.print, interactive: true, ...options });
  return { keyboard, screen, done };
}

// ---------------------------------------------------------------------------
// Formatting
// ---------------------------------------------------------------------------

test("the client reads the server's own hello, rename and room-change sentences", () => {
  // The client follows its name and room by these; names may hold dots, rooms a leading #.
  for (const name of ["ann", "a.b.", "ann_2", "Zoë", "李"]) {
    assertEquals(helloName(say.hello(name, [], 0)), name);
    assertEquals(helloName(say.hello(name, ["bob", "c.d"], 2)), name);
    assertEquals(nameChange(say.renamed(name)), name);
    assertEquals(roomChange(say.nowIn(name, [], 0)), name);
    assertEquals(roomChange(say.nowIn(`#${name}`, ["bob"], 1)), `#${name}`);
  }
  const many = Array.from({ length: 30 }, (_, i) => `m${i}`);
  assertEquals(helloName(say.hello("ann", many, 30)), "ann");
  assertEquals(roomChange(say.nowIn("dev", many, 30)), "dev");
  // Sentences about others, or that change nothing, are not taken for ours.
  assertEquals(nameChange(say.othersRenamed("bob", "ann")), null);
  assertEquals(nameChange(say.alreadyNamed("ann")), null);
  assertEquals(roomChange(say.alreadyIn("dev")), null);
  assertEquals(roomChange(say.moved("bob", "dev")), null);
  assertEquals(roomChange(say.topicIs("dev", "You are now in x. y")), null);
  // Nor can someone else's message pass for one.
  assertEquals(helloName(`bob: ${say.hello("bob", [], 0)}`), null);
  assertEquals(roomChange(`bob: ${say.nowIn("evil", [], 0)}`), null);
  assertEquals(roomChange(`* bob ${say.nowIn("evil", [], 0)}`), null);
});

test("parseLine classifies every kind of server line", () => {
  assertEquals(parseLine("ann: hi: there"), { kind: "message", name: "ann", text: "hi: there" });
  assertEquals(parseLine("* ann waves"), { kind: "action", name: "ann", text: "waves" });
  assertEquals(parseLine("ann (private): psst"), {
    kind: "private",
    name: "ann",
    text: "psst",
  });
  assertEquals(parseLine("-- ann joined"), { kind: "notice", text: "ann joined" });
  assertEquals(parseLine("!! no"), { kind: "error", text: "no" });
  assertEquals(parseLine("no prefix here"), { kind: "other", text: "no prefix here" });
});

test("formatLine without colour is the cleaned line, optionally timestamped", () => {
  for (const line of ["ann: hi", "* ann waves", "ann (private): psst", "-- n", "!! e"]) {
    assertEquals(formatLine(line, { color: false }), line);
  }
  assertEquals(
    formatLine("ann: \x1b[2Jhi\x07\x9b\x7f\tthere", { color: false }),
    "ann: [2Jhi there",
  );
  const time = new Date(2024, 0, 1, 9, 5);
  assertEquals(formatLine("ann: hi", { color: false, time }), "09:05 ann: hi");
  // In full, for a log: the UTC time to the millisecond.
  const utc = new Date(Date.UTC(2026, 10, 29, 4, 51, 50, 123));
  assertEquals(
    formatLine("ann: hi", { color: false, time: utc, iso: true }),
    "2026-11-29T04:51:50.123Z ann: hi",
  );
});

test("formatLine with colour styles names, notices, errors, actions and private messages", () => {
  const ann = `\x1b[1;${nameColor("ann")}mann\x1b[22;39m`;
  assertEquals(nameColor("Ann"), nameColor("ann"), "colour ignores case");
  assertEquals(formatLine("ann: hi", { color: true }), `${ann}: hi`);
  assertEquals(formatLine("-- ann joined", { color: true }), "\x1b[2m-- ann joined\x1b[22m");
  assertEquals(formatLine("!! bad", { color: true }), "\x1b[31m!! bad\x1b[39m");
  assertEquals(formatLine("* ann waves", { color: true }), `\x1b[3m* ${ann} waves\x1b[23m`);
  assertEquals(
    formatLine("ann (private): psst", { color: true }),
    `${ann} \x1b[7m(private)\x1b[27m: \x1b[1mpsst\x1b[22m`,
  );
  // Your own lines use your style, not your name's colour.
  assertEquals(
    formatLine("me: hi", { color: true, own: true }),
    "\x1b[1mme\x1b[22m: \x1b[2mhi\x1b[22m",
  );
  // Control characters are gone before styling, so a line cannot inject its own.
  assert(!formatLine("ann: \x1b[31mred", { color: true }).includes("\x1b[31m"));
  // A private message the server confirmed is shown in your style, to its recipient.
  const bob = `\x1b[1;${nameColor("bob")}mbob\x1b[22;39m`;
  const sent = sentPrivateLine("ann", "bob", "psst");
  assertEquals(sent, "ann (private) → bob: psst");
  assertEquals(
    formatLine(sent, { color: true, own: true }),
    `\x1b[1mann\x1b[22m \x1b[7m(private)\x1b[27m → ${bob}: \x1b[1mpsst\x1b[22m`,
  );
  assertEquals(formatLine(sent, { color: false, own: true }), sent);
  assertEquals(formatLine(sent, { color: true }), sent, "only your own lines have that style");
});

test("ownLine shows messages and actions, not private messages; extraRows counts wide characters", () => {
  assertEquals(ownLine("me", "hi"), "me: hi");
  assertEquals(ownLine("me", "//etc"), "me: /etc");
  assertEquals(ownLine("me", "/me waves"), "* me waves");
  // A private message is shown when the server confirms it (sentPrivateLine), not on sending.
  assertEquals(ownLine("me", "/msg ann psst now"), null);
  // Commands are shown by the server's reply (to you, or to the room), never twice.
  for (const command of ["/who", "/who dev", "/rooms", "/join dev", "/topic", "/topic lunch"]) {
    assertEquals(ownLine("me", command), null, command);
  }
  assertEquals(ownLine("me", "/JOIN dev"), null);
  assertEquals(ownLine("me", "/nick ann"), null);
  assertEquals(ownLine("me", "/me"), null, "the server answers with the usage");
  assertEquals(extraRows("a".repeat(10), 10), 1);
  assertEquals(extraRows("a".repeat(9), 10), 0);
  assertEquals(extraRows("中文字中文", 10), 1, "five wide characters fill ten cells");
  // 19 cells, but the fifth wide character cannot start in the last column of row one.
  assertEquals(
    extraRows("a中文字中文字中文字", 10),
    2,
    "a wide character does not straddle rows",
  );
  assertEquals(extraRows("🙂🙂🙂🙂", 10), 0);
});

test("splitKeys hands readline keys one by one, and the text of a paste in one piece", () => {
  const keys = (text: string) => ({ text, keys: true });
  const paste = (text: string) => ({ text, keys: false });
  assertEquals(splitKeys("a"), [keys("a")]);
  assertEquals(splitKeys("🙂"), [keys("🙂")], "one character, if two code units");
  assertEquals(splitKeys("hello 中文\rnext\r\n"), [
    paste("hello 中文"),
    keys("\r"),
    paste("next"),
    keys("\r\n"),
  ]);
  assertEquals(splitKeys("\x7f\x7fab"), [keys("\x7f\x7f"), paste("ab")]);
  // A chunk with an escape sequence, or after one left open, is all readline's.
  assertEquals(splitKeys("ab\x1b[D"), [keys("ab\x1b[D")]);
  assertEquals(splitKeys("[D", true), [keys("[D")]);
  assertEquals(splitKeys(""), []);
});

// ---------------------------------------------------------------------------
// runClient over in-memory streams
// ---------------------------------------------------------------------------

test("runClient asks for a name, chats both ways and leaves cleanly on end of input", async () => {
  await using server = await quietServer();
  const { port } = server.addr;
  using bob = await LineClient.join(server, "bob");
  const prompts: string[] = [];
  const { keyboard, screen, done } = interactiveClient({
    port,
    color: false,
    setPrompt: (prompt) => prompts.push(prompt),
  });
  await screen.waitFor((line) => line === NAME_PROMPT);
  assertEquals(prompts, ["name> "]);
  keyboard.type("ann");
  await screen.waitFor((line) => line === say.hello("ann", ["bob"], 1));
  assertEquals(prompts, ["name> ", "ann@lobby> "]);

  await bob.write("hi ann\n");
  await screen.waitFor((line) => line === "bob: hi ann");
  keyboard.type("hello bob");
  await bob.until((line) => line === "ann: hello bob");
  await screen.waitFor((line) => line === "ann: hello bob"); // shown once, as ours
  keyboard.type("/me waves");
  await bob.until((line) => line === "* ann waves");

  keyboard.end();
  assertEquals(await done, 0);
  await bob.until((line) => line === say.left("ann"));
  assert(screen.lines.includes(say.bye), "the server's goodbye is shown");
  assertEquals(screen.lines.filter((line) => line === "ann: hello bob").length, 1);
});

test("runClient shows the room in the prompt and follows /join and /nick", async () => {
  await using server = await quietServer();
  const { port } = server.addr;
  // bob stays in the lobby; carl makes a room and sets its topic.
  using _bob = await LineClient.join(server, "bob");
  using carl = await LineClient.join(server, "carl");
  await carl.write("/join #Ops\n");
  await carl.until((line) => roomChange(line) === "Ops"); // #Ops is the room Ops
  await carl.write("/topic lunch at 12\n");
  await carl.until((line) => line === say.topicSet("carl", "lunch at 12"));
  const prompts: string[] = [];
  const { keyboard, screen, done } = interactiveClient({
    port,
    name: "ann",
    setPrompt: (prompt) => prompts.push(prompt),
  });
  await screen.waitFor((line) => helloName(line) === "ann");
  assertEquals(prompts, [`ann@${LOBBY}> `]);

  // The room is named as the server spells it, whatever was typed.
  keyboard.type("/join #ops");
  await screen.waitFor((line) => line === say.nowIn("Ops", ["carl"], 1));
  await screen.waitFor((line) => line === say.topicIs("Ops", "lunch at 12"));
  await carl.until((line) => line === say.joined("ann"));
  assertEquals(prompts.at(-1), "ann@Ops> ");

  // A refused move changes nothing; a rename keeps the room.
  keyboard.type("/join no~room"); // a space now starts a key: /join ROOM KEY
  await screen.waitFor((line) => line === say.badName(checkRoomName("no~room")!));
  keyboard.type("/nick Ann.B");
  await screen.waitFor((line) => line === say.renamed("Ann.B"));
  assertEquals(prompts.at(-1), "Ann.B@Ops> ");
  keyboard.type(`/join ${LOBBY}`);
  await screen.waitFor((line) => roomChange(line) === LOBBY);
  assertEquals(prompts, ["ann@lobby> ", "ann@Ops> ", "Ann.B@Ops> ", "Ann.B@lobby> "]);

  keyboard.end();
  assertEquals(await within(done, "runClient to finish"), 0);
  // The commands were shown by their replies only.
  const echoed = screen.lines.filter((line) => /^(ann|Ann\.B)[: ]/.test(line));
  assertEquals(echoed, []);
});

test("runClient at the name prompt: /help lists the commands and asks again, /quit leaves", async () => {
  await using server = await quietServer();
  const prompts: string[] = [];
  const delays: number[] = [];
  const { keyboard, screen, done } = interactiveClient({
    port: server.addr.port,
    setPrompt: (prompt) => prompts.push(prompt),
    reconnectDelay: (attempt) => {
      delays.push(attempt);
      return 1;
    },
  });
  await screen.waitFor((line) => line === NAME_PROMPT);
  keyboard.type("/help");
  await screen.waitFor((line) => line === say.helpHeader);
  await screen.waitFor((line) => line === NAME_PROMPT, 2);
  assertEquals(prompts, ["name> ", "name> "], "still asking for a name");
  keyboard.type("/quit");
  assertEquals(
    await within(done, "runClient to finish"),
    0,
    "leaving at the name prompt is a clean exit",
  );
  assertEquals(screen.lines.at(-1), say.bye);
  assertEquals(delays, [], "no reconnect after /quit");
  assertEquals(server.stats().connections, 0);
});

test("runClient renders each line class with colour and strips control characters", async () => {
  // A fake server that sends exactly what we want the client to render.
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  const fake = (async () => {
    using conn = await listener.accept();
    const lines = [WELCOME, NAME_PROMPT];
    await conn.write(encoder.encode(lines.join("\n") + "\n"));
    const buffer = new Uint8Array(100);
    const n = await conn.read(buffer);
    assertEquals(new TextDecoder().decode(buffer.subarray(0, n!)), "ann\n");
    await conn.write(encoder.encode(
      [
        say.hello("ann", [], 0),
        "bob: hi \x1b]0;pwned\x07there\r",
        "* bob waves",
        "bob (private): psst",
        "!! oops",
        "bob: caf", // the line goes on in the next write, in the middle of "é"
      ].join("\n"),
    ));
    await conn.write(new Uint8Array([0xc3]));
    await conn.write(new Uint8Array([0xa9, 0x0a]));
  })();
  const screen = new Screen();
  const errors: string[] = [];
  const code = await runClient({
    port,
    name: "ann",
    input: new Keyboard(),
    output: screen.print,
    errors: (line) => errors.push(line),
    interactive: true,
    color: true,
    reconnect: false,
  });
  await fake;
  assertEquals(code, 1, "a dropped connection without reconnect is exit 1");
  const bob = `\x1b[1;${nameColor("bob")}mbob\x1b[22;39m`;
  assertEquals(screen.lines, [
    `\x1b[2m${WELCOME}\x1b[22m`,
    `\x1b[2m${say.hello("ann", [], 0)}\x1b[22m`,
    `${bob}: hi ]0;pwnedthere`,
    `\x1b[3m* ${bob} waves\x1b[23m`,
    `${bob} \x1b[7m(private)\x1b[27m: \x1b[1mpsst\x1b[22m`,
    "\x1b[31m!! oops\x1b[39m",
    `${bob}: café`,
  ]);
  assertEquals(errors, [`connection to 127.0.0.1:${port} lost: closed by the server`]);
});

test("runClient shows a refused name and asks again when interactive", async () => {
  await using server = await quietServer();
  const { port } = server.addr;
  using _ann = await LineClient.join(server, "ann");
  const { keyboard, screen, done } = interactiveClient({
    port,
    name: "ANN",
  });
  await screen.waitFor((line) => line === say.nameTaken("ANN"));
  await screen.waitFor((line) => line === NAME_PROMPT);
  keyboard.type("ann2");
  await screen.waitFor((line) => helloName(line) === "ann2");
  keyboard.end();
  assertEquals(await done, 0);
});

test("runClient exits 2 with the reason when a scripted name is refused", async () => {
  await using server = await quietServer();
  const { port } = server.addr;
  using _ann = await LineClient.join(server, "ann");
  const errors: string[] = [];
  const code = await runClient({
    port,
    name: "ann",
    input: new Keyboard(),
    output: () => {},
    errors: (line) => errors.push(line),
    interactive: false,
  });
  assertEquals(code, 2);
  assertEquals(errors, [`name refused: ${say.nameTaken("ann").slice("!! ".length)}`]);
});

test("runClient scripted: first input line is the name, byte stream input, exits 0 at EOF", async () => {
  await using server = await quietServer();
  const { port } = server.addr;
  using bob = await LineClient.join(server, "bob");
  const input = ReadableStream.from([encoder.encode("bot\none\nt"), encoder.encode("wo\n")]);
  const out: Uint8Array[] = [];
  const output = new WritableStream<Uint8Array>({ write: (chunk) => void out.push(chunk) });
  const code = await runClient({ port, input, output, interactive: false });
  assertEquals(code, 0);
  const seen = await bob.through((line) => line === say.left("bot"));
  const got = seen.filter((line) => line.startsWith("bot: "));
  assertEquals(got, ["bot: one", "bot: two"]);
  const printed = new TextDecoder().decode(new Uint8Array(out.flatMap((c) => [...c])));
  assert(printed.includes(say.hello("bot", ["bob"], 1)), printed);
});

test("runClient reconnects with backoff and rejoins with the same name", async () => {
  await using first = await quietServer();
  await using second = await quietServer();
  const servers = [first, second];
  let connects = 0;
  const delays: number[] = [];
  const prompts: string[] = [];
  const { keyboard, screen, done } = interactiveClient({
    name: "ann",
    setPrompt: (prompt) => prompts.push(prompt),
    // The first connection goes to one server, every later one to the other.
    connect: () => Deno.connect({ port: servers[Math.min(connects++, 1)].addr.port }),
    reconnectDelay: (attempt) => {
      delays.push(attempt);
      return 1;
    },
  });
  await screen.waitFor((line) => helloName(line) === "ann");
  await first.close();
  await screen.waitFor((line) => line === notice(say.shuttingDown));
  await screen.waitFor((line) => line.startsWith("-- connection lost (closed by the server)"));
  await screen.waitFor((line) => helloName(line) === "ann", 2);
  assertEquals(second.stats().members, 1);
  assertEquals(delays, [0]);
  // The greeting is not repeated on a rejoin.
  assertEquals(screen.lines.filter((line) => line === WELCOME).length, 1);
  keyboard.end();
  assertEquals(await done, 0);
  // It was in the lobby, so it stayed there: no /join was sent.
  assertEquals(screen.lines.filter((line) => roomChange(line) !== null), []);
  assertEquals(prompts, ["ann@lobby> ", "ann@lobby> "]);
});

test("runClient goes back to its room after a reconnect", async () => {
  await using first = await quietServer();
  await using second = await quietServer();
  // Someone in each lobby, and in a room on the second server.
  using _bob = await LineClient.join(first, "bob");
  using carl = await LineClient.join(second, "carl");
  using dan = await LineClient.join(second, "dan");
  await dan.write("/join Dev\n");
  await dan.until((line) => roomChange(line) === "Dev");
  const servers = [first, second];
  let connects = 0;
  const prompts: string[] = [];
  const { keyboard, screen, done } = interactiveClient({
    name: "ann",
    setPrompt: (prompt) => prompts.push(prompt),
    connect: () => Deno.connect({ port: servers[Math.min(connects++, 1)].addr.port }),
    reconnectDelay: () => 1,
  });
  await screen.waitFor((line) => helloName(line) === "ann");
  keyboard.type("/join dev");
  await screen.waitFor((line) => roomChange(line) === "dev");
  await first.close();
  // Back on the other server: the hello puts it in the lobby, and it asks for dev again.
  await screen.waitFor((line) => line === say.hello("ann", ["carl"], 1));
  await screen.waitFor((line) => line === say.nowIn("Dev", ["dan"], 1));
  await carl.until((line) => line === say.moved("ann", "Dev"));
  await dan.until((line) => line === say.joined("ann"));
  const dev = second.hub.rooms.get(roomKey("dev"))!;
  assertEquals([...dev.members].map((member) => member.name).sort(), ["ann", "dan"]);
  assertEquals(prompts, ["ann@lobby> ", "ann@dev> ", "ann@lobby> ", "ann@Dev> "]);
  keyboard.type("back again");
  await dan.until((line) => line === "ann: back again");
  keyboard.end();
  assertEquals(await within(done, "runClient to finish"), 0);
});

/** `conn`, but its writes fail as on a reset connection while `broken()` is true. */
function breakableWrites(conn: Deno.Conn, broken: () => boolean): Deno.Conn {
  return new Proxy(conn, {
    get(target, key) {
      if (key === "write") {
        return (bytes: Uint8Array) =>
          broken()
            ? Promise.reject(new Deno.errors.ConnectionReset("Connection reset by peer"))
            : target.write(bytes);
      }
      const value = Reflect.get(target, key);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

test("runClient treats a failed write as a lost connection and reconnects", async () => {
  await using first = await quietServer();
  await using second = await quietServer();
  let connects = 0;
  let broken = false;
  const { keyboard, screen, done } = interactiveClient({
    name: "ann",
    connect: async () =>
      connects++ === 0
        ? breakableWrites(await Deno.connect({ port: first.addr.port }), () => broken)
        : Deno.connect({ port: second.addr.port }),
    reconnectDelay: () => 1,
  });
  await screen.waitFor((line) => helloName(line) === "ann");
  broken = true;
  keyboard.type("lost words");
  await screen.waitFor((line) => line === "!! not connected; that line was not sent");
  await screen.waitFor((line) =>
    line === "-- connection lost (connection reset); reconnecting in 1 ms"
  );
  await screen.waitFor((line) => helloName(line) === "ann", 2);
  assertEquals(second.stats().members, 1);
  keyboard.end();
  assertEquals(await within(done, "runClient to finish"), 0);
  assert(!screen.lines.includes("ann: lost words"), "an unsent line is not shown as sent");
});

test("runClient without reconnect exits 1 when a write fails", async () => {
  await using server = await quietServer();
  const { port } = server.addr;
  let broken = false;
  const errors: string[] = [];
  const { keyboard, screen, done } = interactiveClient({
    port,
    name: "ann",
    errors: (line) => errors.push(line),
    reconnect: false,
    connect: async () => breakableWrites(await Deno.connect({ port }), () => broken),
  });
  await screen.waitFor((line) => helloName(line) === "ann");
  broken = true;
  keyboard.type("lost words");
  assertEquals(await within(done, "runClient to finish"), 1);
  assertEquals(errors, [`connection to 127.0.0.1:${port} lost: connection reset`]);
});

test("runClient retries a refused reconnect with growing delays, and abort leaves", async () => {
  await using server = await quietServer();
  const port = server.addr.port;
  const delays: number[] = [];
  const controller = new AbortController();
  const screen = new Screen();
  let serving = true;
  const done = runClient({
    port,
    name: "ann",
    input: new Keyboard(),
    output: screen.print,
    interactive: true,
    signal: controller.signal,
    connect: () => serving ? Deno.connect({ port }) : Promise.reject(new Error("nope")),
    reconnectDelay: (attempt) => {
      delays.push(attempt);
      if (attempt === 2) controller.abort();
      return 1;
    },
  });
  await screen.waitFor((line) => helloName(line) === "ann");
  serving = false;
  await server.close();
  assertEquals(await done, 0);
  assertEquals(delays, [0, 1, 2]);
  await screen.waitFor((line) =>
    line === `-- cannot connect to 127.0.0.1:${port} (nope); reconnecting in 1 ms`
  );
});

test("runClient without reconnect exits 1 when the server goes away", async () => {
  await using server = await quietServer();
  const screen = new Screen();
  const errors: string[] = [];
  const done = runClient({
    port: server.addr.port,
    name: "ann",
    input: new Keyboard(),
    output: screen.print,
    errors: (line) => errors.push(line),
    interactive: true,
    reconnect: false,
  });
  await screen.waitFor((line) => helloName(line) === "ann");
  await server.close();
  assertEquals(await done, 1);
  assertEquals(errors.length, 1);
  assert(errors[0].includes("lost"), errors[0]);
});

test("runClient /quit leaves cleanly with exit 0", async () => {
  await using server = await quietServer();
  const { keyboard, screen, done } = interactiveClient({
    port: server.addr.port,
    name: "ann",
  });
  await screen.waitFor((line) => helloName(line) === "ann");
  keyboard.type("/quit gone fishing");
  assertEquals(await done, 0);
  assert(screen.lines.includes(say.bye));
  assertEquals(server.stats().members, 0);
});

test("runClient speaks TLS to a server with a certificate from a private CA", async () => {
  await using server = await quietServer({ cert: pem("cert.pem"), key: pem("key.pem") });
  const { keyboard, screen, done } = interactiveClient({
    port: server.addr.port,
    name: "ann",
    tls: true,
    caCerts: [pem("ca.pem")],
  });
  await screen.waitFor((line) => helloName(line) === "ann");
  keyboard.end();
  assertEquals(await done, 0);
});

/** Runs an interactive client that should fail without ever joining; returns what it said. */
async function failingClient(options: Partial<Parameters<typeof runClient>[0]>) {
  const screen = new Screen();
  const errors: string[] = [];
  const delays: number[] = [];
  const code = await within(
    runClient({
      name: "ann",
      input: new Keyboard(),
      output: screen.print,
      errors: (line) => errors.push(line),
      interactive: true,
      reconnectDelay: (attempt) => {
        delays.push(attempt);
        return 1;
      },
      ...options,
    }),
    () => `runClient to give up; screen ${JSON.stringify(screen.lines)}, delays ${delays}`,
  );
  return { code, errors, delays, screen: screen.lines };
}

test("runClient: a TLS handshake that fails on the first connection is one line and exit 1", async () => {
  // The testdata server without trusting its CA, and a plain-TCP server: no retries.
  await using secure = await quietServer({ cert: pem("cert.pem"), key: pem("key.pem") });
  await using plain = await quietServer();
  const cases = [
    [secure, "invalid peer certificate: UnknownIssuer (try --ca FILE)"],
    [
      plain,
      "not a TLS server: received corrupt message of type InvalidContentType (try without --tls)",
    ],
  ] as const;
  for (const [server, why] of cases) {
    const { port } = server.addr;
    const failed = await failingClient({ port, tls: true });
    assertEquals(failed.errors, [`cannot connect to 127.0.0.1:${port}: ${why}`]);
    assertEquals(failed.code, 1);
    assertEquals(failed.delays, [], "no reconnect for a connection it never had");
    assertEquals(failed.screen, []);
  }
});

test("runClient gives up on a server that never greets, or never shakes hands", async () => {
  // A listener that accepts and says nothing, as `ncat -l` or a wrong port would.
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  for (const tls of [false, true]) {
    const accepted = listener.accept();
    const failed = await failingClient({ port, tls, greetingTimeout: 100 });
    using _conn = await accepted;
    const why = tls
      ? "no TLS handshake within 100 ms"
      : "no greeting within 100 ms (is it a chat server?)";
    assertEquals(failed.errors, [`cannot connect to 127.0.0.1:${port}: ${why}`]);
    assertEquals(failed.code, 1);
    assertEquals(failed.delays, []);
  }
});

test("runClient: refused at the door is a connection it never had, with the server's reason", async () => {
  await using server = await quietServer({ maxClients: 1 });
  using _ann = await LineClient.join(server, "ann");
  const { port } = server.addr;
  const screen = new Screen();
  const errors: string[] = [];
  const code = await runClient({
    port,
    name: "bot",
    input: new Keyboard(),
    output: screen.print,
    errors: (line) => errors.push(line),
    interactive: false,
  });
  assertEquals(code, 1);
  assertEquals(errors, [`cannot connect to 127.0.0.1:${port}: server full; try again later`]);
  assertEquals(screen.lines, [say.serverFull], "the transcript keeps what the server said");
});

test("runClient runs a command given as the name as if typed at the prompt: /quit leaves", async () => {
  await using server = await quietServer();
  const screen = new Screen();
  const delays: number[] = [];
  const code = await within(
    runClient({
      port: server.addr.port,
      name: "/quit",
      input: new Keyboard(),
      output: screen.print,
      interactive: true,
      reconnectDelay: (attempt) => {
        delays.push(attempt);
        return 1;
      },
    }),
    () => `runClient to finish; got ${JSON.stringify(screen.lines)}`,
  );
  assertEquals(code, 0);
  assertEquals(screen.lines.at(-1), say.bye);
  assertEquals(delays, [], "/quit is not re-sent as a name on and on");
});

test("runClient checks a line against the limit the server states, and sends no longer one", async () => {
  await using server = await quietServer({ maxLine: 100 });
  using bob = await LineClient.join(server, "bob");
  const { keyboard, screen, done } = interactiveClient({
    port: server.addr.port,
    name: "ann",
  });
  await screen.waitFor((line) => helloName(line) === "ann");
  assert(screen.lines.includes(limitsLine(100)), "the greeting states the limit");
  // 51 characters are 102 bytes: the limit is in bytes.
  keyboard.type("é".repeat(51));
  await screen.waitFor((line) => line === "!! line too long (102 bytes, max 100); it was not sent");
  keyboard.type("x".repeat(100));
  assertEquals(await bob.message(), `ann: ${"x".repeat(100)}`, "the long line never went out");
  await screen.waitFor((line) => line === `ann: ${"x".repeat(100)}`);
  keyboard.end();
  assertEquals(await done, 0);
  assert(!screen.lines.some((line) => line.startsWith("ann: é")), "not shown as sent");
  assert(!screen.lines.some((line) => line.startsWith("!! line too long (max")), "nor refused");

  // Piped, the line is skipped with a word on stderr, and the rest goes on.
  const errors: string[] = [];
  const input = ReadableStream.from([encoder.encode(`bot\n${"é".repeat(51)}\nafter\n`)]);
  const code = await runClient({
    port: server.addr.port,
    input,
    output: () => {},
    errors: (line) => errors.push(line),
  });
  assertEquals(code, 0);
  assertEquals(await bob.message(), "bot: after");
  assertEquals(errors, ["line too long (102 bytes, max 100); it was not sent"]);
});

test("runClient shows a private message as sent only once the server confirms it", async () => {
  await using server = await quietServer();
  using bob = await LineClient.join(server, "bob");
  const { keyboard, screen, done } = interactiveClient({
    port: server.addr.port,
    name: "ann",
  });
  await screen.waitFor((line) => helloName(line) === "ann");
  keyboard.type("/msg nobody hi");
  await screen.waitFor((line) => line === say.noSuchMember("nobody"));
  keyboard.type("/msg bob psst");
  await bob.until((line) => line === "ann (private): psst");
  await screen.waitFor((line) => line === "ann (private) → bob: psst");
  keyboard.end();
  assertEquals(await done, 0);
  // Shown once, in our style; the one to no one never.
  assertEquals(screen.lines.filter((line) => line.includes("→")), ["ann (private) → bob: psst"]);
  assert(!screen.lines.includes(say.privateSent("bob", "psst")), "no raw receipt as well");
});

test("runClient prefixes lines with ISO 8601 UTC times when asked", async () => {
  await using server = await quietServer();
  const lines: string[] = [];
  const code = await runClient({
    port: server.addr.port,
    name: "logger",
    input: ReadableStream.from<Uint8Array>([]),
    output: (line) => lines.push(line),
    timestamps: "iso",
    now: () => new Date(Date.UTC(2026, 10, 29, 4, 51, 50, 123)),
  });
  assertEquals(code, 0);
  assertEquals(lines[0], `2026-11-29T04:51:50.123Z ${WELCOME}`);
  assert(lines.every((line) => line.startsWith("2026-11-29T04:51:50.123Z -- ")), `${lines}`);
});

// ---------------------------------------------------------------------------
// History: replayed lines, /history, and no replay shown twice after a reconnect
// ---------------------------------------------------------------------------

/** A replayed line as shown without colour, its local HH:MM time replaced by `T`. */
const unstamped = (line: string) => line.replace(/^\[\d\d:\d\d\] /, "[T] ");

/** Sends `lines` as `client`, and returns once the server has handled them all. */
async function sayAll(client: LineClient, ...lines: string[]): Promise<void> {
  await client.write([...lines, "/who"].map((line) => line + "\n").join(""));
  await client.until((line) => line.startsWith("-- Online in "));
}

test("formatLine shows a replayed line dim, with the time it was sent, never as a live one", () => {
  const sent = new Date(2026, 10, 28, 9, 5, 30); // local time
  const now = new Date(2026, 10, 28, 18, 0);
  const wire = (kind: "message" | "action" | "private", text: string) =>
    historyLine({ kind, from: "ann", text, time: sent.getTime() });
  const hi = wire("message", "hi");
  assertEquals(parseLine(hi).kind, "other", "no live line class");
  assertEquals(formatLine(hi, { color: false, now }), "[09:05] ann: hi");
  // The time it was sent replaces the time it arrived (--timestamps), and shows in full with iso.
  assertEquals(formatLine(hi, { color: false, now, time: now }), "[09:05] ann: hi");
  const utc = sent.toISOString().slice(0, 19) + "Z";
  assertEquals(formatLine(hi, { color: false, now, time: now, iso: true }), `[${utc}] ann: hi`);
  assertEquals(historyStamp(sent, true), utc);
  // Sent on another day than today: the date too.
  assertEquals(
    formatLine(hi, { color: false, now: new Date(2026, 10, 29, 0, 1) }),
    "[2026-11-28 09:05] ann: hi",
  );
  // In colour: dim as a whole; no name colour, bold, italics or private highlight, even as ours.
  const dimmed = (text: string) => `\x1b[2m${text}\x1b[22m`;
  assertEquals(formatLine(hi, { color: true, now }), dimmed("[09:05] ann: hi"));
  assertEquals(formatLine(hi, { color: true, now, own: true }), dimmed("[09:05] ann: hi"));
  assertEquals(
    formatLine(wire("action", "waves"), { color: true, now }),
    dimmed("[09:05] * ann waves"),
  );
  assertEquals(
    formatLine(wire("private", "psst"), { color: true, now }),
    dimmed("[09:05] ann (private): psst"),
  );
  assertEquals(
    formatLine(wire("message", "\x1b[31mred\x07"), { color: true, now }),
    dimmed("[09:05] ann: [31mred"),
    "cleaned before styling",
  );
  // Headers and the end are notices, dim like any.
  assertEquals(formatLine(say.historyEnd, { color: true }), dimmed(say.historyEnd));
  // Continuation rows of a wrapped one are indented past the stamp and the name.
  assertEquals(hangingIndent("ann: hi", "[09:05] ".length), 13);
  // /history is a command, shown only by the server's answer.
  assertEquals(ownLine("me", "/history"), null);
  assertEquals(ownLine("me", "/history 50"), null);
  assertEquals(ownLine("me", "/HISTORY"), null);
});

test("runClient shows a replay dim with its time, then live lines as usual", async () => {
  await using server = await quietServer({ replay: 20 });
  using bob = await LineClient.join(server, "bob");
  const before = new Date(Math.floor(Date.now() / 1000) * 1000);
  await sayAll(bob, "hi", "/me waves");
  const after = new Date();
  const { keyboard, screen, done } = interactiveClient({
    port: server.addr.port,
    name: "ann",
    color: true,
  });
  await screen.waitFor((line) => line.includes(say.historyEnd));
  await bob.write("live\n/me nods\n");
  await screen.waitFor((line) => line.includes("nods"));
  keyboard.end();
  assertEquals(await done, 0);
  const dimmed = (text: string) => `\x1b[2m${text}\x1b[22m`;
  const bobName = `\x1b[1;${nameColor("bob")}mbob\x1b[22;39m`;
  // The replay was sent within [before, after]; its time shows as HH:MM.
  const at = screen.lines[screen.lines.indexOf(dimmed(say.historyHeader(LOBBY, 2))) + 1];
  const stamp = [before, after].map((time) => timestamp(time)).find((hhmm) =>
    at === dimmed(`[${hhmm}] bob: hi`)
  );
  assert(stamp !== undefined, at);
  const start = screen.lines.findIndex((line) => line.includes("Hello, ann!"));
  assertEquals(screen.lines.slice(start + 1, start + 7), [
    dimmed(say.historyHeader(LOBBY, 2)),
    dimmed(`[${stamp}] bob: hi`),
    dimmed(`[${stamp}] * bob waves`),
    dimmed(say.historyEnd),
    `${bobName}: live`,
    `\x1b[3m* ${bobName} nods\x1b[23m`,
  ]);
});

test("runClient piped prints replayed lines as they came, unstyled and unstamped", async () => {
  await using server = await quietServer({ replay: 20 });
  using bob = await LineClient.join(server, "bob");
  await sayAll(bob, "hi", "/me waves");
  // What the server sends, as nc would show it.
  using raw = await LineClient.join(server, "raw");
  const block = await raw.through((line) => line === say.historyEnd);
  assertEquals(block.length, 4);
  assert(block.slice(1, 3).every((line) => /^\[\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\] /.test(line)));
  const lines: string[] = [];
  const code = await runClient({
    port: server.addr.port,
    name: "logger",
    input: ReadableStream.from<Uint8Array>([]),
    output: (line) => lines.push(line),
    color: true,
    timestamps: "iso",
    now: () => new Date(Date.UTC(2026, 10, 29, 4, 51, 50, 123)),
  });
  assertEquals(code, 0);
  const start = lines.findIndex((line) => line.includes(block[0]));
  assertEquals(lines.slice(start + 1, start + 3), block.slice(1, 3));
  assert(lines[start + 3].includes(say.historyEnd), `${lines}`);
});

test("runClient shows /history pages by the server's answers only", async () => {
  await using server = await quietServer({ replay: 2 });
  using bob = await LineClient.join(server, "bob");
  await sayAll(bob, "m1", "m2", "m3", "m4", "m5");
  const { keyboard, screen, done } = interactiveClient({
    port: server.addr.port,
    name: "ann",
  });
  await screen.waitFor((line) => line === say.historyEnd);
  keyboard.type("/history 2");
  await screen.waitFor((line) => line === say.historyEnd, 2);
  keyboard.type("/history");
  await screen.waitFor((line) => line === say.historyEnd, 3);
  keyboard.type("/history");
  await screen.waitFor((line) => line === say.noEarlier(LOBBY));
  keyboard.end();
  assertEquals(await done, 0);
  const start = screen.lines.findIndex((line) => helloName(line) === "ann");
  assertEquals(
    screen.lines.slice(start + 1).map(unstamped),
    [
      say.historyHeader(LOBBY, 2),
      "[T] bob: m4",
      "[T] bob: m5",
      say.historyEnd,
      say.earlierHeader(LOBBY, 2),
      "[T] bob: m2",
      "[T] bob: m3",
      say.historyEnd,
      say.earlierHeader(LOBBY, 1),
      "[T] bob: m1",
      say.historyEnd,
      say.noEarlier(LOBBY),
      say.bye,
    ],
  );
  assert(!screen.lines.some((line) => line.includes("ann: /history")), "never echoed");
});

/**
 * Connections to `server` whose first one `drop()` ends (as if the network failed)
 * and whose later ones wait for `open()` first.
 */
function droppable(server: { addr: Deno.NetAddr }) {
  const conns: Deno.Conn[] = [];
  let gate = Promise.resolve();
  let open = () => {};
  return {
    connect: async () => {
      await gate;
      const conn = await Deno.connect({ port: server.addr.port });
      conns.push(conn);
      return conn;
    },
    /** Ends the last connection; the next waits for `open()`. */
    drop: async () => {
      gate = new Promise((resolve) => open = resolve);
      await conns.at(-1)!.closeWrite();
    },
    open: () => open(),
  };
}

test("runClient after a reconnect shows only the replayed lines it had not shown", async () => {
  await using server = await quietServer({ replay: 20 });
  using bob = await LineClient.join(server, "bob");
  await sayAll(bob, "one", "two");
  const link = droppable(server);
  const { keyboard, screen, done } = interactiveClient({
    name: "ann",
    connect: link.connect,
    reconnectDelay: () => 1,
  });
  await screen.waitFor((line) => line === say.historyEnd);
  await bob.write("three\n");
  await screen.waitFor((line) => line === "bob: three");
  keyboard.type("mine");
  await bob.until((line) => line === "ann: mine");

  // Dropped; bob says more meanwhile; back, only that is replayed.
  await link.drop();
  await bob.until((line) => line.startsWith(say.left("ann")));
  await sayAll(bob, "four", "/me waves");
  link.open();
  await screen.waitFor((line) => helloName(line) === "ann", 2);
  await screen.waitFor((line) => line === say.historyEnd, 2);
  let start = screen.lines.findLastIndex((line) => helloName(line) === "ann");
  assertEquals(screen.lines.slice(start + 1).map(unstamped), [
    say.historyHeader(LOBBY, 2),
    "[T] bob: four",
    "[T] * bob waves",
    say.historyEnd,
  ]);

  // Dropped again with nothing new: the replay shows nothing at all.
  await link.drop();
  await bob.until((line) => line.startsWith(say.left("ann")));
  link.open();
  await screen.waitFor((line) => helloName(line) === "ann", 3);
  await bob.until((line) => line === say.joined("ann"));
  await bob.write("five\n");
  await screen.waitFor((line) => line === "bob: five");
  start = screen.lines.findLastIndex((line) => helloName(line) === "ann");
  assertEquals(screen.lines.slice(start + 1), ["bob: five"]);
  keyboard.end();
  assertEquals(await done, 0);
  for (const text of ["bob: one", "bob: two", "bob: three", "ann: mine", "bob: four"]) {
    const shown = screen.lines.filter((line) => line.endsWith(text));
    assertEquals(shown.length, 1, `${text}: ${JSON.stringify(screen.lines)}`);
  }
});

test("runClient back in a room after a reconnect: no lobby replay, no room line twice", async () => {
  await using server = await quietServer({ replay: 20 });
  using bob = await LineClient.join(server, "bob");
  await sayAll(bob, "in the lobby");
  using carl = await LineClient.join(server, "carl");
  await carl.write("/join dev\n");
  await carl.until((line) => roomChange(line) === "dev");
  await sayAll(carl, "dev one");
  const link = droppable(server);
  const { keyboard, screen, done } = interactiveClient({
    name: "ann",
    connect: link.connect,
    reconnectDelay: () => 1,
  });
  await screen.waitFor((line) => line === say.historyEnd);
  keyboard.type("/join dev");
  await screen.waitFor((line) => line === say.historyEnd, 2);
  await link.drop();
  await carl.until((line) => line.startsWith(say.left("ann")));
  await sayAll(bob, "lobby again");
  await sayAll(carl, "dev two");
  link.open();
  await screen.waitFor((line) => roomChange(line) === "dev", 2);
  await screen.waitFor((line) => line === say.historyEnd, 3);
  keyboard.end();
  assertEquals(await done, 0);
  const start = screen.lines.findLastIndex((line) => helloName(line) === "ann");
  assertEquals(screen.lines.slice(start + 1).map(unstamped), [
    say.nowIn("dev", ["carl"], 1),
    say.historyHeader("dev", 1),
    "[T] carl: dev two",
    say.historyEnd,
    say.bye,
  ]);
});

// ---------------------------------------------------------------------------
// The command line, as a subprocess
// ---------------------------------------------------------------------------

test("client.ts scripted: three piped lines arrive in order, exit 0", async () => {
  await using server = await quietServer();
  const { port } = server.addr;
  using watcher = await LineClient.join(server, "watcher");
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-N", CLIENT, "--name", "bot", "--port", String(port)],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(encoder.encode("one\ntwo\nthree\n"));
  await writer.close();
  const { code, stdout, stderr } = await child.output();
  const err = new TextDecoder().decode(stderr);
  assertEquals(code, 0, err);
  assert(new TextDecoder().decode(stdout).includes(say.hello("bot", ["watcher"], 1)));
  const seen = await watcher.through((line) => line === say.left("bot"));
  const got = seen.filter((line) => line.startsWith("bot: "));
  assertEquals(got, ["bot: one", "bot: two", "bot: three"]);
});

test("client.ts exits 1 with one line naming the address when it cannot connect", async () => {
  const port = await freePort();
  const { code, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-N", CLIENT, "--name", "bot", "--port", String(port)],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  assertEquals(code, 1);
  const lines = new TextDecoder().decode(stderr).trimEnd().split("\n");
  assertEquals(lines, [`cannot connect to 127.0.0.1:${port}: connection refused`]);
});

test("client.ts --help prints usage and options and exits 0", async () => {
  const { code, stdout } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-N", CLIENT, "--help"],
    stdin: "null",
    stdout: "piped",
    stderr: "null",
  }).output();
  assertEquals(code, 0);
  const text = new TextDecoder().decode(stdout);
  assert(text.includes("USAGE:") && text.includes("OPTIONS:") && text.includes("--no-reconnect"));
  // --ca reads a file: the usage shows the read permission too.
  assert(text.includes("deno run -N -R client.ts [OPTIONS]"), text);
  assert(text.includes("--timestamps=iso"), text);
  assert(text.includes("/history [N]"), text);
});

/** Runs client.ts with `args` (after `deno run`), `input` on its stdin; decodes what it wrote. */
async function cli(args: string[], input = "") {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ...args],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(encoder.encode(input));
  await writer.close();
  const { code, stdout, stderr } = await child.output();
  const decoder = new TextDecoder();
  return { code, stdout: decoder.decode(stdout), stderr: decoder.decode(stderr) };
}

test("client.ts: a --ca file it cannot read is one line and exit 1, not a usage error", async () => {
  const missing = new URL("missing.pem", testdata).pathname;
  const { code, stderr } = await cli(["-N", "-R", CLIENT, "--ca", missing]);
  assertEquals(stderr, `client: cannot read --ca ${missing}: no such file\n`);
  assertEquals(code, 1);
  const denied = await cli(["-N", CLIENT, "--ca", new URL("ca.pem", testdata).pathname]);
  assert(denied.stderr.includes("run with -R"), denied.stderr);
  assertEquals(denied.code, 1);
});

test("client.ts piped: a failed TLS handshake is one line, not a lost connection", async () => {
  await using server = await quietServer({ cert: pem("cert.pem"), key: pem("key.pem") });
  const { port } = server.addr;
  const { code, stdout, stderr } = await cli(
    ["-N", CLIENT, "--tls", "--port", String(port), "--name", "bot"],
    "hi\n",
  );
  assertEquals(
    stderr,
    `cannot connect to 127.0.0.1:${port}: invalid peer certificate: UnknownIssuer (try --ca FILE)\n`,
  );
  assertEquals(stdout, "");
  assertEquals(code, 1);
});

test("client.ts piped: /quit as the first line (the name) leaves with exit 0", async () => {
  await using server = await quietServer();
  const { code, stdout, stderr } = await cli(
    ["-N", CLIENT, "--port", String(server.addr.port)],
    "/quit\nnever sent\n",
  );
  assertEquals(stderr, "");
  assertEquals(code, 0);
  assertEquals(stdout.trimEnd().split("\n").at(-1), say.bye);
});

test("client.ts --timestamps is HH:MM, --timestamps=iso the full UTC time", async () => {
  await using server = await quietServer();
  const port = String(server.addr.port);
  const iso = await cli(["-N", CLIENT, "--port", port, "--name", "bot", "--timestamps=iso"]);
  assertEquals(iso.code, 0, iso.stderr);
  const isoLines = iso.stdout.trimEnd().split("\n");
  assert(isoLines.length >= 4, iso.stdout);
  for (const line of isoLines) {
    assert(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z -- /.test(line), line);
  }
  const short = await cli(["-N", CLIENT, "--port", port, "--name", "bot2", "--timestamps"]);
  assertEquals(short.code, 0, short.stderr);
  for (const line of short.stdout.trimEnd().split("\n")) assert(/^\d\d:\d\d -- /.test(line), line);
  const bad = await cli(["-N", CLIENT, "--timestamps=utc"]);
  assertEquals(bad.code, 2);
  assert(bad.stderr.startsWith('client: --timestamps is HH:MM, or --timestamps=iso, not "utc"'));
});

// ---------------------------------------------------------------------------
// The interactive client in a real terminal (tmux)
// ---------------------------------------------------------------------------

const hasTmux = (() => {
  try {
    return new Deno.Command("tmux", { args: ["-V"], stdout: "null", stderr: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
})();

async function tmux(socket: string, ...args: string[]): Promise<string> {
  const { success, stdout, stderr } = await new Deno.Command("tmux", {
    args: ["-L", socket, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!success) throw new Error(`tmux ${args[0]}: ${new TextDecoder().decode(stderr)}`);
  return new TextDecoder().decode(stdout);
}

/** Polls `read` (an external process we cannot await otherwise) until `ok` or the limit. */
async function poll<T>(
  read: () => Promise<T>,
  ok: (value: T) => boolean,
  what: string,
): Promise<T> {
  const deadline = Date.now() + WAIT_LIMIT;
  for (;;) {
    const value = await read();
    if (ok(value)) return value;
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}; last seen:\n${String(value)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The rows of a captured screen, without trailing blanks. */
const rowsOf = (text: string) => text.trimEnd().split("\n").map((row) => row.trimEnd());

/**
 * `client.ts ARGS` in a tmux terminal of `columns` × `rows`, followed by
 * `EXIT=<status>` when it ends; disposing it kills the terminal.
 */
class Terminal {
  readonly socket = `chat-client-test-${Deno.pid}-${crypto.randomUUID().slice(0, 8)}`;

  private constructor() {}

  static async open(args: string[], columns = 100, rows = 30): Promise<Terminal> {
    const terminal = new Terminal();
    const command = [Deno.execPath(), "run", "-N", CLIENT, ...args]
      .map((arg) => `'${arg}'`).join(" ");
    await terminal.tmux(
      "new-session",
      "-d",
      "-x",
      String(columns),
      "-y",
      String(rows),
      `${command}; echo "EXIT=$?"; sleep 10`,
    );
    return terminal;
  }

  tmux(...args: string[]): Promise<string> {
    return tmux(this.socket, ...args);
  }

  /** What the screen shows. */
  screen(): Promise<string> {
    return this.tmux("capture-pane", "-p");
  }

  /** The scrollback and the screen, each wrapped line joined into one. */
  history(): Promise<string> {
    return this.tmux("capture-pane", "-p", "-J", "-S", "-");
  }

  async cursor(): Promise<number[]> {
    return (await this.tmux("display", "-p", "#{cursor_x},#{cursor_y}")).trim().split(",")
      .map(Number);
  }

  waitScreen(ok: (text: string) => boolean, what: string): Promise<string> {
    return poll(() => this.screen(), ok, what);
  }

  /** Types `text` as keys. */
  type(text: string): Promise<string> {
    return this.tmux("send-keys", "-l", text);
  }

  /** Presses keys by name (`Enter`, `Left`, `C-d` …). */
  keys(...names: string[]): Promise<string> {
    return this.tmux("send-keys", ...names);
  }

  /** Pastes `text`, in one write, as a terminal does. */
  async paste(text: string): Promise<void> {
    await this.tmux("set-buffer", "-b", "paste", text);
    await this.tmux("paste-buffer", "-d", "-b", "paste");
  }

  /** CPU seconds the client has used so far, or `null` without Linux's /proc. */
  async cpuSeconds(): Promise<number | null> {
    try {
      const shell = (await this.tmux("display", "-p", "#{pane_pid}")).trim();
      const [client] = Deno.readTextFileSync(`/proc/${shell}/task/${shell}/children`).split(" ");
      const stat = Deno.readTextFileSync(`/proc/${client}/stat`);
      // Fields 14 and 15, user and system time in clock ticks (100 a second on Linux).
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      return (Number(fields[11]) + Number(fields[12])) / 100;
    } catch {
      return null;
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.tmux("kill-server").catch(() => {});
  }
}

/** A test of client.ts in a terminal, skipped (and named so) when tmux is not installed. */
function terminalTest(name: string, fn: () => Promise<void>): void {
  Deno.test({
    name: hasTmux ? name : `${name} (SKIPPED: tmux is not installed)`,
    ignore: !hasTmux,
    ...sanitized,
    fn,
  });
}

terminalTest(
  "client.ts in a terminal prints above the prompt and keeps half-typed text",
  async () => {
    await using server = await quietServer();
    const { port } = server.addr;
    await using term = await Terminal.open(["--port", String(port), "--name", "ann"]);
    await term.waitScreen((text) => /^ann@lobby>\s*$/m.test(text), "the prompt");
    using bob = await LineClient.join(server, "bob");
    await term.waitScreen((text) => text.includes(say.joined("bob")), "bob's join notice");

    // Half a line, with the cursor moved back into it.
    await term.type("half typed 中文");
    await term.keys("Left", "Left");
    await term.waitScreen((text) => text.includes("ann@lobby> half typed 中文"), "the typed text");
    // "ann@lobby> half typed " is 22 columns and each of 中文 two more: two Lefts end at 22.
    const beforeX = 22;
    await poll(() => term.cursor(), ([x]) => x === beforeX, "the cursor to move back");

    await bob.write("hello from bob\n");
    // Wait for the redraw to finish: the message in, and the prompt back below it.
    const text = await term.waitScreen(
      (t) => t.includes("bob: hello from bob") && rowsOf(t).at(-1)!.startsWith("ann@lobby>"),
      "bob's message",
    );
    const rows = rowsOf(text);
    assertEquals(rows.at(-1), "ann@lobby> half typed 中文", "the prompt line is intact");
    assertEquals(rows.at(-2), "bob: hello from bob", "the message is right above the prompt");
    assertEquals(await term.cursor(), [beforeX, rows.length - 1], "the cursor is where it was");

    // Finish the line: it goes to bob and shows once, as ours, above the prompt.
    await term.keys("End");
    await term.type(" done");
    await term.keys("Enter");
    await bob.until((line) => line === "ann: half typed 中文 done");
    const after = await term.waitScreen(
      (t) => t.includes("ann: half typed 中文 done") && rowsOf(t).at(-1) === "ann@lobby>",
      "our own line",
    );
    assertEquals(rowsOf(after).slice(-2), ["ann: half typed 中文 done", "ann@lobby>"]);
    assert(!after.includes("ann@lobby> half typed"), "the echoed input line was replaced");

    // Ctrl-D leaves cleanly.
    await term.keys("C-d");
    await bob.until((line) => line === say.left("ann"));
    await term.waitScreen((t) => t.includes("EXIT=0"), "exit status 0");
  },
);

terminalTest(
  "client.ts in a terminal takes a long paste at once, with no prompt copies",
  async () => {
    await using server = await quietServer();
    // 2,000 characters: 34 rows of a 60 × 15 terminal.
    const text = Array.from({ length: 400 }, (_, i) => `w${String(i).padStart(3, "0")}`).join(" ");
    await using term = await Terminal.open(
      ["--port", String(server.addr.port), "--name", "ann"],
      60,
      15,
    );
    await term.waitScreen((screen) => /^ann@lobby>\s*$/m.test(screen), "the prompt");
    using bob = await LineClient.join(server, "bob");
    await term.waitScreen((screen) => screen.includes(say.joined("bob")), "bob's join notice");
    const before = await term.cpuSeconds();
    await term.paste(text);
    const history = await poll(
      () => term.history(),
      (lines) => lines.includes(`ann@lobby> ${text}`),
      "the pasted line",
    );
    const after = await term.cpuSeconds();
    // Character by character it cost 7 s here (O(n²) in readline's measuring); at once, 0.05 s.
    if (before !== null && after !== null) {
      assert(after - before < 1, `the paste cost ${(after - before).toFixed(2)} s of CPU`);
    }
    // Redrawn at every row it filled, a line taller than the terminal left copies above.
    const prompts = rowsOf(history).filter((row) => row.startsWith("ann@lobby>"));
    assertEquals(prompts, [`ann@lobby> ${text}`]);
    await term.keys("Enter");
    assertEquals(await bob.message(), `ann: ${text}`);
  },
);

terminalTest("client.ts in a terminal leaves no stale row when wide characters wrap", async () => {
  await using server = await quietServer();
  // "wid@lobby> " is 11 columns of 20: four 中 fill 8 more, the fifth starts the next row.
  await using term = await Terminal.open(["--port", String(server.addr.port), "--name", "wid"], 20);
  await term.waitScreen((screen) => /^wid@lobby>\s*$/m.test(screen), "the prompt");
  for (let typed = 1; typed <= 6; typed++) {
    // One key at a time, as typed: each is read on its own.
    await term.type("中");
    await term.waitScreen(
      (screen) => [...screen.matchAll(/中/g)].length === typed,
      `${typed} characters`,
    );
  }
  // Backspace redraws the line from the prompt's first row, which readline had lost track of.
  await term.keys("BSpace");
  const screen = await term.waitScreen(
    (screen) => [...screen.matchAll(/中/g)].length === 5,
    "the redraw",
  );
  assertEquals(rowsOf(screen).filter((row) => row.includes("中")), ["wid@lobby> 中中中中", "中"]);
});

terminalTest(
  "client.ts --no-reconnect in a terminal says the connection dropped on a row of its own",
  async () => {
    await using server = await quietServer();
    const { port } = server.addr;
    await using term = await Terminal.open([
      "--port",
      String(port),
      "--name",
      "tina",
      "--no-reconnect",
    ]);
    await term.waitScreen((screen) => /^tina@lobby>\s*$/m.test(screen), "the prompt");
    await term.type("half typed");
    await term.waitScreen((screen) => screen.includes("tina@lobby> half typed"), "the typed text");
    await server.close();
    const screen = await term.waitScreen(
      (screen) => screen.includes("EXIT="),
      "the client to exit",
    );
    const rows = rowsOf(screen);
    assert(rows.includes(`connection to 127.0.0.1:${port} lost: closed by the server`), screen);
    assert(!rows.some((row) => row.startsWith("tina@lobby>") && row.includes("lost")), screen);
    assert(rows.includes("EXIT=1"), screen);
  },
);

// ---------------------------------------------------------------------------
// Accounts: the password question
// ---------------------------------------------------------------------------

/** Cheap password hashes for the tests' servers. */
const CHEAP_HASH = { n: 1 << 10, r: 8, p: 1, scramIterations: 16 };

/** A server where `ann` is an account with the password `right one`, no one connected. */
async function serverWithAnn() {
  const server = await quietServer({ hashCost: CHEAP_HASH });
  using ann = await LineClient.join(server, "ann");
  await ann.write("/register right one\n");
  await ann.until((line) => line.startsWith("-- ann is now your account"));
  return server;
}

test("runClient asks for a registered name's password with the input hidden, again when wrong", async () => {
  await using server = await serverWithAnn();
  const hidden: boolean[] = [];
  const prompts: string[] = [];
  const { keyboard, screen, done } = interactiveClient({
    port: server.addr.port,
    name: "ann",
    hideInput: (hide) => hidden.push(hide),
    setPrompt: (prompt) => prompts.push(prompt),
  });
  await screen.waitFor((line) => line === say.passwordPrompt("ann"));
  assertEquals(hidden, [true]);
  assertEquals(prompts.at(-1), "password> ");
  keyboard.type("wrong one");
  await screen.waitFor((line) => line === say.wrongPassword("ann"));
  await screen.waitFor((line) => line === say.passwordPrompt("ann"), 2);
  assertEquals(hidden, [true, false, true]);
  keyboard.type("right one");
  await screen.waitFor((line) => helloName(line) === "ann");
  assertEquals(hidden, [true, false, true, false]);
  assertEquals(prompts.at(-1), "ann@lobby> ");
  assert(!screen.lines.some((line) => line.includes("right one") || line.includes("wrong one")));
  keyboard.end();
  assertEquals(await done, 0);
});

test("runClient scripted answers with the password given, and exits 2 without one or with a wrong one", async () => {
  await using server = await serverWithAnn();
  const run = async (password: string | undefined) => {
    const errors: string[] = [];
    const lines: string[] = [];
    const keyboard = new Keyboard();
    let greeted!: () => void;
    const hello = new Promise<void>((resolve) => greeted = resolve);
    const done = runClient({
      port: server.addr.port,
      name: "ann",
      password,
      input: keyboard,
      output: (line) => {
        lines.push(line);
        if (helloName(line) === "ann") greeted();
      },
      errors: (line) => errors.push(line),
    });
    if (password === "right one") {
      await within(hello, "hello");
      keyboard.end();
    }
    return { code: await done, errors, lines };
  };
  const none = await run(undefined);
  assertEquals([none.code, none.errors], [2, [
    "ann is registered: give its password with --password-file FILE or CHAT_PASSWORD",
  ]]);
  const wrong = await run("nope");
  assertEquals([wrong.code, wrong.errors], [2, ["name refused: wrong password for ann"]]);
  const right = await run("right one");
  assertEquals(right.code, 0);
  assert(!right.lines.some((line) => line.includes("right one")));
});

test("client.ts takes the password from --password-file or CHAT_PASSWORD", async () => {
  await using server = await serverWithAnn();
  const dir = await Deno.makeTempDir({ prefix: "chat-client-" });
  try {
    const file = `${dir}/password`;
    await Deno.writeTextFile(file, "right one\n");
    const post = async (args: string[], env: Record<string, string> = {}) => {
      const child = new Deno.Command(Deno.execPath(), {
        args: ["run", "-N", "-R", ...args.slice(0, 1), CLIENT, ...args.slice(1)],
        env,
        stdin: "piped",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      const writer = child.stdin.getWriter();
      await writer.write(encoder.encode("hello\n"));
      await writer.close();
      const { code, stdout, stderr } = await child.output();
      return { code, out: new TextDecoder().decode(stdout), err: new TextDecoder().decode(stderr) };
    };
    const port = String(server.addr.port);
    const fromFile = await post(["-N", "--name", "ann", "--port", port, "--password-file", file]);
    assertEquals(fromFile.code, 0, fromFile.err);
    assert(fromFile.out.includes(say.passwordPrompt("ann")), fromFile.out);
    assert(!fromFile.out.includes("right one"));
    const fromEnv = await post(["--allow-env=CHAT_PASSWORD", "--name", "ann", "--port", port], {
      CHAT_PASSWORD: "right one",
    });
    assertEquals(fromEnv.code, 0, fromEnv.err);
    // Without the permission to read it, the variable is not asked for (Deno would prompt).
    const unread = await post(["-N", "--name", "ann", "--port", port], {
      CHAT_PASSWORD: "right one",
    });
    assertEquals(unread.code, 2);
    const missing = await post([
      "-N",
      "--name",
      "ann",
      "--port",
      port,
      "--password-file",
      `${dir}/none`,
    ]);
    assertEquals(missing.code, 1);
    assert(missing.err.startsWith(`client: cannot read --password-file ${dir}/none`), missing.err);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

test("runClient answers the password question again by itself after a reconnect", async () => {
  await using first = await serverWithAnn();
  await using second = await serverWithAnn();
  const servers = [first, second];
  let connects = 0;
  const hidden: boolean[] = [];
  const { keyboard, screen, done } = interactiveClient({
    name: "ann",
    hideInput: (hide) => hidden.push(hide),
    connect: () => Deno.connect({ port: servers[Math.min(connects++, 1)].addr.port }),
    reconnectDelay: () => 1,
  });
  await screen.waitFor((line) => line === say.passwordPrompt("ann"));
  keyboard.type("right one");
  await screen.waitFor((line) => helloName(line) === "ann");
  await first.close();
  await screen.waitFor((line) => helloName(line) === "ann", 2);
  assertEquals(second.stats().members, 1);
  assertEquals(hidden, [true, false], "asked once");
  assertEquals(screen.lines.filter((line) => line === say.passwordPrompt("ann")).length, 1);
  keyboard.end();
  assertEquals(await done, 0);
});
