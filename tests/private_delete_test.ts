/**
 * A deleted private message across a cluster (`--redis`): it leaves every server's store,
 * Redis's conversation stream, events stream and the wait of a held one, so that neither
 * a login elsewhere nor a server started later sees it.
 *
 * @module
 */

import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { NAME_PROMPT, parseHistoryLine, say } from "../src/text/protocol.ts";
import {
  CHEAP,
  eventually,
  HAVE_REDIS,
  LineClient,
  quietServer,
  quitAndGone,
  registered,
  sanitized,
  startRedis,
} from "./test_util.ts";
import { pairKey } from "../src/core/private.ts";

Deno.test({
  name:
    "a deleted private message leaves every server, Redis and the wait: a later server never sees it",
  ignore: !HAVE_REDIS,
  ...sanitized,
  async fn() {
    await using redis = await startRedis();
    await using a = await quietServer({ redis: redis.url, hashCost: CHEAP });
    await using b = await quietServer({ redis: redis.url, hashCost: CHEAP });
    using ann = await registered(a, "ann");
    using bo = await registered(b, "bo");
    await eventually(() => a.hub.accounts.accountName("bo") !== undefined);
    await ann.write("/msg bo live\n");
    await bo.until((line) => line === "ann (private): live");
    const pair = pairKey("ann", "bo");
    const idOf = (text: string) =>
      a.hub.privates.before(pair, 10).find((entry) => entry.text === text)!.id;
    // Deleted while both are connected: bo, on the other server, is told.
    await ann.write(`/delete ${idOf("live")}\n`);
    assertEquals(await bo.line(), say.privateDeleted("ann", "ann"));
    await eventually(() => b.hub.privates.before(pair, 10).length === 0);
    await quitAndGone(a, bo, "bo");
    await ann.write("/msg bo held one\n/msg bo held two\n");
    await eventually(() => b.hub.privates.heldCount("bo") === 2);
    await ann.write(`/delete ${idOf("held one")}\n`);
    await ann.until((line) => line === say.privateDeleted("ann", "bo"));
    await eventually(() => b.hub.privates.heldCount("bo") === 1);
    await eventually(async () => (await redis.cli("LLEN", "chat:held:bo")).trim() === "1");
    assertEquals((await redis.cli("XLEN", `chat:private:${pair}`)).trim(), "1");
    const events = await redis.cli("XRANGE", "chat:events", "-", "+");
    assert(!events.includes("held one") && !events.includes('"live"'), events);
    // A server started now loads only what is left.
    await using c = await quietServer({ redis: redis.url, hashCost: CHEAP });
    assertEquals(c.hub.privates.before(pair, 10).map((entry) => entry.text), ["held two"]);
    assertEquals(c.hub.privates.heldCount("bo"), 1);
    // bo, back on b, is given only what was not deleted.
    using back = await LineClient.connect(b);
    await back.until((line) => line === NAME_PROMPT);
    await back.write("bo\nopen sesame\n");
    await back.until((line) => /^-- while you were away, ann wrote/.test(line));
    const page = await back.through((line) => line === say.historyEnd);
    assertEquals(page.slice(0, -1).map((line) => parseHistoryLine(line)!.line), [
      "ann (private): held two",
    ]);
  },
});
