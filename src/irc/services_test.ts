/**
 * Tests of accounts on IRC, in memory: SASL PLAIN and SCRAM-SHA-256 (before and after
 * registration, chunks, bad input, throttles), NickServ, draft/account-registration,
 * account-tag, account-notify, extended-join, WHOIS 330 and WHOX `%a`.
 *
 * @module
 */

import {
  deepStrictEqual as assertEquals,
  match as assertMatch,
  ok as assert,
} from "node:assert/strict";
import { Buffer } from "node:buffer";
import { createHash, createHmac, pbkdf2Sync } from "node:crypto";
import { IrcFront, type IrcOptions, IrcSession } from "./irc.ts";
import { Cloaks } from "../core/cloak.ts";
import {
  type Account,
  type AccountPolicy,
  Accounts,
  DEFAULT_POLICY,
  MemoryAccountStore,
} from "../core/accounts.ts";
import { eventually, MemoryConnection, MemoryHub, test } from "../../tests/test_util.ts";
import { toJson } from "../json/render.ts";
import { JsonSession } from "../json/session.ts";
import { Cluster, type Envelope } from "../cluster/cluster.ts";
import { nameKey } from "../core/protocol.ts";
import { ChunkGatherer, decodeBase64, parsePlain, PAYLOAD_MAX } from "./sasl.ts";
import { JsonClient } from "../json/json_test_util.ts";
import { lastIdAt } from "../core/read_markers.ts";
import { idOf } from "../core/ids.ts";

/** Hashes cheap enough for tests. */
const CHEAP = { n: 1 << 10, r: 8, p: 1, scramIterations: 16 };
const b64 = (text: string | Uint8Array) => Buffer.from(text).toString("base64");

/** A hub with cheap accounts and an IRC front-end, disposed together. */
class ServicesHub extends MemoryHub {
  readonly front: IrcFront;
  constructor(options: Partial<IrcOptions> = {}, policy: Partial<AccountPolicy> = {}) {
    super();
    this.accounts = new Accounts(this, new MemoryAccountStore(), {
      ...DEFAULT_POLICY,
      cost: CHEAP,
      ...policy,
    });
    this.front = new IrcFront(this, {
      serverName: "irc.test",
      pingInterval: 60_000,
      cloaks: new Cloaks("a test key, sixteen characters or more"),
      ...options,
    });
  }

  /** An IRC connection, not registered yet. */
  irc(): MemoryConnection {
    const conn = new MemoryConnection();
    conn.session = this.connect(conn, this.front.session(conn))!;
    return conn;
  }

  /** Sends `lines` on `conn`, waits for the account work they start; the lines that came. */
  async send(conn: MemoryConnection, ...lines: string[]): Promise<string[]> {
    conn.say(...lines);
    await this.accounts.idle();
    return conn.take().map((line) => line.replace(/\r$/, ""));
  }

  /** An IRC client registered as `nick` with `caps`, its welcome taken. */
  async ircMember(nick: string, ...caps: string[]): Promise<MemoryConnection> {
    const conn = this.irc();
    const lines = [`NICK ${nick}`, `USER ${nick} 0 * :${nick} here`];
    if (caps.length > 0) lines.unshift(`CAP REQ :${caps.join(" ")}`), lines.push("CAP END");
    const got = await this.send(conn, ...lines);
    if (!got.some((line) => / 422 /.test(line))) throw new Error(got.join(" | "));
    return conn;
  }

  /** An account `name` with `password`, made by NickServ from a connection that then quits. */
  async account(name: string, password: string): Promise<void> {
    const conn = await this.ircMember(name);
    const got = await this.send(conn, `NS REGISTER ${password}`);
    assertEquals(got[0], `:NickServ!NickServ@services NOTICE ${name} :Account created`);
    conn.say("QUIT");
  }

  override [Symbol.dispose](): void {
    this.front.close();
    super[Symbol.dispose]();
  }
}

/** Each line's command or numeric (after its source, if it has one). */
const commands = (lines: string[]) =>
  lines.map((line) => line.split(" ")[line.startsWith(":") ? 1 : 0]);

