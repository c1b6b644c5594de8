/**
 * Klines through a real server over TCP: set by a server operator, kept in the `--db`
 * file across a restart, refusing a matching name with the reason and closing.
 */

import { deepStrictEqual as assertEquals, match as assertMatch } from "node:assert/strict";
import { say } from "../src/text/protocol.ts";
import { LineClient, quietServer, sanitized } from "./test_util.ts";

const CHEAP = { n: 1 << 10, r: 8, p: 1, scramIterations: 16 };

Deno.test({
  name: "a kline set over TCP is kept in the --db file and refuses a matching name after a restart",
  ...sanitized,
  async fn() {
    const path = await Deno.makeTempFile({ suffix: ".db" });
    try {
      const options = { db: path, admins: ["boss"], hashCost: CHEAP };
      {
        await using server = await quietServer(options);
        using boss = await LineClient.join(server, "boss");
        await boss.write("/register pass-boss\n");
        assertEquals(await boss.line(), say.registered("boss", true));
        using spammer = await LineClient.join(server, "spammer");
        await boss.write("/kline spam* 7d adverts\n");
        assertMatch(
          await spammer.until((line) => line.startsWith("!!")),
          /^!! you are banned from this server until \d{4}-\d\d-\d\d \d\d:\d\d UTC: adverts$/,
        );
        await spammer.rest(); // closed by the server
        assertMatch(
          await boss.until((line) => line.startsWith("-- Server ban")),
          /^-- Server ban on spam\* until .* UTC \(adverts\); 1 connection ended$/,
        );
      }
      await using server = await quietServer(options);
      using again = await LineClient.connect(server);
      await again.until((line) => line.endsWith("call you?"));
      await again.write("spamalot\n");
      assertMatch(await again.line(), /^!! you are banned from this server until .*: adverts$/);
      await again.rest();
      using boss = await LineClient.connect(server);
      await boss.until((line) => line.endsWith("call you?"));
      await boss.write("boss\n");
      await boss.until((line) => line.includes("type its password"));
      await boss.write("pass-boss\n/klines\n");
      await boss.until((line) => line === "-- Server bans (1):");
      assertMatch(await boss.line(), /^-- {3}spam\* by boss at .* UTC, until .* UTC \(adverts\)$/);
    } finally {
      await Deno.remove(path);
      await Deno.remove(path + "-wal").catch(() => {});
      await Deno.remove(path + "-shm").catch(() => {});
    }
  },
});
