/**
 * Pins the bounded HTTP/1.1 server (`src/web/http.ts`) over loopback sockets: every
 * way a connection ends gives its slot at the door back exactly once, request
 * heads and idle keep-alive connections are timed out, the per-address limit
 * counts plain HTTP connections, and what it cannot serve is refused cleanly.
 *
 * @module
 */

import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { Admission } from "../core/admission.ts";
import { type HttpHandler, HttpServer, MAX_HEAD } from "./http.ts";
import { ServerLog } from "../ops/log.ts";
import { say } from "../text/protocol.ts";
import { eventually, test, within } from "../../tests/test_util.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A server answering `200 ok` (or what `handler` says), its admission and its log lines. */
async function httpServer(
  options: { maxPerAddress?: number; headerTimeout?: number; idleTimeout?: number } = {},
  handler?: HttpHandler,
) {
  const admission = new Admission({
    maxClients: 100,
    maxPerAddress: options.maxPerAddress ?? 0,
    connectRate: 0,
    connectBurst: 10,
    exempt: [],
  });
  const logged: string[] = [];
  const log = new ServerLog((line) => logged.push(line));
  const errors: unknown[] = [];
  const server = await HttpServer.listen(
    {
      hostname: "127.0.0.1",
      port: 0,
      admission,
      log,
      internalError: (error) => errors.push(error),
      headerTimeout: options.headerTimeout,
      idleTimeout: options.idleTimeout,
    },
    handler ?? (() => ({ status: 200, headers: {}, body: "ok\n" })),
  );
  return {
    server,
    admission,
    logged,
    errors,
    port: server.addr.port,
    async [Symbol.asyncDispose]() {
      await server.close(1000);
      log.close();
    },
  };
}

/** A raw connection that reads everything until the server closes it. */
class Raw {
  text = "";
  readonly closed: Promise<void>;

  private constructor(readonly conn: Deno.Conn) {
    this.closed = (async () => {
      const buffer = new Uint8Array(4096);
      try {
        for (let n = await conn.read(buffer); n !== null; n = await conn.read(buffer)) {
          this.text += decoder.decode(buffer.subarray(0, n));
        }
      } catch {
        // reset: closed all the same
      }
    })();
  }

  static async open(port: number, request = ""): Promise<Raw> {
    const raw = new Raw(await Deno.connect({ hostname: "127.0.0.1", port }));
    if (request) await raw.conn.write(encoder.encode(request));
    return raw;
  }

  /** The status lines of the answers read so far. */
  get statuses(): string[] {
    return this.text.match(/HTTP\/1\.1 \d{3} [A-Za-z ]+(?=\r\n)/g) ?? [];
  }

  async untilClosed(what: string): Promise<string[]> {
    await within(this.closed, what);
    return this.statuses;
  }

  close(): void {
    try {
      this.conn.close();
    } catch {
      // closed already
    }
  }
}

test("http: every way a connection ends gives its slot back once", async () => {
  await using http = await httpServer({ headerTimeout: 300, idleTimeout: 300 }, (request) => {
    if (request.path === "/bug") throw new Error("a bug");
    return { status: 200, headers: {}, body: "ok\n" };
  });
  const cases: [string, string, string[]][] = [
    ["answered, then closed", "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", [
      "HTTP/1.1 200 OK",
    ]],
    ["not HTTP", "hello there\r\n\r\n", ["HTTP/1.1 400 Bad Request"]],
    ["HTTP/2", "PRI * HTTP/2.0\r\n\r\n", ["HTTP/1.1 505 HTTP Version Not Supported"]],
    ["a malformed header", "GET / HTTP/1.1\r\nno colon\r\n\r\n", ["HTTP/1.1 400 Bad Request"]],
    ["two Hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", ["HTTP/1.1 400 Bad Request"]],
    ["chunked", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", [
      "HTTP/1.1 501 Not Implemented",
    ]],
    ["a large body", "POST / HTTP/1.1\r\nContent-Length: 100000\r\n\r\n", [
      "HTTP/1.1 413 Content Too Large",
    ]],
    ["a head too large", `GET / HTTP/1.1\r\nX: ${"x".repeat(MAX_HEAD)}\r\n\r\n`, [
      "HTTP/1.1 431 Request Header Fields Too Large",
    ]],
    ["a bug in the handler", "GET /bug HTTP/1.1\r\nConnection: close\r\n\r\n", [
      "HTTP/1.1 500 Internal Server Error",
    ]],
    ["half a head, then the header timeout", "GET / HTTP/1.1\r\nHost:", [
      "HTTP/1.1 408 Request Timeout",
    ]],
    ["kept alive, then the idle timeout", "GET / HTTP/1.1\r\nHost: a\r\n\r\n", [
      "HTTP/1.1 200 OK",
    ]],
    ["a short body skipped, kept alive", "POST / HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc", [
      "HTTP/1.1 200 OK",
    ]],
  ];
  for (const [what, request, statuses] of cases) {
    const raw = await Raw.open(http.port, request);
    assertEquals(await raw.untilClosed(what), statuses, what);
    raw.close();
    await eventually(() => http.admission.open === 0);
    assertEquals(http.server.connections, 0, what);
  }
  assertEquals(http.errors.length, 1);
  // Closed by the client: in the middle of a head, and between requests.
  for (const request of ["GET / HTT", "GET / HTTP/1.1\r\nHost: a\r\n\r\n"]) {
    const raw = await Raw.open(http.port, request);
    await eventually(() => http.admission.open === 1);
    raw.close();
    await raw.closed;
    await eventually(() => http.admission.open === 0);
  }
});