test("sasl: CAP LS 302 offers sasl=PLAIN,SCRAM-SHA-256; PLAIN before registration logs in (900, 903)", async () => {
  using hub = new ServicesHub();
  await hub.account("jilles", "sesame");
  const conn = hub.irc();
  const [ls] = await hub.send(conn, "CAP LS 302");
  assertMatch(ls, / sasl=PLAIN,SCRAM-SHA-256 /);
  assertMatch(ls, / account-tag /);
  assert(!/draft\/account-registration=/.test(ls), "before-connect is not offered by default");
  assertEquals(await hub.send(conn, "CAP REQ sasl", "AUTHENTICATE PLAIN"), [
    ":irc.test CAP * ACK :sasl",
    "AUTHENTICATE +",
  ]);
  const got = await hub.send(conn, `AUTHENTICATE ${b64("\0jilles\0sesame")}`);
  assertMatch(got[0], /^:irc\.test 900 \* \*!~u@\S+ jilles :You are now logged in as jilles$/);
  assertEquals(got[1], ":irc.test 903 * :SASL authentication successful");
  assertEquals(conn.session.account, nameKey("jilles"));
  // Logged in before registration: once is enough (907); any nick will do, not only its own.
  assertEquals(commands(await hub.send(conn, "AUTHENTICATE PLAIN")), ["907"]);
  const welcome = await hub.send(conn, "NICK bar", "USER b 0 * :B", "CAP END");
  assert(welcome.some((line) => / 001 bar /.test(line)), welcome.join("|"));
  // After registration one may log in again (sasl-3.2).
  assertEquals(await hub.send(conn, "AUTHENTICATE PLAIN"), ["AUTHENTICATE +"]);
  assertEquals(
    commands(await hub.send(conn, `AUTHENTICATE ${b64("jilles\0jilles\0sesame")}`)),
    ["900", "903"],
  );
});

test("sasl: a wrong password, a bad payload, a long chunk, an abort, an unknown mechanism: 904/905/906/908, never a crash", async () => {
  using hub = new ServicesHub();
  await hub.account("jilles", "sesame");
  const conn = hub.irc();
  const attempt = async (...payload: string[]) =>
    commands(
      await hub.send(conn, "AUTHENTICATE PLAIN", ...payload.map((p) => `AUTHENTICATE ${p}`)),
    );
  assertEquals(await attempt(b64("\0jilles\0millet")), ["AUTHENTICATE", "904"]);
  assertEquals(await attempt("!!!"), ["AUTHENTICATE", "904"]); // not base64
  assertEquals(await attempt("amlsbGVz="), ["AUTHENTICATE", "904"]); // bad padding
  assertEquals(await attempt(b64("\0\0sesame")), ["AUTHENTICATE", "904"]); // empty authcid
  assertEquals(await attempt(b64("\0jilles\0")), ["AUTHENTICATE", "904"]); // empty password
  assertEquals(await attempt(b64("other\0jilles\0sesame")), ["AUTHENTICATE", "904"]); // acting as another
  assertEquals(await attempt(b64("\0jilles\0ses\0ame")), ["AUTHENTICATE", "904"]); // NUL in it
  assertEquals(await attempt(b64(new Uint8Array([0, 0xff, 0, 0xfe]))), ["AUTHENTICATE", "904"]);
  assertEquals(await attempt("A".repeat(401)), ["AUTHENTICATE", "905"]);
  assertEquals(await attempt("*"), ["AUTHENTICATE", "906"]);
  assertEquals(await attempt("+"), ["AUTHENTICATE", "904"]); // an empty message
  // Endless 400-byte chunks: refused once the payload passes its bound, nothing kept.
  const chunks = Array.from({ length: PAYLOAD_MAX / 400 + 1 }, () => "A".repeat(400));
  assertEquals(await attempt(...chunks), ["AUTHENTICATE", "904"]);
  assertEquals(commands(await hub.send(conn, "AUTHENTICATE FOO")), ["908", "904"]);
  assertEquals(commands(await hub.send(conn, "AUTHENTICATE *")), ["906"]);
  // Nothing logged in, and right after it all, the right password still works.
  assertEquals(conn.session.account, null);
  assertEquals(
    await attempt(b64("jilles\0jilles\0sesame").slice(0, 400)).then((got) => got.slice(1)),
    ["900", "903"],
  );
});

test("sasl: a payload in 400-byte chunks, ended by + when the last one is full", async () => {
  using hub = new ServicesHub();
  const password = "x".repeat(592); // 600 bytes with the names: 800 of base64
  await hub.account("foo", password);
  const conn = hub.irc();
  const whole = b64(`foo\0foo\0${password}`);
  assertEquals(whole.length, 800);
  assertEquals(await hub.send(conn, "AUTHENTICATE PLAIN", `AUTHENTICATE ${whole.slice(0, 400)}`), [
    "AUTHENTICATE +",
  ]);
  assertEquals(await hub.send(conn, `AUTHENTICATE ${whole.slice(400)}`), []); // a full chunk: more
  assertEquals(commands(await hub.send(conn, "AUTHENTICATE +")), ["900", "903"]);
  const gatherer = new ChunkGatherer();
  assertEquals(gatherer.add("abc"), { payload: "abc" });
  assertEquals(gatherer.add("+"), { payload: "" });
  assertEquals(decodeBase64("YQ"), null, "padding is required");
  assertEquals(parsePlain(new TextEncoder().encode("a\0b\0c"), (x, y) => x === y), null);
});

