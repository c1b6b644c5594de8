/**
 * Pins the web side of the server without a browser (the page itself is tested
 * in Chromium by `web_page_test.ts`): the page and its assets with the security
 * headers, `/healthz` and `/metrics`, and the WebSocket transport against
 * Deno's own WebSocket and `fetch`, next to TCP clients. Run with `deno task test`.
 *
 * @module
 */

import {
  deepStrictEqual as assertEquals,
  match as assertMatch,
  ok as assert,
} from "node:assert/strict";
import { FAVICON_SVG, PAGE_CSS, PAGE_FILES, PAGE_HTML, PAGE_JS } from "../src/web/page.ts";
import { reasons } from "../src/core/protocol.ts";
import { helloName, NAME_PROMPT, say } from "../src/text/protocol.ts";
import type { ChatServer, ServerOptions } from "../server.ts";
import {
  eventually,
  freePort,
  LineClient,
  quietServer,
  spawnLimited,
  test,
  WAIT_LIMIT,
  within,
} from "./test_util.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

type WebServer = ChatServer & { readonly webAddr: Deno.NetAddr };

/** A quiet server (see `quietServer`) with its web side on a free port. */
async function webServer(options: ServerOptions = {}): Promise<WebServer> {
  const server = await quietServer({ web: 0, ...options });
  assert(server.webAddr, "the server has a web address");
  return server as WebServer;
}

function httpUrl(server: WebServer, path: string): string {
  return `http://127.0.0.1:${server.webAddr.port}${path}`;
}

/** Fetches `path` and reads the whole body (no body may be left unread). */
async function get(server: WebServer, path: string, init?: RequestInit) {
  const response = await fetch(httpUrl(server, path), init);
  return { response, body: await response.text() };
}

/** What Deno's WebSocket takes besides a URL: headers, and an HTTP client (for a test CA). */
type DenoSocketOptions = { headers?: HeadersInit; client?: Deno.HttpClient };
/**
 * Deno's WebSocket constructor, whose second argument may be options: typed apart, as
 * `deno check .` also sees the page's DOM typing, where it is only protocols.
 */
const DenoWebSocket = WebSocket as unknown as new (
  url: string,
  options: DenoSocketOptions,
) => WebSocket;

/**
 * A WebSocket client as a page would be, reading lines: each text frame is split
 * at `\n`. Every wait throws after {@linkcode WAIT_LIMIT} instead of hanging.
 */
class WsClient {
  readonly lines: string[] = [];
  /** Text frames received, as they came. */
  readonly frames: string[] = [];
  readonly closed: Promise<CloseEvent>;
  #wake: (() => void) | null = null;
  #done = false;

  private constructor(readonly socket: WebSocket) {
    this.closed = new Promise((resolve) => {
      socket.addEventListener("close", (event) => {
        this.#done = true;
        this.#wake?.();
        resolve(event);
      });
    });
    socket.addEventListener("message", (event) => {
      this.frames.push(event.data);
      const lines = (event.data as string).split("\n");
      if (lines.at(-1) === "") lines.pop();
      this.lines.push(...lines);
      this.#wake?.();
    });
  }

  /** Opens a socket to `url`; rejects if the handshake fails. */
  static async open(url: string, options: DenoSocketOptions = {}) {
    const socket = new DenoWebSocket(url, options);
    const client = new WsClient(socket);
    const opened = new Promise<void>((resolve, reject) => {
      socket.addEventListener("open", () => resolve());
      socket.addEventListener("error", (event) => {
        reject(new Error((event as ErrorEvent).message ?? "WebSocket error"));
      });
    });
    try {
      await within(opened, `the socket to ${url} to open`);
    } catch (error) {
      await client.closed;
      throw error;
    }
    return client;
  }

  /** Opens a socket to `server` and joins as `name`, reading up to the welcome. */
  static async join(server: WebServer, name: string): Promise<WsClient> {
    const client = await WsClient.open(`ws://127.0.0.1:${server.webAddr.port}/ws`);
    try {
      await client.until((line) => line === NAME_PROMPT);
      client.send(name);
      const hello = await client.line();
      if (helloName(hello) !== name) throw new Error(`${name} was not welcomed: ${hello}`);
      return client;
    } catch (error) {
      await client[Symbol.asyncDispose]();
      throw error;
    }
  }

  send(text: string): void {
    this.socket.send(text);
  }