test("http: a half-sent request is closed at the header timeout, however slowly it trickles", async () => {
  await using http = await httpServer({ headerTimeout: 300, idleTimeout: 5_000 });
  const raw = await Raw.open(http.port, "GET / HTTP/1.1\r\n");
  const started = performance.now();
  // A byte every 50 ms does not push the deadline back.
  const trickle = setInterval(() => raw.conn.write(encoder.encode("X")).catch(() => {}), 50);
  try {
    assertEquals(await raw.untilClosed("the header timeout"), ["HTTP/1.1 408 Request Timeout"]);
  } finally {
    clearInterval(trickle);
  }
  const elapsed = performance.now() - started;
  assert(elapsed >= 250 && elapsed < 3_000, `closed after ${elapsed} ms`);
  raw.close();
  await eventually(() => http.admission.open === 0);
});

test("http: keep-alive serves several requests, pipelined too, then idles out", async () => {
  await using http = await httpServer({ headerTimeout: 5_000, idleTimeout: 300 });
  const raw = await Raw.open(
    http.port,
    "GET /a HTTP/1.1\r\nHost: a\r\n\r\nHEAD /b HTTP/1.1\r\nHost: a\r\n\r\n",
  );
  await eventually(() => raw.statuses.length === 2);
  await raw.conn.write(encoder.encode("GET /c HTTP/1.1\r\nHost: a\r\n\r\n"));
  assertEquals(await raw.untilClosed("the idle timeout"), [
    "HTTP/1.1 200 OK",
    "HTTP/1.1 200 OK",
    "HTTP/1.1 200 OK",
  ]);
  // HEAD: the length of the body, not the body.
  assertEquals(raw.text.split("ok\n").length - 1, 2);
  raw.close();
});

test("http: the per-address limit counts plain HTTP connections; a refused one is told why", async () => {
  await using http = await httpServer({ maxPerAddress: 2 });
  const first = await Raw.open(http.port);
  const second = await Raw.open(http.port);
  await eventually(() => http.admission.open === 2);
  const third = await Raw.open(http.port, "GET / HTTP/1.1\r\nHost: a\r\n\r\n");
  assertEquals(await third.untilClosed("the refusal"), ["HTTP/1.1 429 Too Many Requests"]);
  assert(third.text.endsWith(`${say.tooManyFromAddress.slice(3)}\n`), third.text);
  third.close();
  assertEquals(http.admission.open, 2);
  first.close();
  await eventually(() => http.admission.open === 1);
  const fourth = await Raw.open(
    http.port,
    "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
  );
  assertEquals(await fourth.untilClosed("an answer"), ["HTTP/1.1 200 OK"]);
  fourth.close();
  second.close();
  await eventually(() => http.admission.open === 0);
  assert(http.logged.some((line) => line.includes("refused a connection")), http.logged.join("\n"));
});

test("http: an answer that waits is written in order; pipelined requests wait for it; a failed one is a 500", async () => {
  const waiting: (() => void)[] = [];
  await using http = await httpServer({ headerTimeout: 2000 }, (request) => {
    if (request.path === "/fail") return Promise.reject(new Error("the store is down"));
    if (request.path !== "/slow") {
      return { status: 200, headers: {}, body: `fast ${request.path}\n` };
    }
    return new Promise((resolve) => {
      waiting.push(() => resolve({ status: 200, headers: {}, body: "slow\n" }));
    });
  });
  const raw = await Raw.open(
    http.port,
    "POST /slow HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc" +
      "GET /after HTTP/1.1\r\nHost: a\r\n\r\n",
  );
  await eventually(() => waiting.length === 1);
  await raw.conn.write(encoder.encode("GET /fail HTTP/1.1\r\nHost: a\r\n\r\n"));
  await raw.conn.write(
    encoder.encode("GET /last HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"),
  );
  assertEquals(raw.text, "", "nothing is answered before the slow one");
  waiting[0]();
  assertEquals(await raw.untilClosed("the answers"), [
    "HTTP/1.1 200 OK",
    "HTTP/1.1 200 OK",
    "HTTP/1.1 500 Internal Server Error",
    "HTTP/1.1 200 OK",
  ]);
  const bodies = raw.text.split("\r\n\r\n").slice(1).map((part) => part.split("HTTP/1.1")[0]);
  assertEquals(bodies, ["slow\n", "fast /after\n", "internal error\n", "fast /last\n"]);
  assertEquals(http.errors.map((error) => (error as Error).message), ["the store is down"]);
  raw.close();
  await eventually(() => http.admission.open === 0);
});
