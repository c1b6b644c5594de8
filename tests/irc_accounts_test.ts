/**
 * Accounts on IRC end to end, over TCP against a real server: an account made by
 * NickServ is kept in the `--db` file, and after a restart logs in by SASL
 * SCRAM-SHA-256 (its verifier read back from the file) and by the text protocol's
 * `/login`; an IRC message then carries the sender's account to an `account-tag` client.
 *
 * @module
 */

import { deepStrictEqual as assertEquals, match as assertMatch } from "node:assert/strict";
import { Buffer } from "node:buffer";
import { createHash, createHmac, pbkdf2Sync } from "node:crypto";
import { say } from "../src/text/protocol.ts";
import { LineClient, quietServer, test } from "./test_util.ts";

const CHEAP = { n: 1 << 10, r: 8, p: 1, scramIterations: 16 };
const b64 = (data: string | Uint8Array) => Buffer.from(data).toString("base64");
const unb64 = (text: string) => Buffer.from(text, "base64").toString();

/** Logs `irc` in to `user` with SCRAM-SHA-256 (RFC 5802's client side); the server's last word. */
async function scram(irc: LineClient, user: string, password: string): Promise<string> {
  const bare = `n=${user},r=clientnonce123`;
  await irc.write("AUTHENTICATE SCRAM-SHA-256\r\n");
  await irc.until((line) => line === "AUTHENTICATE +\r");
  await irc.write(`AUTHENTICATE ${b64(`n,,${bare}`)}\r\n`);
  const serverFirst = unb64(
    (await irc.until((line) => line.startsWith("AUTHENTICATE "))).slice(13),
  );
  const fields = Object.fromEntries(serverFirst.split(",").map((f) => [f[0], f.slice(2)]));
  const salted = pbkdf2Sync(
    password,
    Buffer.from(fields.s, "base64"),
    Number(fields.i),
    32,
    "sha256",
  );
  const clientKey = createHmac("sha256", salted).update("Client Key").digest();
  const storedKey = createHash("sha256").update(clientKey).digest();
  const withoutProof = `c=${b64("n,,")},r=${fields.r}`;
  const authMessage = `${bare},${serverFirst},${withoutProof}`;
  const signature = createHmac("sha256", storedKey).update(authMessage).digest();
  const proof = clientKey.map((byte, i) => byte ^ signature[i]);
  await irc.write(`AUTHENTICATE ${b64(`${withoutProof},p=${b64(proof)}`)}\r\n`);
  const serverFinal = unb64(
    (await irc.until((line) => line.startsWith("AUTHENTICATE "))).slice(13),
  );
  const serverKey = createHmac("sha256", salted).update("Server Key").digest();
  assertEquals(
    serverFinal,
    `v=${createHmac("sha256", serverKey).update(authMessage).digest("base64")}`,
  );
  await irc.write("AUTHENTICATE +\r\n");
  return await irc.until((line) => / 90[34] /.test(line));
}

test("irc accounts: NickServ's account survives a restart on --db; SCRAM and /login log in to it; account-tag", async () => {
  const dir = await Deno.makeTempDir({ prefix: "chat-irc-accounts-" });
  const db = `${dir}/chat.db`;
  try {
    {
      await using server = await quietServer({ db, hashCost: CHEAP, irc: 0, ircName: "irc.test" });
      using irc = await LineClient.connect({ addr: server.ircAddr! });
      await irc.write("NICK ann\r\nUSER a 0 * :Ann\r\n");
      await irc.until((line) => / 422 /.test(line));
      await irc.write("PRIVMSG NickServ :REGISTER sesame\r\n");
      assertEquals(await irc.line(), ":NickServ!NickServ@services NOTICE ann :Account created\r");
      assertMatch(
        await irc.line(),
        /^:irc\.test 900 ann ann!a@\S+ ann :You are now logged in as ann\r$/,
      );
    }
    await using server = await quietServer({ db, hashCost: CHEAP, irc: 0, ircName: "irc.test" });
    using watcher = await LineClient.connect({ addr: server.ircAddr! });
    await watcher.write(
      "CAP REQ :account-tag\r\nNICK bob\r\nUSER b 0 * :Bob\r\nCAP END\r\nJOIN #lobby\r\n",
    );
    await watcher.until((line) => / 366 /.test(line));
    using irc = await LineClient.connect({ addr: server.ircAddr! });
    await irc.write("CAP REQ :sasl\r\n");
    assertMatch(await scram(irc, "ann", "sesame"), / 903 \* :SASL authentication successful\r$/);
    await irc.write(
      "NICK ann\r\nUSER a 0 * :Ann\r\nCAP END\r\nJOIN #lobby\r\nPRIVMSG #lobby :back\r\n",
    );
    assertMatch(
      await watcher.until((line) => line.includes("PRIVMSG")),
      /^@account=ann :ann!a@\S+ PRIVMSG #lobby :back\r$/,
    );
    // The same account from the text protocol: a wrong password, then the right one.
    using nc = await LineClient.join(server, "guest");
    await nc.write("/login ann wrong\n");
    assertEquals(await nc.line(), say.wrongPassword("ann"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
