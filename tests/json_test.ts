/**
 * Pins the JSON protocol (`chat.v1.json`) end to end over a real WebSocket: the
 * subprotocol is echoed, events are JSON objects one per frame beside text clients,
 * bad frames get one error each and the socket stays, `since` replays exactly what
 * a reconnecting client missed, and ids survive a restart with `--db`.
 *
 * @module
 */

import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import type { ChatServer, ServerOptions } from "../server.ts";
import { LineClient, quietServer, test, WAIT_LIMIT, within } from "./test_util.ts";

type Json = Record<string, unknown>;
type WebServer = ChatServer & { readonly webAddr: Deno.NetAddr };

async function webServer(options: ServerOptions = {}): Promise<WebServer> {
  const server = await quietServer({ web: 0, ...options });
  assert(server.webAddr, "the server has a web address");
  return server as WebServer;
}

/** A client of the JSON protocol: one object per text frame. */
class JsonClient {
  readonly objects: Json[] = [];
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
      this.objects.push(JSON.parse(event.data as string));
      this.#wake?.();
    });
  }

  /** Opens a socket asking for `chat.v1.json`; the greeting is read and checked. */
  static async open(server: WebServer): Promise<JsonClient> {
    const socket = new WebSocket(`ws://127.0.0.1:${server.webAddr.port}/ws`, "chat.v1.json");
    const client = new JsonClient(socket);
    const opened = new Promise<void>((resolve, reject) => {
      socket.addEventListener("open", () => resolve());
      socket.addEventListener("error", () => reject(new Error("WebSocket error")));
    });
    try {
      await within(opened, "the socket to open");
      assertEquals(socket.protocol, "chat.v1.json");
      const greeting = await client.next();
      assertEquals([greeting.type, greeting.maxLine], ["greeting", 4096]);
    } catch (error) {
      await client[Symbol.asyncDispose]();
      throw error;
    }
    return client;
  }

  /** Opens a socket and says hello as `name` (with `since`), reading up to the welcome. */
  static async join(server: WebServer, name: string, since?: string): Promise<JsonClient> {
    const client = await JsonClient.open(server);
    client.send({ type: "hello", name, since });
    assertEquals((await client.next()).type, "welcome");
    return client;
  }

  send(message: Json | string): void {
    this.socket.send(typeof message === "string" ? message : JSON.stringify(message));
  }

  /** The next object (throws after the wait limit, or if the socket closes first). */
  async next(): Promise<Json> {
    const deadline = Date.now() + WAIT_LIMIT;
    while (this.objects.length === 0) {
      if (this.#done) throw new Error("the socket closed while an object was expected");
      const more = new Promise<void>((resolve) => this.#wake = resolve);
      await within(more, "an object", deadline - Date.now());
    }
    return this.objects.shift()!;
  }

  /** The next object of `type`, skipping others. */
  async nextOf(type: string): Promise<Json> {
    for (;;) {
      const object = await this.next();
      if (object.type === type) return object;
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    if (this.socket.readyState === WebSocket.OPEN) this.socket.close();
    await within(this.closed, "the socket to close");
  }
}

test("json over a WebSocket: negotiated by subprotocol, beside text clients, ids on messages", async () => {
  await using server = await webServer({ replay: 5 });
  using cat = await LineClient.join(server, "cat");
  await using ann = await JsonClient.join(server, "ann");
  await cat.until((line) => line === "-- ann joined");
  await cat.write("hello json\n");
  const message = await ann.nextOf("message");
  assertEquals({ ...message, id: "", time: "" }, {
    type: "message",
    id: "",
    time: "",
    room: "lobby",
    from: "cat",
    text: "hello json",
  });
  assert(/^[0-9a-z]{19}$/.test(message.id as string));
  ann.send({ type: "line", text: "/me waves back", ref: "a1" });
  assertEquals(await cat.line(), "* ann waves back");
  // A newcomer's replay shows the same id.
  await using bob = await JsonClient.join(server, "bob");
  const history = await bob.nextOf("history");
  const entries = history.entries as Json[];
  // A message's entry has no `type` (absent: a message); an action's says so.
  assertEquals(entries.map(({ type, text }) => [type, text]), [
    [undefined, "hello json"],
    ["action", "waves back"],
  ]);
  assertEquals("type" in entries[0], false);
  assertEquals(entries[0].id, message.id);
  assert((entries[1].id as string) > (message.id as string));
});

test("json over a WebSocket: bad frames get one error each, a big one too; the socket stays", async () => {
  await using server = await webServer();
  await using ann = await JsonClient.join(server, "ann");
  await using bob = await JsonClient.join(server, "bob");
  await ann.nextOf("presence");
  ann.send("{oops");
  assertEquals((await ann.next()).code, "badJson");
  ann.send({ type: "fly", ref: "f" });
  const unknown = await ann.next();
  assertEquals([unknown.code, unknown.got, unknown.ref], ["unknownType", "fly", "f"]);
  ann.send("x".repeat(100_000)); // past the largest message taken: refused whole
  const big = await ann.next();
  assertEquals([big.type, big.code], ["error", "tooBig"]);
  ann.send({ type: "line", text: "after all that" });
  const heard = await bob.nextOf("message");
  assertEquals([heard.from, heard.text], ["ann", "after all that"]);
  const confirmed = await ann.next(); // one's own line, back with its id: nothing else
  assertEquals([confirmed.type, confirmed.id], ["message", heard.id]);
  assertEquals(ann.objects, []);
});

test("json over a WebSocket: after a reconnect, since replays exactly what was missed", async () => {
  await using server = await webServer({ replay: 5 });
  using cat = await LineClient.join(server, "cat");
  let last: string;
  {
    await using ann = await JsonClient.join(server, "ann");
    await cat.write("seen 1\nseen 2\n");
    await ann.nextOf("message");
    last = (await ann.nextOf("message")).id as string;
  }
  await cat.write("missed 1\nmissed 2\n");
  await cat.write("/who\n"); // the lines are kept once cat's answer comes
  await cat.until((line) => line.startsWith("-- Online in lobby"));
  await using again = await JsonClient.join(server, "ann", last);
  const replay = await again.nextOf("history");
  assertEquals(replay.gap, undefined);
  assertEquals((replay.entries as Json[]).map((entry) => entry.text), ["missed 1", "missed 2"]);
});

test("json over a WebSocket: ids are the same after a restart with --db", async () => {
  const dir = await Deno.makeTempDir({ prefix: "chat-json-" });
  try {
    const db = `${dir}/chat.db`;
    let ids: string[];
    {
      await using server = await webServer({ db });
      await using ann = await JsonClient.join(server, "ann");
      using cat = await LineClient.join(server, "cat");
      await cat.write("one\ntwo\n");
      ids = [(await ann.nextOf("message")).id, (await ann.nextOf("message")).id] as string[];
    }
    await using server = await webServer({ db, replay: 10 });
    await using bob = await JsonClient.join(server, "bob", ids[0]);
    const replay = await bob.nextOf("history");
    assertEquals(replay.gap, undefined);
    assertEquals((replay.entries as Json[]).map(({ id, text }) => [id, text]), [[ids[1], "two"]]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
