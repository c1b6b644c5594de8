/**
 * Read markers on a cluster (`--redis`): kept in Redis, forward only there too, carried
 * to the other servers by the bus, read at start by a server that comes later, and told
 * to the account when it logs in on another server. Skipped without `redis-server`.
 */

import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import type { ChatServer, ServerOptions } from "../server.ts";
import {
  eventually,
  HAVE_REDIS,
  quietServer,
  sanitized,
  startRedis,
  type TestRedis,
} from "./test_util.ts";
import { JsonClient } from "../src/json/json_test_util.ts";
import { idOf } from "../src/core/ids.ts";

const CHEAP = { n: 1 << 10, r: 8, p: 1, scramIterations: 16 };

function instance(redis: TestRedis, options: ServerOptions = {}): Promise<ChatServer> {
  return quietServer({ redis: redis.url, hashCost: CHEAP, ...options });
}

Deno.test({
  name:
    "markers on Redis: kept there, carried to the other servers, read by a later one, told at login",
  ignore: !HAVE_REDIS,
  ...sanitized,
  async fn() {
    await using stack = new AsyncDisposableStack();
    const redis = stack.use(await startRedis());
    const a = stack.use(await instance(redis));
    const b = stack.use(await instance(redis));
    const ann = new JsonClient(a.hub);
    ann.send({ type: "hello", name: "ann" });
    ann.send({ type: "line", text: "/register s3cret-one" });
    await a.hub.accounts.idle();
    await eventually(() => b.hub.accounts.isRegistered("ann"));
    ann.take();
    const first = idOf(Date.now() - 60_000, 1, "t");
    const later = idOf(Date.now() - 30_000, 1, "t");
    ann.send({ type: "markRead", room: "dev", id: later });
    assertEquals(ann.take().map((o) => o.id), [later]);
    await eventually(async () => (await redis.cli("HGET", "chat:markers:ann", "#dev")) !== "");
    assert((await redis.cli("HGET", "chat:markers:ann", "#dev")).startsWith(`${later} `));
    // The other server heard of it on the bus.
    await eventually(() => b.hub.readMarkers.store.get("ann", "#dev")?.id === later);
    // Behind the one kept: nothing changes, here or in Redis.
    ann.send({ type: "markRead", room: "dev", id: first });
    assertEquals(ann.take().map((o) => o.id), [later]);
    // A server started now reads it from Redis.
    const c = stack.use(await instance(redis));
    assertEquals(c.hub.readMarkers.store.get("ann", "#dev")?.id, later);
    assert((await redis.cli("HGET", "chat:markers:ann", "#dev")).startsWith(`${later} `));
    // ann leaves a and logs in on b: told where it left off.
    ann.send({ type: "line", text: "/quit" });
    await eventually(() => b.hub.findMember("ann") === undefined);
    const again = new JsonClient(b.hub);
    again.send({ type: "hello", name: "ann" });
    again.send({ type: "password", password: "s3cret-one" });
    await b.hub.accounts.idle();
    await eventually(() => again.objects.some((o) => o.type === "readMarker"));
    const told = again.take().filter((o) => o.type === "readMarker");
    assertEquals(told, [{ type: "readMarker", room: "dev", id: later, read: told[0].read }]);
    again.send({ type: "line", text: "/quit" });
  },
});