  /** The next line, or `null` once the socket has closed. */
  async maybeLine(): Promise<string | null> {
    const deadline = Date.now() + WAIT_LIMIT;
    while (this.lines.length === 0) {
      if (this.#done) return null;
      const more = new Promise<void>((resolve) => this.#wake = resolve);
      await within(
        more,
        () => `a line; the last ones: ${JSON.stringify(this.frames.slice(-5))}`,
        deadline - Date.now(),
      );
    }
    return this.lines.shift()!;
  }

  async line(): Promise<string> {
    const line = await this.maybeLine();
    if (line === null) throw new Error("the socket closed while a line was expected");
    return line;
  }

  /** Reads lines up to and including the first that matches, and returns them all. */
  async through(match: (line: string) => boolean): Promise<string[]> {
    const seen: string[] = [];
    for (;;) {
      const line = await this.maybeLine();
      if (line === null) {
        throw new Error(`closed before a matching line; got ${JSON.stringify(seen)}`);
      }
      seen.push(line);
      if (match(line)) return seen;
    }
  }

  async until(match: (line: string) => boolean): Promise<string> {
    return (await this.through(match)).at(-1)!;
  }

  /** The next line that is not a join or leave notice. */
  message(): Promise<string> {
    return this.until((line) => !/^-- .* (joined|left)( \(.*\))?$/.test(line));
  }

  /** Every line until the server closes the socket, and how it closed it. */
  async rest(): Promise<{ lines: string[]; close: CloseEvent }> {
    const lines: string[] = [];
    for (let line = await this.maybeLine(); line !== null; line = await this.maybeLine()) {
      lines.push(line);
    }
    return { lines, close: await this.closed };
  }

  async [Symbol.asyncDispose](): Promise<void> {
    if (this.socket.readyState === WebSocket.OPEN) this.socket.close();
    await within(this.closed, "the socket to close");
  }
}

/**
 * A WebSocket handshake written by hand over TCP, for what Deno's client cannot
 * do: show the status of a refused handshake, and never read what it is sent.
 */
class RawSocket {
  private constructor(readonly conn: Deno.Conn, readonly status: string) {}

  static async open(server: WebServer, headers: Record<string, string> = {}): Promise<RawSocket> {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.webAddr.port });
    const extra = Object.entries(headers).map(([key, value]) => `${key}: ${value}\r\n`).join("");
    const request = `GET /ws HTTP/1.1\r\nHost: 127.0.0.1:${server.webAddr.port}\r\n` +
      "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n" +
      `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n${extra}\r\n`;
    await conn.write(encoder.encode(request));
    // Read the response head a byte at a time: nothing after it is taken off the socket.
    let head = "";
    const byte = new Uint8Array(1);
    while (!head.endsWith("\r\n\r\n")) {
      const n = await within(conn.read(byte), "the handshake's answer");
      if (n === null) break;
      head += String.fromCharCode(byte[0]);
    }
    return new RawSocket(conn, head.split("\r\n")[0]);
  }

  /** Sends one masked text frame, as a client must. */
  async send(text: string): Promise<void> {
    const payload = encoder.encode(text);
    assert(payload.length < 126);
    const mask = [1, 2, 3, 4];
    const frame = new Uint8Array([0x81, 0x80 | payload.length, ...mask, ...payload]);
    for (let i = 0; i < payload.length; i++) frame[6 + i] ^= mask[i % 4];
    await this.conn.write(frame);
  }

