/**
 * A stand-in for the chat server's JSON protocol (`chat.v1.json`, docs/protocol.md)
 * for the page's browser tests: it serves the page's files and lets a test play
 * the server's side of each WebSocket by hand (send these events, expect that
 * request), so that every event the page must show can be shown on cue (a gap in
 * a replay, an error with a ref, an echo or none). The real server's JSON side is
 * tested with the page in `tests/web_page_test.ts` too.
 *
 * @module
 */

import { PAGE_FILES } from "../src/web/page.ts";
import { within } from "./test_util.ts";

/** A request from the page, as parsed from its frame. */
export type Request = { type: string; ref?: string; [field: string]: unknown };

/** One WebSocket from the page, played from the test. */
export class PlayedSocket {
  readonly #socket: WebSocket;
  readonly #frames: Request[] = [];
  #wake: (() => void) | null = null;
  /** Settles once the socket is closed, from either side. */
  readonly closed: Promise<void>;

  constructor(socket: WebSocket) {
    this.#socket = socket;
    this.#socket.addEventListener("message", (event) => {
      this.#frames.push(JSON.parse(String(event.data)));
      this.#wake?.();
    });
    this.closed = new Promise((resolve) => this.#socket.addEventListener("close", () => resolve()));
  }

  /** Sends events, each as one frame, with a time unless it has one. */
  send(...events: Record<string, unknown>[]): void {
    for (const event of events) {
      this.#socket.send(JSON.stringify({ time: new Date().toISOString(), ...event }));
    }
  }

  /** The page's next request of type `type` (others before it are skipped and returned). */
  async expect(type: string): Promise<Request> {
    return await within(
      (async () => {
        while (true) {
          const index = this.#frames.findIndex((frame) => frame.type === type);
          if (index !== -1) return this.#frames.splice(0, index + 1)[index];
          await new Promise<void>((resolve) => this.#wake = resolve);
        }
      })(),
      `a ${type} request from the page`,
    );
  }

  /** The page's next `line` request with exactly `text`. */
  async expectLine(text: string): Promise<Request> {
    while (true) {
      const line = await this.expect("line");
      if (line.text === text) return line;
    }
  }

  /** Closes the socket from the server's side. */
  async close(): Promise<void> {
    if (this.#socket.readyState < WebSocket.CLOSING) this.#socket.close(1001);
    await this.closed;
  }
}

/** The page's files and a `/ws` whose every socket the test plays. */
export class JsonStandIn {
  readonly #server: Deno.HttpServer<Deno.NetAddr>;
  readonly #sockets: PlayedSocket[] = [];
  readonly #waiting: ((socket: PlayedSocket) => void)[] = [];
  #unclaimed: PlayedSocket[] = [];
  /** The subprotocols each WebSocket handshake asked for. */
  readonly asked: string[] = [];

  constructor() {
    this.#server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen() {} }, (request) => {
      const path = new URL(request.url).pathname;
      if (path === "/ws") {
        const protocols = request.headers.get("sec-websocket-protocol") ?? "";
        this.asked.push(protocols);
        const { socket, response } = Deno.upgradeWebSocket(request, { protocol: "chat.v1.json" });
        const played = new PlayedSocket(socket);
        socket.addEventListener("open", () => {
          this.#sockets.push(played);
          const waiter = this.#waiting.shift();
          if (waiter) waiter(played);
          else this.#unclaimed.push(played);
        });
        return response;
      }
      const file = PAGE_FILES.get(path);
      if (!file) return new Response("not found", { status: 404 });
      return new Response(file.text, { headers: { "content-type": file.type } });
    });
  }

  /** The page's address. */
  get url(): string {
    return `http://127.0.0.1:${this.#server.addr.port}/`;
  }

  /** The next WebSocket the page opens (or has opened and no test took yet). */
  async socket(): Promise<PlayedSocket> {
    const ready = this.#unclaimed.shift();
    if (ready) return ready;
    return await within(
      new Promise<PlayedSocket>((resolve) => this.#waiting.push(resolve)),
      "the page's WebSocket",
    );
  }

  /** Closes every socket, then the server. */
  async [Symbol.asyncDispose](): Promise<void> {
    await Promise.all(this.#sockets.map((socket) => socket.close()));
    await this.#server.shutdown();
  }
}