test("sasl: registration during SASL aborts it (906) and registers as a guest", async () => {
  using hub = new ServicesHub();
  const conn = hub.irc();
  await hub.send(conn, "CAP REQ sasl", "AUTHENTICATE PLAIN");
  const got = await hub.send(conn, "NICK reg", "USER r 0 * :R", "CAP END");
  assertEquals(commands(got).slice(0, 2), ["906", "001"]);
  assertEquals(conn.session.account, null);
});

/** A SCRAM-SHA-256 client's side (RFC 5802), to drive the server's. */
function scramClient(user: string, password: string, nonce = "rOprNGfwEbeRWgbNEkqO") {
  const gs2 = "n,,";
  const bare = `n=${user},r=${nonce}`;
  return {
    first: gs2 + bare,
    final(serverFirst: string, tamper?: { nonce?: string; binding?: string }) {
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
      const withoutProof = `c=${tamper?.binding ?? b64(gs2)},r=${tamper?.nonce ?? fields.r}`;
      const authMessage = `${bare},${serverFirst},${withoutProof}`;
      const signature = createHmac("sha256", storedKey).update(authMessage).digest();
      const proof = clientKey.map((byte, i) => byte ^ signature[i]);
      const serverKey = createHmac("sha256", salted).update("Server Key").digest();
      const expected = createHmac("sha256", serverKey).update(authMessage).digest("base64");
      return { message: `${withoutProof},p=${b64(proof)}`, serverFinal: `v=${expected}` };
    },
  };
}

const payloadOf = (line: string) => Buffer.from(line.split(" ")[1], "base64").toString();

test("sasl: SCRAM-SHA-256: the stored salt and iterations, the proof checked, the server's signature right", async () => {
  using hub = new ServicesHub();
  await hub.account("Scramtest", "sesame");
  const conn = hub.irc();
  const client = scramClient("Scramtest", "sesame");
  assertEquals(await hub.send(conn, "AUTHENTICATE SCRAM-SHA-256"), ["AUTHENTICATE +"]);
  const [first] = await hub.send(conn, `AUTHENTICATE ${b64(client.first)}`);
  const serverFirst = payloadOf(first);
  assertMatch(serverFirst, /^r=rOprNGfwEbeRWgbNEkqO\S+,s=\S+,i=16$/);
  const { message, serverFinal } = client.final(serverFirst);
  const [last] = await hub.send(conn, `AUTHENTICATE ${b64(message)}`);
  assertEquals(payloadOf(last), serverFinal);
  assertEquals(conn.session.account, null, "not before the client's +");
  assertEquals(commands(await hub.send(conn, "AUTHENTICATE +")), ["900", "903"]);
  assertEquals(conn.session.account, nameKey("Scramtest")); // its key: "rn" folds as "m" does
});

test("sasl: SCRAM-SHA-256 fails (904) on a wrong password, a nonce or binding mismatch, an unknown account", async () => {
  using hub = new ServicesHub();
  await hub.account("Scramtest", "sesame");
  const conn = hub.irc();
  const run = async (
    user: string,
    password: string,
    tamper?: { nonce?: string; binding?: string },
  ) => {
    const client = scramClient(user, password);
    await hub.send(conn, "AUTHENTICATE SCRAM-SHA-256");
    const [first] = await hub.send(conn, `AUTHENTICATE ${b64(client.first)}`);
    return commands(
      await hub.send(conn, `AUTHENTICATE ${b64(client.final(payloadOf(first), tamper).message)}`),
    );
  };
  const failures = hub.accounts.counts.failed;
  assertEquals(await run("Scramtest", "millet"), ["904"]);
  assertEquals(hub.accounts.counts.failed, failures + 1, "a wrong proof counts as a failure");
  assertEquals(await run("Scramtest", "sesame", { nonce: "rOprNGfwEbeRWgbNEkqOother" }), ["904"]);
  assertEquals(await run("Scramtest", "sesame", { binding: b64("y,,") }), ["904"]);
  assertEquals(await run("nobody", "sesame"), ["904"]); // the same exchange, the same failure
  assertEquals(
    commands(
      await hub.send(
        conn,
        "AUTHENTICATE SCRAM-SHA-256",
        `AUTHENTICATE ${b64("p=tls-unique,,n=a,r=x")}`,
      ),
    ),
    ["AUTHENTICATE", "904"],
  );
  assertEquals(conn.session.account, null);
});

test("sasl: failures are throttled per account: after five, a 904 that says to wait", async () => {
  using hub = new ServicesHub();
  await hub.account("jilles", "sesame");
  const conn = hub.irc();
  const wrong = `AUTHENTICATE ${b64("\0jilles\0millet")}`;
  for (let i = 0; i < 6; i++) await hub.send(conn, "AUTHENTICATE PLAIN", wrong);
  const got = await hub.send(conn, "AUTHENTICATE PLAIN", `AUTHENTICATE ${b64("\0jilles\0sesame")}`);
  assertMatch(
    got[1],
    / 904 \* :SASL authentication failed: too many failures, try again in \d+ s$/,
  );
  assertEquals(conn.session.account, null);
  assertEquals(hub.accounts.counts.throttled, 1);
});