  /** Closes the connection (idempotent). */
  close(): void {
    try {
      this.conn.close();
    } catch {
      // closed already
    }
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/**
 * The sum of the samples of a `/metrics` text that `series` picks: `name` (all of its
 * series) or `name{label="value",…}` (those with these labels, whatever their others).
 */
function sample(text: string, series: string): number {
  const [, name, wanted = ""] = /^([a-z_]+)(?:\{(.*)\})?$/.exec(series)!;
  const labels = wanted.split(",").filter(Boolean);
  let sum: number | undefined;
  for (const line of text.split("\n")) {
    const match = /^([a-z_]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (match?.[1] !== name) continue;
    const have = (match[2] ?? "").split(",");
    if (labels.every((label) => have.includes(label))) sum = (sum ?? 0) + Number(match[3]);
  }
  if (sum === undefined) throw new Error(`no ${series} in /metrics`);
  return sum;
}

// ---------------------------------------------------------------------------
// The page, the headers, health and metrics
// ---------------------------------------------------------------------------

test("web: the page, its script and style, with strict security headers on every response", async () => {
  await using server = await webServer();
  const port = server.webAddr.port;
  const policy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
    `connect-src 'self' ws://127.0.0.1:${port}/ws; base-uri 'none'; form-action 'none'; ` +
    "frame-ancestors 'none'";
  const expected = [
    ["/", "text/html; charset=utf-8", PAGE_HTML],
    ["/app.js", "text/javascript; charset=utf-8", PAGE_JS],
    ["/app.css", "text/css; charset=utf-8", PAGE_CSS],
    // And every other file of the page (the script's modules), as it is.
    ...[...PAGE_FILES].map(([path, { type, text }]) => [path, type, text]),
  ];
  for (const [path, type, content] of expected) {
    const { response, body } = await get(server, path);
    assertEquals(response.status, 200, path);
    assertEquals(response.headers.get("content-type"), type, path);
    assertEquals(body, content, path);
  }
  const { body: html } = await get(server, "/");
  assertMatch(html, /<script type="module" src="\/app\.js"/);
  assertMatch(html, /<link rel="stylesheet" href="\/app\.css">/);
  // Every answer carries the headers, errors included.
  const answers: [string, number, RequestInit][] = [
    ["/", 200, {}],
    ["/nowhere", 404, {}],
    ["/app.js.map", 404, {}],
    ["/", 405, { method: "POST", body: "x" }],
    ["/ws", 426, {}], // a plain GET where a WebSocket handshake belongs
    ["/healthz", 200, {}],
    ["/metrics", 200, {}],
  ];
  for (const [path, status, init] of answers) {
    const { response } = await get(server, path, init);
    const what = `${init.method ?? "GET"} ${path}`;
    assertEquals(response.status, status, what);
    assertEquals(response.headers.get("content-security-policy"), policy, what);
    assertEquals(response.headers.get("x-content-type-options"), "nosniff", what);
    assertEquals(response.headers.get("referrer-policy"), "no-referrer", what);
  }
  // HEAD answers like GET, without a body.
  const head = await fetch(httpUrl(server, "/app.css"), { method: "HEAD" });
  assertEquals([head.status, await head.text()], [200, ""]);
});

test("web: an icon at /favicon.svg and /favicon.ico (no 404 in the console), with the headers", async () => {
  await using server = await webServer();
  for (const path of ["/favicon.svg", "/favicon.ico"]) {
    const { response, body } = await get(server, path);
    assertEquals(response.status, 200, path);
    assertEquals(response.headers.get("content-type"), "image/svg+xml", path);
    assertEquals(body, FAVICON_SVG, path);
    assertMatch(response.headers.get("content-security-policy") ?? "", /img-src 'self'/, path);
    assertEquals(response.headers.get("x-content-type-options"), "nosniff", path);
    assertEquals(response.headers.get("referrer-policy"), "no-referrer", path);
    assertEquals(response.headers.get("x-frame-options"), "DENY", path);
  }
  const { body: html } = await get(server, "/");
  assertMatch(html, /<link rel="icon" href="\/favicon\.svg">/);
});

test("web: /healthz is 200 while serving and 503 once shutting down", async () => {
  // A socket that never answers the close keeps the server in its drain for a while.
  await using server = await webServer({ drainTimeout: WAIT_LIMIT });
  const { response, body } = await get(server, "/healthz");
  assertEquals([response.status, body], [200, "ok\n"]);
  using raw = await RawSocket.open(server);
  assertEquals(raw.status, "HTTP/1.1 101 Switching Protocols");
  const closing = server.close();
  const during = await get(server, "/healthz");
  assertEquals([during.response.status, during.body], [503, "shutting down\n"]);
  // No new socket is opened meanwhile.
  const upgrade = await RawSocket.open(server);
  upgrade.close();
  assertEquals(upgrade.status, "HTTP/1.1 503 Service Unavailable");
  raw.close();
  await within(closing, "the server to close");
});

test("web: /metrics is Prometheus text, and its counters move", async () => {
  await using server = await webServer();
  const { response, body } = await get(server, "/metrics");
  assertEquals(response.headers.get("content-type"), "text/plain; version=0.0.4; charset=utf-8");
  // Every sample belongs to a metric introduced by its HELP and TYPE lines.
  const declared = new Set<string>();
  for (const line of body.trimEnd().split("\n")) {
    const help = /^# HELP ([a-z_]+) \S.*$/.exec(line);
    const type = /^# TYPE ([a-z_]+) (counter|gauge)$/.exec(line);
    if (help) continue;
    if (type) {
      declared.add(type[1]);
      continue;
    }
    const match = /^([a-z_]+)(\{[a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*\})? \d+$/.exec(line);
    assert(match, `not a sample: ${line}`);
    assert(declared.has(match[1]), `no TYPE for ${line}`);
  }
  for (
    const name of [
      "chat_connections",
      "chat_members",
      "chat_rooms",
      "chat_messages_total",
      "chat_relayed_bytes_total",
      "chat_clients_dropped_total",
      "chat_history_lines",
    ]
  ) {
    assert(declared.has(name), name);
  }
  assertEquals(sample(body, "chat_messages_total"), 0);

  await using ann = await WsClient.join(server, "ann");
  using bob = await LineClient.join(server, "bob");
  await bob.write("hello\n");
  assertEquals(await ann.message(), "bob: hello");
  const { body: after } = await get(server, "/metrics");
  assertEquals(sample(after, 'chat_connections{listener="tcp"}'), 1);
  assertEquals(sample(after, 'chat_connections{listener="ws"}'), 1);
  assertEquals(sample(after, "chat_members"), 2);
  assertEquals(sample(after, "chat_rooms"), 1);
  assertEquals(sample(after, "chat_joins_total"), 2);
  assertEquals(sample(after, "chat_messages_total"), 1);
  assertEquals(sample(after, "chat_deliveries_total"), 1);
  assertEquals(sample(after, "chat_relayed_bytes_total"), encoder.encode("bob: hello\n").length);
  assertEquals(sample(after, "chat_history_lines"), 1);
});

test("web: /metrics counts connections, joins and messages by listener, IRC's too", async () => {
  await using server = await webServer({ irc: 0, ircName: "irc.test" });
  const { body: before } = await get(server, "/metrics");
  for (const listener of ["tcp", "irc", "ws", "web"]) {
    assertEquals(
      sample(before, `chat_connections_accepted_total{listener="${listener}"}`),
      {
        web: 1, // this request's
      }[listener] ?? 0,
    );
    assertEquals(sample(before, `chat_clients_dropped_total{listener="${listener}"}`), 0);
  }
  await using ann = await WsClient.join(server, "ann");
  using bob = await LineClient.join(server, "bob");
  using irc = await LineClient.connect({ addr: server.ircAddr! });
  await irc.write("NICK cy\r\nUSER cy 0 * :Cy\r\nJOIN #lobby\r\n");
  await irc.through((line) => / 366 /.test(line));
  await irc.write("PRIVMSG #lobby :from irc\r\n");
  assertEquals(await bob.message(), "cy: from irc");
  ann.send("from ws");
  assertEquals(await bob.message(), "ann: from ws");
  await bob.write("from tcp\n/msg cy one\n");
  await irc.until((line) => line.includes("PRIVMSG cy :one"));
  const { body } = await get(server, "/metrics");
  for (const listener of ["tcp", "irc", "ws"]) {
    const labels = `{listener="${listener}"}`;
    assertEquals(sample(body, `chat_connections${labels}`), 1, listener);
    assertEquals(sample(body, `chat_connections_accepted_total${labels}`), 1, listener);
    assertEquals(sample(body, `chat_joins_total${labels}`), 1, listener);
  }
  assertEquals(sample(body, 'chat_messages_total{listener="tcp"}'), 2);
  assertEquals(sample(body, 'chat_messages_total{listener="irc"}'), 1);
  assertEquals(sample(body, 'chat_messages_total{listener="ws"}'), 1);
  assertEquals(sample(body, "chat_messages_total"), 4);
  assertEquals(sample(body, "chat_connections_refused_total"), 0);
  irc.close();
  await bob.until((line) => line.startsWith("-- cy left"));
  const { body: after } = await get(server, "/metrics");
  assertEquals(sample(after, 'chat_connections{listener="irc"}'), 0);
  assertEquals(sample(after, 'chat_clients_dropped_total{listener="irc"}'), 0); // a close is no drop
});

// ---------------------------------------------------------------------------
// The WebSocket transport
// ---------------------------------------------------------------------------

test("web: a WebSocket and a TCP client chat both ways in one room, Chinese and emoji intact", async () => {
  await using server = await webServer();
  await using ann = await WsClient.join(server, "ann");
  using bob = await LineClient.join(server, "bob");
  assertEquals(await ann.line(), "-- bob joined");
  bob.write("你好 👋 from bob\n");
  assertEquals(await ann.message(), "bob: 你好 👋 from bob");
  ann.send("早上好 🌅 from ann");
  assertEquals(await bob.message(), "ann: 早上好 🌅 from ann");
  // Several lines in one frame (a newline at its end or not), commands among them.
  ann.send("one\ntwo 🍜\n");
  ann.send("/me waves\nthree");
  assertEquals(
    [await bob.line(), await bob.line(), await bob.line(), await bob.line()],
    ["ann: one", "ann: two 🍜", "* ann waves", "ann: three"],
  );
  ann.send("/msg bob 秘密 🤫");
  assertEquals(await bob.line(), "ann (private): 秘密 🤫");
  assertEquals(await ann.line(), "-- to bob (private): 秘密 🤫");
  // A batch of lines for the socket goes out as one frame of whole lines.
  await bob.write("a\nb\nc\n");
  assertEquals([await ann.line(), await ann.line(), await ann.line()], [
    "bob: a",
    "bob: b",
    "bob: c",
  ]);
  for (const frame of ann.frames) assert(frame.endsWith("\n"), JSON.stringify(frame));
  // An over-long line is refused as over TCP, and the next one goes through.
  ann.send("x".repeat(4097));
  assertEquals(await ann.line(), say.lineTooLong(4096));
  ann.send("y".repeat(100_000)); // past the largest frame taken: refused whole, the same way
  assertEquals(await ann.line(), say.lineTooLong(4096));
  ann.send("after the long one");
  assertEquals(await bob.line(), "ann: after the long one");
  ann.send("/quit lunch");
  assertEquals(await bob.line(), "-- ann left (quit: lunch)");
  const { lines, close } = await ann.rest();
  assertEquals(lines, [say.bye]);
  assertEquals(close.code, 1000);
});

test("web: a bad or taken name gets its reason over the WebSocket, and the question again", async () => {
  await using server = await webServer();
  using _bob = await LineClient.join(server, "bob");
  await using page = await WsClient.open(`ws://127.0.0.1:${server.webAddr.port}/ws`);
  await page.until((line) => line === NAME_PROMPT);
  page.send("no spaces please");
  assertEquals(
    await page.line(),
    say.badName("a name is letters and digits, with _ - . allowed after the first"),
  );
  assertEquals(await page.line(), NAME_PROMPT);
  page.send("BOB");
  assertEquals(await page.line(), say.nameTaken("BOB"));
  assertEquals(await page.line(), NAME_PROMPT);
  page.send("ann");
  assertEquals(helloName(await page.line()), "ann");
});

test("web: an upgrade from another site's page is refused with 403; allowed origins get in", async () => {
  await using server = await webServer();
  const port = server.webAddr.port;
  const url = `ws://127.0.0.1:${port}/ws`;
  // Deno's own client sends the Origin header a test gives it.
  const refused = await WsClient.open(url, { headers: { origin: "https://evil.example" } })
    .then(() => "opened", (error) => String(error));
  assertMatch(refused, /403/);
  using raw = await RawSocket.open(server, { Origin: "https://evil.example" });
  assertEquals(raw.status, "HTTP/1.1 403 Forbidden");
  using nullOrigin = await RawSocket.open(server, { Origin: "null" });
  assertEquals(nullOrigin.status, "HTTP/1.1 403 Forbidden");
  // The page's own origin, and a program that sends none, are let in.
  await using own = await WsClient.open(url, { headers: { origin: `http://127.0.0.1:${port}` } });
  assertEquals(await own.line(), "-- Welcome to the chat room! Type /help for commands.");
  await using program = await WsClient.open(url);
  assertEquals(await program.line(), "-- Welcome to the chat room! Type /help for commands.");
  const { body } = await get(server, "/metrics");
  assertEquals(sample(body, 'chat_connections_refused_total{reason="origin"}'), 3);

  // With --web-origin, only the origins listed.
  await using proxied = await webServer({ webOrigins: ["https://chat.example.org"] });
  const proxiedUrl = `ws://127.0.0.1:${proxied.webAddr.port}/ws`;
  await using listed = await WsClient.open(proxiedUrl, {
    headers: { origin: "https://chat.example.org" },
  });
  assertEquals(await listed.line(), "-- Welcome to the chat room! Type /help for commands.");
  using self = await RawSocket.open(proxied, {
    Origin: `http://127.0.0.1:${proxied.webAddr.port}`,
  });
  assertEquals(self.status, "HTTP/1.1 403 Forbidden");
});

test("web: a flood over the WebSocket is bounded: frames wait up to 100, then it is dropped", async () => {
  await using server = await webServer({ rate: 1, burst: 5 });
  using bob = await LineClient.join(server, "bob");
  await using flood = await WsClient.join(server, "flood");
  assertEquals(await bob.line(), "-- flood joined");
  // Sent at once: 4 lines pass on the burst (the name took a token), the 5th is held, 100
  // frames wait, and the 106th is one too many. (A client that goes on sending after that may
  // see its connection reset rather than closed: what it sends then is not read.)
  for (let i = 0; i < 106; i++) flood.send(`m${i}`);
  const { lines, close } = await flood.rest();
  assertEquals(lines, [say.tooFast]);
  assertEquals([close.code, close.reason], [1008, reasons.tooFast]);
  const seen = await bob.through((line) => line.startsWith("-- flood left"));
  assertEquals(seen.at(-1), `-- flood left (${reasons.tooFast})`);
  const relayed = seen.slice(0, -1);
  assert(relayed.length >= 4 && relayed.length <= 6, JSON.stringify(relayed));
  assertEquals(relayed, relayed.map((_, i) => `flood: m${i}`));
  const { body } = await get(server, "/metrics");
  assertEquals(sample(body, 'chat_clients_dropped_total{reason="too_fast"}'), 1);
});

test("web: a throttled WebSocket client loses nothing within the bound", async () => {
  await using server = await webServer({ rate: 200, burst: 5 });
  using bob = await LineClient.join(server, "bob");
  await using calm = await WsClient.join(server, "calm");
  assertEquals(await bob.line(), "-- calm joined");
  for (let i = 0; i < 60; i++) calm.send(`c${i}`);
  const lines = [];
  for (let i = 0; i < 60; i++) lines.push(await bob.line());
  assertEquals(lines, lines.map((_, i) => `calm: c${i}`));
});

test("web: a WebSocket client that stops reading is dropped at --max-queue", async () => {
  await using server = await webServer({ maxQueue: 256 * 1024, drainTimeout: 200 });
  using ann = await LineClient.join(server, "ann");
  using slow = await RawSocket.open(server);
  await slow.send("slow"); // then it never reads
  await within(
    (async () => {
      while (!server.hub.members.has("slow")) {
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    })(),
    "slow to join",
  );
  const left = ann.until((line) => line.startsWith("-- slow left"));
  let done = false;
  left.then(() => done = true, () => done = true);
  const chunk = encoder.encode(`${"z".repeat(4000)}\n`.repeat(256)); // 1 MB
  for (let sent = 0; !done && sent < 256; sent++) await ann.write(chunk);
  assertEquals(await left, `-- slow left (${reasons.tooSlow})`);
  assert(server.stats().peakQueuedBytes <= 256 * 1024, `${server.stats().peakQueuedBytes}`);
  const { body } = await get(server, "/metrics");
  assertEquals(sample(body, 'chat_clients_dropped_total{reason="too_slow"}'), 1);
  assertEquals(sample(body, "chat_members"), 1);
  // Deno cannot cut a server socket whose peer neither reads nor closes: the HTTP
  // server's shutdown ends it, so it does not hold the server up.
  await within(server.close(), "the server to close with a peer that never reads");
});

test("web: --max-clients counts WebSocket and TCP clients together", async () => {
  await using server = await webServer({ maxClients: 1 });
  await using _page = await WsClient.join(server, "page");
  // The one place is taken by the page: a TCP client is turned away.
  using tcp = await LineClient.connect(server);
  assertEquals(await tcp.rest(), [say.serverFull]);
  // And a second page too, before its upgrade: no socket is opened for it at all.
  using second = await RawSocket.open(server);
  assertEquals(second.status, "HTTP/1.1 503 Service Unavailable");
  await eventually(() => server.stats().webConnections === 1);
});

test("web: shutdown tells the page, then closes its socket with 1001", async () => {
  await using server = await webServer();
  await using page = await WsClient.join(server, "page");
  using bob = await LineClient.join(server, "bob");
  assertEquals(await page.line(), "-- bob joined");
  await server.close();
  const { lines, close } = await page.rest();
  assertEquals(lines, ["-- server shutting down"]);
  assertEquals([close.code, close.reason], [1001, "server shutting down"]);
  assertEquals(await bob.rest(), ["-- server shutting down"]);
});

test("web: with --cert and --key the page is HTTPS and the socket wss:", async () => {
  const read = (file: string) =>
    Deno.readTextFileSync(new URL(`./testdata/${file}`, import.meta.url));
  await using server = await webServer({ cert: read("cert.pem"), key: read("key.pem") });
  using client = Deno.createHttpClient({ caCerts: [read("ca.pem")] });
  const port = server.webAddr.port;
  const response = await fetch(`https://127.0.0.1:${port}/`, { client });
  assertEquals([response.status, await response.text()], [200, PAGE_HTML]);
  assertMatch(
    response.headers.get("content-security-policy")!,
    new RegExp(`connect-src 'self' wss://127\\.0\\.0\\.1:${port}/ws;`),
  );
  await using page = await WsClient.open(`wss://127.0.0.1:${port}/ws`, {
    client,
    headers: { origin: `https://127.0.0.1:${port}` },
  });
  await page.until((line) => line === NAME_PROMPT);
  page.send("secure");
  assertEquals(helloName(await page.line()), "secure");
});

// ---------------------------------------------------------------------------
// The command line
// ---------------------------------------------------------------------------

const SERVER = new URL("../server.ts", import.meta.url).pathname;

test("web: server.ts logs the page's address once ready; --no-web and --web-origin are checked", async () => {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-N", SERVER, "--port", "0"],
    stdin: "null",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  try {
    let output = "";
    while (output.split("\n").length < 3) output += (await reader.read()).value ?? "";
    const [tcp, web] = output.split("\n");
    assertMatch(tcp, /listening on 127\.0\.0\.1:\d+$/);
    const url = /listening on 127\.0\.0\.1:(\d+) \(page at (http:\/\/127\.0\.0\.1:\1\/)\)$/.exec(
      web,
    );
    assert(url, web);
    const response = await fetch(`${url[2]}healthz`);
    assertEquals([response.status, await response.text()], [200, "ok\n"]);
  } finally {
    child.kill("SIGTERM");
    await child.status;
    await reader.cancel();
  }
  for (
    const [args, message] of [
      [
        ["--no-web", "--web", "3000"],
        /^server: --no-web goes with neither --web nor --web-origin$/,
      ],
      [["--web", "70000"], /^server: --web must be a whole number from 0 to 65535/],
      [["--web-origin", "chat.example.org"], /^server: not an origin: "chat\.example\.org"/],
    ] as const
  ) {
    const { code, stderr } = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-N", SERVER, ...args],
      stdin: "null",
    }).output();
    assertEquals(code, 2, args.join(" "));
    assertMatch(decoder.decode(stderr).split("\n")[0], message);
  }
});

test("web: a server on loopback answers only loopback names (no DNS rebinding)", async () => {
  await using server = await webServer();
  const port = server.webAddr.port;
  const status = async (host: string) => {
    using conn = await Deno.connect({ hostname: "127.0.0.1", port });
    await conn.write(
      encoder.encode(`GET / HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`),
    );
    let text = "";
    const buffer = new Uint8Array(4096);
    for (let n = await conn.read(buffer); n !== null; n = await conn.read(buffer)) {
      text += new TextDecoder().decode(buffer.subarray(0, n));
    }
    return text.split("\r\n")[0];
  };
  assertEquals(await status(`evil.example:${port}`), "HTTP/1.1 421 Misdirected Request");
  assertEquals(await status(`localhost:${port}`), "HTTP/1.1 200 OK");
  assertEquals(await status(`127.0.0.1:${port}`), "HTTP/1.1 200 OK");
});

// ---------------------------------------------------------------------------
// The door: every connection counted once, nothing held past its limits
// ---------------------------------------------------------------------------

/** Sends `request` on a fresh connection and reads one answer's head (and body), then closes. */
async function answer(
  server: WebServer,
  request: string,
): Promise<{ status: string; text: string }> {
  using conn = await Deno.connect({ hostname: "127.0.0.1", port: server.webAddr.port });
  await conn.write(encoder.encode(request));
  let text = "";
  const buffer = new Uint8Array(4096);
  const complete = () => {
    const end = text.indexOf("\r\n\r\n");
    if (end === -1) return false;
    const length = /\r\ncontent-length: (\d+)/i.exec(text.slice(0, end));
    return length === null || text.length >= end + 4 + Number(length[1]);
  };
  while (!complete()) {
    const n = await within(conn.read(buffer), `an answer to ${JSON.stringify(request)}`);
    if (n === null) break;
    text += decoder.decode(buffer.subarray(0, n));
  }
  return { status: text.split("\r\n")[0], text };
}

/** A WebSocket handshake's head, with `headers` replacing (or, `null`, removing) the usual ones. */
function handshake(server: WebServer, headers: Record<string, string | null> = {}): string {
  const all: Record<string, string | null> = {
    Host: `127.0.0.1:${server.webAddr.port}`,
    Upgrade: "websocket",
    Connection: "Upgrade",
    "Sec-WebSocket-Version": "13",
    "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
    ...headers,
  };
  const lines = Object.entries(all).filter(([, value]) => value !== null);
  return `GET /ws HTTP/1.1\r\n${lines.map(([key, value]) => `${key}: ${value}\r\n`).join("")}\r\n`;
}

test("web: every refused or failed request, upgrade or not, gives its place at the door back once", async () => {
  await using server = await webServer({ maxPerAddress: 1 });
  const port = server.webAddr.port;
  const cases: [string, string][] = [
    [handshake(server, { Connection: null }), "HTTP/1.1 400 Bad Request"],
    [handshake(server, { "Sec-WebSocket-Key": "short" }), "HTTP/1.1 400 Bad Request"],
    [handshake(server, { "Sec-WebSocket-Version": "8" }), "HTTP/1.1 400 Bad Request"],
    [handshake(server, { Upgrade: null }), "HTTP/1.1 426 Upgrade Required"],
    [handshake(server, { Origin: "https://evil.example" }), "HTTP/1.1 403 Forbidden"],
    [handshake(server, { Host: "evil.example" }), "HTTP/1.1 421 Misdirected Request"],
    [handshake(server, { Host: "x:1:2" }), "HTTP/1.1 400 Bad Request"],
    [`GET /nowhere HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`, "HTTP/1.1 404 Not Found"],
    [`DELETE / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`, "HTTP/1.1 405 Method Not Allowed"],
    ["nonsense\r\n\r\n", "HTTP/1.1 400 Bad Request"],
  ];
  // Each is answered on a connection kept alive, then closed by the client: with one place
  // per address, the next could not even connect if a place were kept.
  for (const [request, status] of cases) {
    assertEquals((await answer(server, request)).status, status, request);
    await eventually(() => server.stats().admitted === 0);
  }
  await using page = await WsClient.join(server, "page");
  assertEquals(server.stats().admitted, 1);
  // The one place is the page's: a plain request is turned away at the door.
  const refused = await answer(server, `GET / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`);
  assertEquals(refused.status, "HTTP/1.1 429 Too Many Requests");
  assertEquals(server.stats().admitted, 1);
  page.send("/quit");
  await page.rest();
  await eventually(() => server.stats().admitted === 0);
  const { body } = await get(server, "/healthz");
  assertEquals(body, "ok\n");
});

test("web: a half-sent request is closed at the header timeout, an idle keep-alive at the idle one", async () => {
  await using server = await webServer({ webHeaderTimeout: 200, webIdleTimeout: 200 });
  const port = server.webAddr.port;
  const half = `GET / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n`;
  for (const [request, status] of [[half, "408 Request Timeout"], [`${half}\r\n`, "200 OK"]]) {
    using conn = await Deno.connect({ hostname: "127.0.0.1", port });
    await conn.write(encoder.encode(request));
    const text = decoder.decode(await readAll(conn));
    assertEquals(text.split("\r\n")[0], `HTTP/1.1 ${status}`);
  }
  await eventually(() => server.stats().admitted === 0);
});

test("web: a WebSocket that gives no name is closed at --name-timeout, even if it never answers", async () => {
  await using server = await webServer({ nameTimeout: 200, drainTimeout: 200 });
  using raw = await RawSocket.open(server); // never reads, never answers the close
  assertEquals(raw.status, "HTTP/1.1 101 Switching Protocols");
  assertEquals(server.stats().admitted, 1);
  await eventually(() => server.stats().admitted === 0 && server.stats().webConnections === 0);
});

test("web: a frame announcing more than the limit is refused from its header: 1009, nothing buffered", async () => {
  await using server = await webServer({ drainTimeout: 200 });
  using raw = await RawSocket.open(server);
  // The header of a 60 MiB text frame, and no payload at all.
  const header = new Uint8Array([0x81, 0xff, 0, 0, 0, 0, 0x03, 0xc0, 0, 0, 1, 2, 3, 4]);
  await raw.conn.write(header);
  const frames = await readAll(raw.conn);
  // The greeting's frame, then the close frame: 1009 "message too big".
  const close = frames.subarray(frames.lastIndexOf(0x88));
  assertEquals([close[0], close[1] & 0x7f, (close[2] << 8) | close[3]], [0x88, 17, 1009]);
  assertEquals(decoder.decode(close.subarray(4)), "message too big");
  await eventually(() => server.stats().admitted === 0);
});

test("web: fragments make one message, a ping between them is answered, bad UTF-8 closes with 1007", async () => {
  await using server = await webServer({ drainTimeout: 200 });
  using bob = await LineClient.join(server, "bob");
  using raw = await RawSocket.open(server);
  await raw.send("ann");
  await eventually(() => server.hub.members.has("ann"));
  assertEquals(await bob.line(), "-- ann joined");
  const masked = (first: number, payload: number[]) => {
    const mask = [9, 8, 7, 6];
    return [first, 0x80 | payload.length, ...mask, ...payload.map((b, i) => b ^ mask[i % 4])];
  };
  const bytes = (text: string) => [...encoder.encode(text)];
  await raw.conn.write(
    new Uint8Array([
      ...masked(0x01, bytes("he")), // text, not the last fragment
      ...masked(0x89, bytes("hi")), // ping
      ...masked(0x80, bytes("llo 👋")), // the last fragment
    ]),
  );
  assertEquals(await bob.line(), "ann: hello 👋");
  await raw.conn.write(new Uint8Array(masked(0x81, [0x68, 0xff, 0x69]))); // not UTF-8
  assertEquals(await bob.line(), `-- ann left (${reasons.failed}: invalid UTF-8)`);
  const frames = await readAll(raw.conn);
  const pong = frames.indexOf(0x8a);
  assertEquals([...frames.subarray(pong, pong + 4)], [0x8a, 2, 0x68, 0x69]);
  const close = frames.subarray(frames.lastIndexOf(0x88));
  assertEquals((close[2] << 8) | close[3], 1007);
});

/** Everything read from `conn` until the server closes it. */
async function readAll(conn: Deno.Conn): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  const buffer = new Uint8Array(65536);
  for (let n = await within(conn.read(buffer), "a read"); n !== null;) {
    chunks.push(buffer.slice(0, n));
    n = await within(conn.read(buffer), "a read");
  }
  const all = new Uint8Array(chunks.reduce((sum, chunk) => sum + chunk.length, 0));
  let offset = 0;
  for (const chunk of chunks) {
    all.set(chunk, offset);
    offset += chunk.length;
  }
  return all;
}

test("web: a bad Host is a 400, logged as nothing; a loopback server wants a Host", async () => {
  const logged: string[] = [];
  await using server = await webServer({ log: (line) => logged.push(line) });
  const port = server.webAddr.port;
  for (const host of ["x:1:2", "a b", "[::1", "evil.example:99999999"]) {
    const { status } = await answer(server, `GET / HTTP/1.1\r\nHost: ${host}\r\n\r\n`);
    assertEquals(status, "HTTP/1.1 400 Bad Request", host);
  }
  assertEquals((await answer(server, "GET / HTTP/1.1\r\n\r\n")).status, "HTTP/1.1 400 Bad Request");
  assertEquals((await answer(server, "GET / HTTP/1.0\r\n\r\n")).status, "HTTP/1.1 400 Bad Request");
  const fine = await answer(server, `GET /healthz HTTP/1.1\r\nHost: localhost:${port}\r\n\r\n`);
  assertEquals(fine.status, "HTTP/1.1 200 OK");
  assert(!logged.some((line) => /internal error|^\s+at /.test(line)), logged.join("\n"));
});

test("web: --metrics-token guards /metrics, and only it", async () => {
  await using server = await webServer({ metricsToken: "0123456789abcdef" });
  for (const authorization of [undefined, "Bearer wrong", "Bearer 0123456789abcdeg"]) {
    const headers: Record<string, string> = authorization ? { authorization } : {};
    const { response, body } = await get(server, "/metrics", { headers });
    assertEquals(response.status, 401, authorization);
    assertEquals(response.headers.get("www-authenticate"), 'Bearer realm="metrics"');
    assertEquals(body, "a metrics token is expected\n");
  }
  const { response, body } = await get(server, "/metrics", {
    headers: { authorization: "Bearer 0123456789abcdef" },
  });
  assertEquals(response.status, 200);
  assertEquals(sample(body, 'chat_connections{listener="web"}'), 1);
  assertEquals((await get(server, "/healthz")).response.status, 200);
});

test("web: a flood up to the open-file limit does not stop the web port (ulimit -n 200)", async () => {
  const [port, web] = [await freePort(), await freePort()];
  const server = await spawnLimited(port, web);
  const conns: Deno.Conn[] = [];
  try {
    // More half-sent requests than the process may open files.
    for (let i = 0; i < 250; i++) {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port: web });
      conns.push(conn);
      await conn.write(encoder.encode("GET / HTTP/1.1\r\n"));
    }
    for (const conn of conns.splice(0)) conn.close();
    // The listener met EMFILE and accepted nothing more: before, this never came.
    const healthz = async () => {
      server.assertRunning();
      const abort = new AbortController();
      const timer = setTimeout(() => abort.abort(), 1_000);
      try {
        const response = await fetch(`http://127.0.0.1:${web}/healthz`, { signal: abort.signal });
        const body = await response.text(); // always read: an unread body is a leak
        return response.status === 200 && body === "ok\n";
      } catch {
        return false; // not accepted in time, or reset as the listener is reopened
      } finally {
        clearTimeout(timer);
      }
    };
    await eventually(healthz, 2 * WAIT_LIMIT); // the listener looks at itself every 5 s
    using _chat = await LineClient.join(
      { addr: { transport: "tcp", hostname: "127.0.0.1", port } },
      "after",
    );
  } finally {
    for (const conn of conns) conn.close();
    await server.stop();
  }
});

test("web: a silent socket is pinged, and dropped if it does not answer; one that answers stays", async () => {
  await using server = await webServer({ wsPing: 150 });
  using bob = await LineClient.join(server, "bob");
  await using page = await WsClient.join(server, "page"); // Deno's client answers pings
  assertEquals(await bob.line(), "-- page joined");
  using raw = await RawSocket.open(server); // reads nothing, answers nothing
  await raw.send("mute");
  assertEquals(await bob.line(), "-- mute joined");
  assertEquals(await bob.line(), `-- mute left (${reasons.timedOut})`);
  page.send("still here");
  assertEquals(await bob.line(), "page: still here");
});
