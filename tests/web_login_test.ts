/**
 * The page's login cookie over real HTTP and WebSockets, without a browser (the page
 * itself: `web_page_test.ts`): a login over the JSON socket sends a ticket; `POST
 * /session` trades it once, from the page's origin only, for a cookie that is
 * `HttpOnly`, `SameSite=Strict`, `Path=/` (and `Secure`, `__Host-` under TLS); a socket
 * opened with the cookie is greeted with the account and let in by `hello` without a
 * password, but not under another `Host`, nor with a forged cookie, nor after `DELETE
 * /session`.
 *
 * @module
 */

import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import type { ServerOptions } from "../server.ts";
import { quietServer, test, within } from "./test_util.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const CHEAP = { n: 1 << 10, r: 8, p: 1, scramIterations: 16 };

type Json = Record<string, unknown>;

/**
 * A JSON socket spoken by hand (so that its `Host` and `Cookie` are the test's): the
 * handshake, then one object per frame each way.
 */
class JsonSocket implements AsyncDisposable {
  #buffer = new Uint8Array(0);
  private constructor(readonly conn: Deno.Conn, readonly head: string) {}

  static async open(
    connect: () => Promise<Deno.Conn>,
    host: string,
    headers: Record<string, string> = {},
  ): Promise<JsonSocket> {
    const conn = await connect();
    const extra = Object.entries(headers).map(([key, value]) => `${key}: ${value}\r\n`).join("");
    await conn.write(encoder.encode(
      `GET /ws HTTP/1.1\r\nHost: ${host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" +
        `Sec-WebSocket-Protocol: chat.v1.json\r\n${extra}\r\n`,
    ));
    const socket = new JsonSocket(conn, "");
    const end = await socket.#fill((bytes) => {
      const text = decoder.decode(bytes);
      const at = text.indexOf("\r\n\r\n");
      return at === -1 ? -1 : at + 4;
    });
    const head = decoder.decode(socket.#take(end));
    const opened = new JsonSocket(conn, head);
    opened.#buffer = socket.#buffer;
    return opened;
  }

  /** The next object the server sent. */
  async next(): Promise<Json> {
    const end = await this.#fill((bytes) => {
      if (bytes.length < 2) return -1;
      assertEquals(bytes[0], 0x81, "a whole text frame");
      let length = bytes[1];
      let header = 2;
      if (length === 126) {
        if (bytes.length < 4) return -1;
        [length, header] = [(bytes[2] << 8) | bytes[3], 4];
      }
      return bytes.length >= header + length ? header + length : -1;
    });
    const frame = this.#take(end);
    return JSON.parse(decoder.decode(frame.subarray(frame[1] === 126 ? 4 : 2)));
  }

  /** The next object whose type is `type` (others skipped). */
  async nextOf(type: string): Promise<Json> {
    for (;;) {
      const object = await this.next();
      if (object.type === type) return object;
    }
  }

  /** Sends `object` in one masked frame (the mask all zeros: the payload as it is). */
  async send(object: Json): Promise<void> {
    const payload = encoder.encode(JSON.stringify(object));
    assert(payload.length < 126);
    await this.conn.write(new Uint8Array([0x81, 0x80 | payload.length, 0, 0, 0, 0, ...payload]));
  }

  async #fill(complete: (bytes: Uint8Array) => number): Promise<number> {
    const chunk = new Uint8Array(4096);
    for (;;) {
      const end = complete(this.#buffer);
      if (end !== -1) return end;
      const n = await within(this.conn.read(chunk), "the server's next frame");
      if (n === null) throw new Error("the server closed the socket");
      const grown = new Uint8Array(this.#buffer.length + n);
      grown.set(this.#buffer);
      grown.set(chunk.subarray(0, n), this.#buffer.length);
      this.#buffer = grown;
    }
  }

  #take(end: number): Uint8Array {
    const taken = this.#buffer.slice(0, end);
    this.#buffer = this.#buffer.slice(end);
    return taken;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    try {
      this.conn.close();
    } catch { /* closed already */ }
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
}

/** A server with its web side, cheap hashes, and how to reach it. */
async function loginServer(options: ServerOptions = {}) {
  const server = await quietServer({ web: 0, hashCost: CHEAP, ...options });
  const port = server.webAddr!.port;
  return { server, port, host: `127.0.0.1:${port}` };
}

/** Registers `name` over a JSON socket and gives the ticket it was sent; the socket quits. */
async function registerFor(
  connect: () => Promise<Deno.Conn>,
  host: string,
  name: string,
  origin: string,
): Promise<string> {
  await using socket = await JsonSocket.open(connect, host, { Origin: origin });
  assertEquals((await socket.next()).type, "greeting");
  await socket.send({ type: "hello", name });
  assertEquals((await socket.next()).type, "welcome");
  await socket.send({ type: "line", text: "/register right-one" });
  assertEquals((await socket.nextOf("registered")).name, name);
  const { ticket } = await socket.nextOf("sessionTicket");
  assert(typeof ticket === "string" && ticket.length === 43);
  await socket.send({ type: "line", text: "/quit" });
  await socket.nextOf("bye");
  return ticket;
}

test("web login: a ticket is traded once, same-origin, for an HttpOnly SameSite=Strict cookie that logs the socket in", async () => {
  const { server, port, host } = await loginServer();
  await using _ = server;
  const connect = () => Deno.connect({ hostname: "127.0.0.1", port });
  const origin = `http://${host}`;
  const ticket = await registerFor(connect, host, "ann", origin);
  const url = `http://${host}/session`;

  // Refused: another site's page, no ticket, a ticket made up, and a GET.
  const foreign = await fetch(url, {
    method: "POST",
    headers: { origin: "https://evil.example", "x-chat-ticket": ticket },
  });
  assertEquals([foreign.status, await foreign.text()], [403, "this origin may not log in here\n"]);
  assertEquals(foreign.headers.get("set-cookie"), null);
  const none = await fetch(url, { method: "POST", headers: { origin } });
  assertEquals([none.status, await none.text()], [400, "an X-Chat-Ticket header is expected\n"]);
  const madeUp = await fetch(url, {
    method: "POST",
    headers: { origin, "x-chat-ticket": "B".repeat(43) },
  });
  assertEquals([madeUp.status, await madeUp.text()], [403, "no such ticket\n"]);
  const got = await fetch(url);
  assertEquals([got.status, got.headers.get("allow"), await got.text()], [
    405,
    "POST, DELETE",
    "method not allowed\n",
  ]);

  // The page's own origin trades it (the foreign try did not spend it), once.
  const traded = await fetch(url, { method: "POST", headers: { origin, "x-chat-ticket": ticket } });
  assertEquals([traded.status, await traded.text()], [200, "logged in\n"]);
  const cookie = traded.headers.get("set-cookie")!;
  const match =
    /^chat_session=([A-Za-z0-9_-]{43}); Path=\/; Max-Age=(\d+); HttpOnly; SameSite=Strict$/
      .exec(cookie);
  assert(match, `no Secure without TLS, HttpOnly, SameSite=Strict: ${cookie}`);
  assertEquals(Number(match[2]), 30 * 24 * 3600);
  const token = match[1];
  const again = await fetch(url, { method: "POST", headers: { origin, "x-chat-ticket": ticket } });
  assertEquals([again.status, await again.text()], [403, "no such ticket\n"]);

  // The cookie: greeted with the account, hello without a password.
  {
    await using socket = await JsonSocket.open(connect, host, {
      Origin: origin,
      Cookie: `theme=dark; chat_session=${token}`,
    });
    assertEquals((await socket.next()).account, "ann");
    await socket.send({ type: "hello", name: "ann", ref: "h" });
    const welcome = await socket.next();
    assertEquals([welcome.type, welcome.name, welcome.account, welcome.ref], [
      "welcome",
      "ann",
      "ann",
      "h",
    ]);
    await socket.send({ type: "line", text: "/quit" });
    await socket.nextOf("bye");
  }
  // Under another Host (the same server by another name), or forged: a password.
  const cases: [string, string, string][] = [
    ["another host", `localhost:${port}`, token],
    ["forged", host, "C".repeat(43)],
  ];
  for (const [what, at, value] of cases) {
    await using socket = await JsonSocket.open(connect, at, { Cookie: `chat_session=${value}` });
    const greeting = await socket.next();
    assertEquals([greeting.type, greeting.account], ["greeting", undefined], what);
    await socket.send({ type: "hello", name: "ann" });
    assertEquals((await socket.next()).type, "passwordPrompt", what);
  }

  // DELETE /session: the cookie is cleared, and its token no longer logs in.
  const out = await fetch(url, {
    method: "DELETE",
    headers: { origin, cookie: `chat_session=${token}` },
  });
  assertEquals([out.status, await out.text()], [200, "logged out\n"]);
  assertEquals(
    out.headers.get("set-cookie"),
    "chat_session=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict",
  );
  await using after = await JsonSocket.open(connect, host, { Cookie: `chat_session=${token}` });
  assertEquals((await after.next()).account, undefined);
});

test("web login: under TLS the cookie is Secure and __Host- prefixed", async () => {
  const read = (file: string) =>
    Deno.readTextFileSync(new URL(`./testdata/${file}`, import.meta.url));
  const { server, port, host } = await loginServer({
    cert: read("cert.pem"),
    key: read("key.pem"),
  });
  await using _ = server;
  const caCerts = [read("ca.pem")];
  const connect = () => Deno.connectTls({ hostname: "127.0.0.1", port, caCerts });
  const origin = `https://${host}`;
  const ticket = await registerFor(connect, host, "bea", origin);
  using client = Deno.createHttpClient({ caCerts });
  const traded = await fetch(`https://${host}/session`, {
    method: "POST",
    headers: { origin, "x-chat-ticket": ticket },
    client,
  });
  assertEquals([traded.status, await traded.text()], [200, "logged in\n"]);
  const cookie = traded.headers.get("set-cookie")!;
  const match =
    /^__Host-chat_session=([A-Za-z0-9_-]{43}); Path=\/; Max-Age=\d+; HttpOnly; SameSite=Strict; Secure$/
      .exec(cookie);
  assert(match, cookie);
  await using socket = await JsonSocket.open(connect, host, {
    Cookie: `__Host-chat_session=${match[1]}`,
  });
  assertEquals((await socket.next()).account, "bea");
  // The plain name is not this server's cookie under TLS.
  await using plain = await JsonSocket.open(connect, host, { Cookie: `chat_session=${match[1]}` });
  assertEquals((await plain.next()).account, undefined);
});