test("nickserv: REGISTER, IDENTIFY, LOGOUT, INFO, DROP, by NS, NICKSERV and PRIVMSG NickServ", async () => {
  using hub = new ServicesHub();
  const ann = await hub.ircMember("ann");
  const ns = (text: string) => `:NickServ!NickServ@services NOTICE ann :${text}`;
  const registered = await hub.send(ann, "NS REGISTER pw ann@example.org");
  assertEquals(registered[0], ns("Account created"));
  assertMatch(registered[1], /^:irc\.test 900 ann ann!ann@\S+ ann :You are now logged in as ann$/);
  assertEquals(await hub.send(ann, "NS REGISTER pw"), [ns("You're already logged in as ann")]);
  const out = await hub.send(ann, "NICKSERV LOGOUT");
  assertEquals(out[0], ns("You're now logged out"));
  assertMatch(out[1], / 901 ann ann!ann@\S+ :You are now logged out$/);
  assertEquals(await hub.send(ann, "NS LOGOUT"), [ns("You're not logged in")]);
  assertEquals(await hub.send(ann, "NS IDENTIFY wrong"), [ns("Invalid password for ann")]);
  assertEquals(await hub.send(ann, "NS IDENTIFY nobody pw"), [ns("There is no account nobody")]);
  const back = await hub.send(ann, "PRIVMSG NickServ :IDENTIFY ann pw");
  assertEquals(back[0], ns("You're now logged in as ann"));
  assertEquals(commands(back.slice(1)), ["900"]);
  const info = await hub.send(ann, "NS INFO");
  assertEquals(info[0], ns("Account: ann"));
  assertMatch(info[1], /Registered: \d{4}-\d\d-\d\dT/);
  assertEquals(await hub.send(ann, "NS FROB"), [ns("Unknown command FROB: try HELP")]);
  assertEquals(await hub.send(ann, "NS DROP"), [ns("Syntax: DROP password")]);
  const dropped = await hub.send(ann, "NS DROP pw");
  assertEquals(dropped[0], ns("Account ann has been dropped"));
  assertEquals(commands(dropped.slice(1)), ["901"]);
  assert(!hub.accounts.isRegistered("ann"));
  assertEquals(await hub.send(ann, "NS INFO ann"), [ns("There is no account ann")]);
  // The password is never logged.
  assert(!hub.logged.some((line) => line.includes(" pw")), hub.logged.join("\n"));
});

test("account-registration: REGISTER after connecting; another name refused; before connecting only when allowed", async () => {
  using hub = new ServicesHub();
  const bar = await hub.ircMember("bar");
  assertEquals(await hub.send(bar, "REGISTER foo * pw"), [
    ":irc.test FAIL REGISTER ACCOUNT_NAME_MUST_BE_NICK foo :The account name must be your nick",
  ]);
  const ok = await hub.send(bar, "REGISTER * * pw");
  assertEquals(ok[0], ":irc.test REGISTER SUCCESS bar :Account bar registered");
  assertEquals(commands(ok.slice(1)), ["900"]);
  const early = hub.irc();
  assertEquals(await hub.send(early, "NICK baz", "REGISTER * * pw"), [
    ":irc.test FAIL REGISTER COMPLETE_CONNECTION_REQUIRED * :Complete connection registration (NICK, USER, CAP END) first",
  ]);
  using open = new ServicesHub({ registerBeforeConnect: true });
  const first = open.irc();
  const [ls] = await open.send(first, "CAP LS 302");
  assertMatch(ls, / draft\/account-registration=before-connect /);
  assertEquals(await open.send(first, "NICK baz", "REGISTER * * pw"), [
    ":irc.test REGISTER SUCCESS baz :Account baz registered",
  ]);
  // A nick someone holds cannot be registered from under them.
  await open.ircMember("root");
  const grab = open.irc();
  const got = await open.send(grab, "NICK root", "REGISTER * * pw");
  assertEquals(got[1], ":irc.test FAIL REGISTER ACCOUNT_EXISTS root :Account root already exists");
  const bad = open.irc();
  assertEquals(
    (await open.send(bad, "NICK a*b", "REGISTER * * pw"))[1],
    ":irc.test FAIL REGISTER BAD_ACCOUNT_NAME a*b :a*b cannot be an account name",
  );
  assertEquals(await open.send(open.irc(), "REGISTER * * pw"), [
    ":irc.test FAIL REGISTER NEED_NICK * :Choose a nick first",
  ]);
  assertEquals(await open.send(grab, "VERIFY root 123").then((l) => l[0].split(" ").slice(1, 4)), [
    "FAIL",
    "VERIFY",
    "INVALID_CODE",
  ]);
});

test("account-tag, account-notify, extended-join, WHOIS 330, WHOX %a; JSON shows the account", async () => {
  using hub = new ServicesHub();
  await hub.account("jilles", "sesame");
  const foo = await hub.ircMember("foo", "account-tag", "account-notify", "extended-join");
  const plainFoo = await hub.ircMember("plain");
  const bar = await hub.ircMember("bar");
  await hub.send(foo, "JOIN #chan");
  await hub.send(plainFoo, "JOIN #chan");
  foo.take();
  const joined = await hub.send(bar, "JOIN #chan");
  assertMatch(foo.take()[0], /^:bar!bar@\S+ JOIN #chan \* :bar here\r$/);
  assertMatch(plainFoo.take()[0], /^:bar!bar@\S+ JOIN #chan\r$/);
  assert(joined.length > 0);
  await hub.send(bar, "NS IDENTIFY jilles sesame");
  assertMatch(foo.take()[0], /^:bar!bar@\S+ ACCOUNT jilles\r$/);
  assertEquals(plainFoo.take(), []);
  await hub.send(bar, "PRIVMSG #chan :hi", "PRIVMSG foo :psst");
  const tagged = foo.take();
  assertMatch(tagged[0], /^@account=jilles :bar!bar@\S+ PRIVMSG #chan :hi\r$/);
  assertMatch(tagged[1], /^@account=jilles :bar!bar@\S+ PRIVMSG foo :psst\r$/);
  assertMatch(plainFoo.take()[0], /^:bar!bar@\S+ PRIVMSG #chan :hi\r$/);
  const whois = await hub.send(foo, "WHOIS bar", "WHO bar %na", "WHO plain %na");
  assert(whois.includes(":irc.test 330 foo bar jilles :is logged in as"), whois.join("|"));
  assert(whois.includes(":irc.test 354 foo bar :jilles"), whois.join("|"));
  assert(whois.includes(":irc.test 354 foo plain :0"), whois.join("|"));
  await hub.send(bar, "NS LOGOUT");
  assertMatch(foo.take()[0], /^:bar!bar@\S+ ACCOUNT \*\r$/);
  const json = toJson({
    type: "chat",
    time: 0,
    message: {
      kind: "message",
      from: "bar",
      room: "chan",
      text: "hi",
      time: 0,
      id: "x",
      account: "jilles",
    },
  });
  assertEquals(json.account, "jilles");
});

test("account-notify from every front-end: text /register, /logout, /login, /unregister, a login at the name prompt", async () => {
  using hub = new ServicesHub();
  const watcher = await hub.ircMember("foo", "account-notify");
  const plain = await hub.ircMember("bar");
  await hub.send(watcher, "JOIN #lobby");
  await hub.send(plain, "JOIN #lobby");
  const ann = hub.member("ann");
  const told = async (line: string) => {
    ann.say(line);
    await hub.accounts.idle();
    ann.take();
    assertEquals(plain.take(), []); // no account-notify, no ACCOUNT
    return watcher.take().map((got) => got.replace(/\r$/, ""));
  };
  watcher.take();
  plain.take();
  assertEquals(await told("/register pw"), [":ann!ann@chat ACCOUNT ann"]);
  assertEquals(await told("/logout"), [":ann!ann@chat ACCOUNT *"]);
  assertEquals(await told("/login ann pw"), [":ann!ann@chat ACCOUNT ann"]);
  assertEquals(await told("/login ann pw"), []); // refused (already): nothing changed
  assertEquals(await told("/unregister pw"), [":ann!ann@chat ACCOUNT *"]);
  // A login at the name prompt: the member comes in logged in (extended-join
  // says so); a /login that renames says ACCOUNT from the old name, then NICK.
  assertEquals(await told("/register pw"), [":ann!ann@chat ACCOUNT ann"]);
  ann.say("/quit");
  watcher.take();
  const again = hub.open();
  again.say("ann", "pw");
  await hub.accounts.idle();
  assertEquals(watcher.take().map((got) => got.replace(/\r$/, "")), [":ann!ann@chat JOIN #lobby"]);
  again.say("/logout", "/nick nan");
  await hub.accounts.idle();
  watcher.take();
  again.say("/login ann pw");
  await hub.accounts.idle();
  assertEquals(watcher.take().map((got) => got.replace(/\r$/, "")), [
    ":nan!nan@chat ACCOUNT ann",
    ":nan!nan@chat NICK ann",
  ]);
});

test("account-notify for the page's account area: its /register, /logout and /login lines", async () => {
  using hub = new ServicesHub();
  const watcher = await hub.ircMember("foo", "account-notify");
  await hub.send(watcher, "JOIN #lobby");
  // The page's socket in memory: what it is sent is the JSON tests' concern, not this one's.
  const page = Object.assign(new MemoryConnection(), { wholeMessages: false });
  const session = hub.connect(page, new JsonSession(hub, page, 65536))!;
  const send = async (message: Record<string, unknown>) => {
    session.receive(new TextEncoder().encode(JSON.stringify(message)));
    await hub.accounts.idle();
    return watcher.take().map((line) => line.replace(/\r$/, ""));
  };
  assertEquals(await send({ type: "hello", name: "ann" }), [":ann!ann@chat JOIN #lobby"]);
  assertEquals(await send({ type: "line", text: "/register pw" }), [":ann!ann@chat ACCOUNT ann"]);
  assertEquals(await send({ type: "line", text: "/logout" }), [":ann!ann@chat ACCOUNT *"]);
  assertEquals(await send({ type: "line", text: "/login ann pw" }), [":ann!ann@chat ACCOUNT ann"]);
});

test("account changes reach an account's other IRC connections: 901 after a text /logout or a NickServ DROP, one ACCOUNT for the channel", async () => {
  using hub = new ServicesHub();
  const watcher = await hub.ircMember("foo", "account-notify");
  await hub.send(watcher, "JOIN #lobby");
  const text = hub.member("ann");
  text.say("/register pw");
  await hub.accounts.idle();
  const account = (await hub.accounts.account("ann"))!;
  /** One more IRC connection of ann, logged in before registering (as after SASL). */
  const ircOfAnn = async (user: string) => {
    const conn = hub.irc();
    hub.accounts.logIn(conn.session, account);
    const welcome = await hub.send(conn, "NICK ann", `USER ${user} 0 * :Ann`);
    assertEquals(commands(welcome).slice(-3), ["JOIN", "353", "366"]); // ann's channel
    assertEquals(conn.session.member, text.session);
    return conn;
  };
  const phone = await ircOfAnn("phone");
  watcher.take();
  text.take();
  // The terminal logs out: the member does, the phone is told 901, the channel once.
  text.say("/logout");
  await hub.accounts.idle();
  assertMatch(
    phone.take().join("|"),
    /^:irc\.test 901 ann ann!phone@\S+ :You are now logged out\r$/,
  );
  assertEquals(watcher.take(), [":ann!ann@chat ACCOUNT *\r"]);
  assertEquals(phone.session.account, null);
  text.say("/quit");
  phone.say("QUIT");
  // Two IRC connections logged in to ann; DROP on one: the other is logged out too (901).
  const first = await ircOfAnnAlone(hub, account);
  const second = hub.irc();
  hub.accounts.logIn(second.session, account);
  await hub.send(second, "NICK ann", "USER tablet 0 * :Ann");
  assertEquals(second.session.member, first.session);
  watcher.take();
  const dropped = await hub.send(first, "NS DROP pw");
  assertEquals(commands(dropped), ["NOTICE", "901"]);
  assertMatch(dropped[1], /^:irc\.test 901 ann ann!first@\S+ :You are now logged out$/);
  assertMatch(
    second.take().join("|"),
    /^:irc\.test 901 ann ann!tablet@\S+ :You are now logged out\r$/,
  );
  assertMatch(watcher.take().join("|"), /^:ann!first@\S+ ACCOUNT \*\r$/);
  assertEquals([first.session.account, second.session.account], [null, null]);
});

/** An IRC connection logged in to `account` as its only connection, in #lobby. */
async function ircOfAnnAlone(hub: ServicesHub, account: Account): Promise<MemoryConnection> {
  const conn = hub.irc();
  hub.accounts.logIn(conn.session, account);
  await hub.send(conn, "NICK ann", "USER first 0 * :Ann", "JOIN #lobby");
  return conn;
}

test("--require-account: a guest is refused at registration with FAIL ACCOUNT_REQUIRED; SASL first lets in", async () => {
  using hub = new ServicesHub({}, { requireAccount: true });
  await hub.accounts.create(hub.irc().session, "jilles", "sesame");
  const guest = hub.irc();
  const refused = await hub.send(guest, "NICK guest", "USER g 0 * :G");
  assertEquals(refused, [
    ":irc.test FAIL * ACCOUNT_REQUIRED :This server requires an account: log in with SASL (CAP REQ sasl, AUTHENTICATE) before CAP END",
  ]);
  const member = hub.irc();
  await hub.send(
    member,
    "CAP REQ sasl",
    "AUTHENTICATE PLAIN",
    `AUTHENTICATE ${b64("\0jilles\0sesame")}`,
  );
  const welcome = await hub.send(member, "NICK someone", "USER s 0 * :S", "CAP END");
  assert(welcome.some((line) => / 001 someone /.test(line)), welcome.join("|"));
});

test("nick protection: a registered nick without its login is asked to identify, then renamed to a guest", async () => {
  using hub = new ServicesHub({ nickTimeout: 50 });
  await hub.account("ann", "pw");
  const identify = ":NickServ!NickServ@services NOTICE ann :ann is a registered account: " +
    "log in with /msg NickServ IDENTIFY password within 1 s, or your nick will be changed";
  // One who does not log in: a refused NICK meanwhile does not restart the count.
  const impostor = hub.irc();
  const got = await hub.send(impostor, "NICK ann", "USER a 0 * :A");
  assertEquals(got.at(-1), identify);
  await hub.ircMember("bob");
  assertEquals(commands(await hub.send(impostor, "NICK bob")), ["433"]);
  const session = impostor.session;
  await eventually(() => session.name !== "ann");
  assertMatch(session.name!, /^Guest\d{5}$/);
  const renamed = impostor.take().map((line) => line.replace(/\r$/, ""));
  assertMatch(renamed[0], /^:ann!a@\S+ NICK Guest\d{5}$/);
  assertEquals(
    renamed[1],
    `:NickServ!NickServ@services NOTICE ${session.name} :You did not log in to ann in time: your nick was changed`,
  );
  // One who identifies in time keeps the nick.
  const owner = hub.irc();
  assertEquals((await hub.send(owner, "NICK ann", "USER a 0 * :A")).at(-1), identify);
  await hub.send(owner, "NS IDENTIFY pw");
  await eventually(() => (owner.session as IrcSession).nickTimer === undefined);
  assertEquals(owner.session.name, "ann");
  // One logged in by SASL first is not asked.
  owner.say("QUIT");
  const sasl = hub.irc();
  await hub.send(sasl, "CAP REQ sasl", "AUTHENTICATE PLAIN", `AUTHENTICATE ${b64("\0ann\0pw")}`);
  const welcome = await hub.send(sasl, "NICK ann", "USER a 0 * :A", "CAP END");
  assert(!welcome.some((line) => line.includes("NickServ")), welcome.join("|"));
  assertEquals((sasl.session as IrcSession).nickTimer, undefined);
});

test("account-tag across a cluster: the account travels with the message, both ways", async () => {
  using hub = new ServicesHub();
  await hub.account("jilles", "sesame");
  const foo = await hub.ircMember("foo", "account-tag");
  const bar = await hub.ircMember("bar");
  await hub.send(bar, "NS IDENTIFY jilles sesame", "JOIN #chan");
  await hub.send(foo, "JOIN #chan");
  const sent: Envelope[] = [];
  const cluster = new Cluster(hub);
  cluster.bus = {
    connected: true,
    send: (envelope) => sent.push(envelope),
    claim: () => Promise.resolve(true),
  };
  hub.cluster = cluster;
  await hub.send(bar, "PRIVMSG #chan :hi");
  const published = sent.find((envelope) => envelope.t === "msg");
  assertEquals(published?.t === "msg" && published.m.account, "jilles");
  foo.take();
  const message = { kind: "message" as const, from: "zed", room: "chan", text: "yo", time: 0 };
  cluster.receive({
    t: "msg",
    k: "chan",
    m: { ...message, id: "r1", account: "zed" },
    o: "other",
    s: 1,
  });
  assertEquals(foo.take(), ["@account=zed :zed!zed@chat PRIVMSG #chan :yo\r"]);
});

test("sasl: a full hash queue is a 904 that says the server is busy", async () => {
  using hub = new ServicesHub({}, { perAddress: 0 }); // every hash refused at the door
  await hub.accounts.store.create({
    key: nameKey("jilles"),
    name: "jilles",
    created: 0,
    password: { scheme: "scrypt", n: 1024, r: 8, p: 1, salt: "", hash: "" },
    scram: { salt: "", iterations: 16, storedKey: "", serverKey: "" },
  });
  await hub.accounts.load();
  const conn = hub.irc();
  const got = await hub.send(conn, "AUTHENTICATE PLAIN", `AUTHENTICATE ${b64("\0jilles\0x")}`);
  assertEquals(
    got[1],
    ":irc.test 904 * :SASL authentication failed: the server is busy, try again shortly",
  );
  assertEquals(hub.accounts.counts.busy, 1);
});

test("sasl: 3,000 random AUTHENTICATE lines in any order get numerics, never an internal error", async () => {
  using hub = new ServicesHub();
  await hub.account("jilles", "sesame");
  // Registered, so that one may log in again and again (before registration, once: 907).
  const conn = await hub.ircMember("fuzz");
  const pieces = [
    "PLAIN",
    "SCRAM-SHA-256",
    "plain",
    "EXTERNAL",
    "+",
    "*",
    "!!!",
    "=",
    "A".repeat(400),
    "A".repeat(401),
    b64("\0jilles\0sesame"),
    b64("\0jilles\0wrong"),
    b64("n,,n=jilles,r=abc"),
    b64("n,,n=nobody,r=abc"),
    b64("p=x,,n=jilles,r=abc"),
    b64("c=biws,r=abc,p=" + b64(new Uint8Array(32))),
    b64("c=biws,r=abc,p=AAAA"),
    b64(new Uint8Array([0xff, 0xfe, 0, 1])),
    "",
  ];
  let seed = 20;
  const random = (n: number) => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n;
  const lines: string[] = [];
  for (let i = 0; i < 3000; i++) lines.push(`AUTHENTICATE ${pieces[random(pieces.length)]}`);
  const got = await hub.send(conn, ...lines);
  const seen = new Set(commands(got));
  for (const numeric of ["900", "903", "904", "905", "906", "908"]) {
    assert(seen.has(numeric), numeric);
  }
  const bad = got.filter((line) =>
    !/^(AUTHENTICATE \S+|:irc\.test (90\d|461) fuzz .*|:fuzz!\S+ ACCOUNT \S+)$/.test(line)
  );
  assertEquals(bad, []);
  assert(!hub.logged.some((line) => /error/i.test(line)), hub.logged.join("\n"));
  assertEquals(conn.closed, undefined, "still connected");
});

test("histserv: SEARCH finds your channel's lines (not another's), newest first, as NOTICEs", async () => {
  using hub = new ServicesHub();
  const ann = await hub.ircMember("ann");
  const bob = await hub.ircMember("bob");
  await hub.send(bob, "JOIN #hideout", "PRIVMSG #hideout :deploy secret");
  await hub.send(
    ann,
    "JOIN #dev",
    "PRIVMSG #dev :deploy at noon",
    "PRIVMSG #dev :\x01ACTION deploys\x01",
  );
  const from = ":HistServ!HistServ@services NOTICE ann :";
  const got = await hub.send(ann, "HS SEARCH deploy");
  assertEquals(got[0], `${from}2 lines found for "deploy", newest first`);
  assertMatch(
    got[1],
    /^:HistServ!HistServ@services NOTICE ann :\[\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\] #dev \* ann deploys$/,
  );
  assertMatch(got[2], / #dev <ann> deploy at noon$/);
  assertEquals(got.slice(3), [`${from}End of search`]);
  assertEquals(await hub.send(ann, "PRIVMSG HistServ :SEARCH secret"), [
    `${from}No lines found for "secret"`,
    `${from}End of search`,
  ]);
  assertEquals(await hub.send(ann, "HISTSERV SEARCH", "HS FIND x"), [
    `${from}Usage: SEARCH <words>`,
    `${from}Unknown command FIND; HELP lists them`,
  ]);
  assertEquals((await hub.send(ann, "HS HELP")).length, 2);
});

test("read markers: MARKREAD by time reaches the account's JSON connection, and a JSON markRead its IRC one", async () => {
  using hub = new ServicesHub();
  await hub.account("ann", "sesame");
  const irc = await hub.ircMember("ann", "draft/read-marker");
  await hub.send(irc, "NS IDENTIFY sesame");
  const json = new JsonClient(hub);
  json.send({ type: "hello", name: "ann" });
  json.send({ type: "password", password: "sesame" });
  await hub.accounts.idle();
  json.take();
  irc.take(); // the JSON connection took the member into the lobby: IRC sees its JOIN
  const stamp = "2026-01-04T14:33:26.123Z";
  assertEquals(await hub.send(irc, `MARKREAD #dev timestamp=${stamp}`), [
    `:irc.test MARKREAD #dev timestamp=${stamp}`,
  ]);
  const time = Date.parse(stamp);
  assertEquals(json.take(), [
    { type: "readMarker", room: "dev", id: lastIdAt(time), read: stamp },
  ]);
  const later = idOf(time + 1000, 3, "x");
  json.send({ type: "markRead", room: "dev", id: later });
  assertEquals(json.take().length, 1);
  assertEquals(irc.take(), [":irc.test MARKREAD #dev timestamp=2026-01-04T14:33:27.123Z\r"]);
  // Refusals; a get with none kept.
  assertEquals(
    await hub.send(
      irc,
      "MARKREAD",
      "MARKREAD #dev *",
      "MARKREAD ##x timestamp=" + stamp,
      "MARKREAD bob",
    ),
    [
      ":irc.test FAIL MARKREAD NEED_MORE_PARAMS :Missing target",
      ":irc.test FAIL MARKREAD INVALID_PARAMS * :Invalid timestamp",
      ":irc.test FAIL MARKREAD INVALID_PARAMS ##x :Invalid target",
      ":irc.test MARKREAD bob *",
    ],
  );
  // A JOIN tells the channel's marker before 366.
  const joined = commands(await hub.send(irc, "JOIN #dev"));
  assert(joined.indexOf("MARKREAD") < joined.indexOf("366"), joined.join(" "));
  assertEquals(json.take().filter((o) => o.type === "readMarker"), []);
});
