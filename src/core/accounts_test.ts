/**
 * Pins accounts in memory, through the hub: the name prompt's password question,
 * every account command and its refusals, takeover attempts (the prompt, `/nick`,
 * lookalikes, IRC), throttling, the hash queue's bound, the server's policies, and
 * that no password reaches the log.
 *
 * @module
 */

import { deepStrictEqual as assertEquals, ok as assert, rejects } from "node:assert/strict";
import { type AccountPolicy, Accounts, DEFAULT_POLICY, MemoryAccountStore } from "./accounts.ts";
import {
  FailureThrottle,
  HashQueue,
  normalizePassword,
  QueueFull,
  scramVerifier,
  TrustedAddresses,
} from "./passwords.ts";
import { Buffer } from "node:buffer";
import { createHash, createHmac } from "node:crypto";
import { helloName, NAME_PROMPT, say } from "../text/protocol.ts";
import { TextSession } from "../text/session.ts";
import { MemoryConnection, MemoryHub, test } from "../../tests/test_util.ts";
import { IrcFront } from "../irc/irc.ts";

/** Hashes cheap enough for tests (the real cost is measured in the report, not here). */
const CHEAP = { n: 1 << 10, r: 8, p: 1, scramIterations: 16 };

/** A hub whose accounts hash cheaply, with `policy` over the defaults. */
function accountsHub(policy: Partial<AccountPolicy> = {}): MemoryHub {
  const hub = new MemoryHub();
  hub.accounts = new Accounts(hub, new MemoryAccountStore(), {
    ...DEFAULT_POLICY,
    cost: CHEAP,
    ...policy,
  });
  return hub;
}

/** A new connection from `remote`, greeted, its greeting taken. */
function connect(hub: MemoryHub, remote = "192.0.2.1:4000"): MemoryConnection {
  const conn = new MemoryConnection();
  (conn as { remote: string }).remote = remote;
  conn.session = hub.connect(conn, new TextSession(hub, conn))!;
  conn.take();
  return conn;
}

/** Sends `lines` and waits until the account work they started is done; returns what came. */
async function send(hub: MemoryHub, conn: MemoryConnection, ...lines: string[]) {
  conn.say(...lines);
  await hub.accounts.idle();
  return conn.take();
}

/** A member named `name` who has registered it with `password` (its lines taken). */
async function registered(hub: MemoryHub, name: string, password: string, remote?: string) {
  const conn = connect(hub, remote);
  conn.say(name);
  assertEquals(helloName(conn.take()[0]), name);
  await send(hub, conn, `/register ${password}`);
  return conn;
}

const WELCOME = /^-- Hello, /;

test("accounts: /register claims the name you hold; in memory the reply says it lasts until the server stops", async () => {
  using hub = accountsHub();
  const ann = connect(hub);
  ann.say("ann");
  ann.take();
  assertEquals(await send(hub, ann, "/register s3cret pass"), [
    "-- ann is now your account; log in with /login ann PASSWORD (accounts last until the server stops)",
  ]);
  assertEquals(ann.session.account, "ann");
  assert(hub.accounts.isRegistered("ANN"), "a lookalike spelling is the same account");
  assertEquals(await send(hub, ann, "/register again"), ["!! you are logged in as ann already"]);
  assertEquals(await send(hub, ann, "/register"), [say.usage("/register PASSWORD")]);
});

test("accounts: a registered name at the name prompt asks its password; wrong asks again, right lets in", async () => {
  using hub = accountsHub();
  (await registered(hub, "ann", "s3cret pass")).say("/quit");
  const again = connect(hub);
  assertEquals(await send(hub, again, "ann"), [say.passwordPrompt("ann")]);
  assertEquals(
    say.passwordPrompt("ann"),
    "-- ann is registered: type its password (an empty line picks another name)",
  );
  // A wrong password: the error and the question again; the name is not given.
  assertEquals(await send(hub, again, "guess"), [
    "!! wrong password for ann",
    say.passwordPrompt("ann"),
  ]);
  assertEquals(again.session.name, null);
  assertEquals(hub.memberName("ann"), undefined);
  // What looks like a command is a password here, too.
  assertEquals(await send(hub, again, "/quit"), [
    "!! wrong password for ann",
    say.passwordPrompt("ann"),
  ]);
  const lines = await send(hub, again, "s3cret pass");
  assert(WELCOME.test(lines[0]), lines[0]);
  assertEquals(again.session.name, "ann");
  assertEquals(again.session.account, "ann");
});

test("accounts: an empty line at the password question picks another name", async () => {
  using hub = accountsHub();
  (await registered(hub, "ann", "pw")).say("/quit");
  const guest = connect(hub);
  assertEquals(await send(hub, guest, "ann"), [say.passwordPrompt("ann")]);
  assertEquals(await send(hub, guest, ""), [NAME_PROMPT]);
  const lines = await send(hub, guest, "bob");
  assert(WELCOME.test(lines[0]), lines[0]);
  assertEquals(guest.session.account, null);
});

test("accounts: takeover attempts are refused: /nick, lookalikes, a taken name; IRC's NICK must identify", async () => {
  using hub = accountsHub();
  const front = new IrcFront(hub, { serverName: "irc.test", pingInterval: 60_000 });
  try {
    (await registered(hub, "ann", "pw")).say("/quit");
    const bob = hub.member("bob");
    assertEquals(await send(hub, bob, "/nick ann"), [say.nameRegistered("ann")]);
    assertEquals(await send(hub, bob, "/nick ANN"), [say.nameRegistered("ANN")]);
    assertEquals(await send(hub, bob, "/nick ａｎｎ"), [say.nameRegistered("ａｎｎ")]); // fullwidth
    // At the prompt a lookalike asks for the account's password.
    const cat = connect(hub);
    assertEquals(await send(hub, cat, "Ann"), [say.passwordPrompt("Ann")]);
    // While ann is here, her name is still asked for its password (the right one makes
    // one more connection of her: see multiclient_test.ts); a wrong one gets nothing.
    const ann = connect(hub);
    await send(hub, ann, "ann", "pw");
    assertEquals(ann.session.name, "ann");
    const dan = connect(hub);
    assertEquals(await send(hub, dan, "ann"), [say.passwordPrompt("ann")]);
    assertEquals(await send(hub, dan, "guess"), [
      "!! wrong password for ann",
      say.passwordPrompt("ann"),
    ]);
    assertEquals(await send(hub, dan, ""), [NAME_PROMPT]);
    // A guest holding a name is no account: its name is taken, before any password.
    hub.member("eve");
    assertEquals(await send(hub, dan, "eve"), [say.nameTaken("eve"), NAME_PROMPT]);
    // IRC: a registered nick is let in and asked to identify (renamed if it does not: see
    // src/irc/services_test.ts), as IRC servers with NickServ do.
    ann.say("/quit");
    const irc = new MemoryConnection();
    irc.session = hub.connect(irc, front.session(irc))!;
    irc.say("NICK ann", "USER a 0 * :A");
    const ircLines = irc.take();
    assert(
      ircLines.some((line) =>
        /^:NickServ!NickServ@services NOTICE ann :ann is a registered account/.test(line)
      ),
      ircLines.join("|"),
    );
    assertEquals(irc.session.account, null);
    irc.say("QUIT");
  } finally {
    front.close();
  }
});

test("accounts: /login NAME PASSWORD logs in and takes the name, before or after a name", async () => {
  using hub = accountsHub();
  (await registered(hub, "ann", "pw")).say("/quit");
  const guest = hub.member("guest");
  assertEquals(await send(hub, guest, "/login zed pw"), ["!! there is no account zed"]);
  assertEquals(await send(hub, guest, "/login ann nope"), ["!! wrong password for ann"]);
  assertEquals(await send(hub, guest, "/login ann"), [say.usage("/login NAME PASSWORD")]);
  assertEquals(await send(hub, guest, "/login ann pw"), [
    "-- You are logged in as ann",
    say.renamed("ann"),
  ]);
  assertEquals(guest.session.account, "ann");
  guest.say("/quit");
  // At the name prompt: straight in under the account's name, no name question after.
  const early = connect(hub);
  const lines = await send(hub, early, "/login ann pw");
  assert(WELCOME.test(lines[0]) && !lines.includes(NAME_PROMPT), lines.join(" | "));
  assertEquals(early.session.name, "ann");
  const late = connect(hub);
  assertEquals(await send(hub, late, "/login ann wrong"), [
    "!! wrong password for ann",
    NAME_PROMPT,
  ]);
});

test("accounts: /logout keeps the name; /password changes it; /unregister frees the name", async () => {
  using hub = accountsHub();
  const ann = await registered(hub, "ann", "old one");
  assertEquals(await send(hub, ann, "/logout"), [
    "-- You are logged out of ann; you keep your name until you leave or change it",
  ]);
  assertEquals(ann.session.name, "ann");
  assertEquals(await send(hub, ann, "/logout"), [say.notLoggedIn]);
  assertEquals(await send(hub, ann, "/password old one"), [say.notLoggedIn]);
  assertEquals(await send(hub, ann, "/unregister old one"), [say.notLoggedIn]);
  assertEquals(await send(hub, ann, "/register other"), [say.nameRegistered("ann")]);
  await send(hub, ann, "/login ann old one");
  assertEquals(await send(hub, ann, "/password wrong new"), ["!! wrong password for ann"]);
  assertEquals(await send(hub, ann, "/password nospace"), [say.usage("/password OLD NEW")]);
  // OLD is one word: a password with spaces is changed with /unregister and /register.
  await send(hub, ann, "/logout");
  assertEquals(await send(hub, ann, "/login ann old one"), ["-- You are logged in as ann"]);
  ann.say("/quit");
  // A one-word password to change.
  const bob = await registered(hub, "bob", "first");
  assertEquals(await send(hub, bob, "/password first second"), [
    "-- The password of bob is changed",
  ]);
  const other = hub.member("other");
  bob.take();
  assertEquals(await send(hub, other, "/login bob first"), ["!! wrong password for bob"]);
  assertEquals(await send(hub, bob, "/unregister first"), ["!! wrong password for bob"]);
  assertEquals(await send(hub, bob, "/unregister second"), [
    "-- The account bob is deleted; its name is free for anyone",
  ]);
  assertEquals(bob.session.account, null);
  assertEquals(hub.accounts.isRegistered("bob"), false);
  bob.say("/quit");
  other.take();
  assertEquals(await send(hub, other, "/nick bob"), [say.renamed("bob")]);
});

test("accounts: /who marks logged-in names with *, /whois says who is logged in", async () => {
  using hub = accountsHub();
  const ann = await registered(hub, "ann", "pw");
  const bob = hub.member("bob");
  ann.take();
  assertEquals(await send(hub, bob, "/who"), ["-- Online in lobby (2): ann*, bob"]);
  assertEquals(await send(hub, bob, "/whois ann", "/whois BOB", "/whois zed"), [
    "-- ann is in lobby, logged in as ann",
    "-- bob is in lobby, not logged in",
    say.noSuchMember("zed"),
  ]);
  await send(hub, ann, "/logout");
  assertEquals(await send(hub, bob, "/who"), ["-- Online in lobby (2): ann, bob"]);
});

test("accounts: bad passwords get a clear error: empty, over 1,024 bytes; NFKC makes fullwidth the same", async () => {
  using hub = accountsHub();
  const ann = hub.member("ann");
  assertEquals(await send(hub, ann, "/register    "), [say.usage("/register PASSWORD")]);
  assertEquals(await send(hub, ann, `/register ${"é".repeat(513)}`), [
    "!! a password is at most 1024 bytes",
  ]);
  assertEquals(normalizePassword(""), { reason: "a password cannot be empty" });
  assertEquals(normalizePassword("x".repeat(1024)), { password: "x".repeat(1024) });
  assertEquals(hub.accounts.isRegistered("ann"), false);
  // Registered in fullwidth letters, logged in with plain ones: NFKC makes them one.
  await send(hub, ann, "/register ｐａｓｓ");
  await send(hub, ann, "/logout");
  assertEquals(await send(hub, ann, "/login ann pass"), ["-- You are logged in as ann"]);
  // A Unicode password of many scripts works as it is.
  await send(hub, ann, "/password pass пароль密码🔑");
  await send(hub, ann, "/logout");
  assertEquals(await send(hub, ann, "/login ann пароль密码🔑"), ["-- You are logged in as ann"]);
});

test("accounts: wrong passwords are throttled per account, and per address, without hashing", async () => {
  using hub = accountsHub();
  (await registered(hub, "ann", "pw")).say("/quit");
  (await registered(hub, "bob", "pw")).say("/quit");
  const guest = connect(hub, "198.51.100.7:1");
  guest.say("guest");
  guest.take();
  for (let i = 0; i < 5; i++) {
    assertEquals(await send(hub, guest, "/login ann x"), ["!! wrong password for ann"]);
  }
  // The sixth failure starts a wait of 1 s; the attempt after it is refused unhashed.
  assertEquals(await send(hub, guest, "/login ann x"), ["!! wrong password for ann"]);
  const hashed = hub.accounts.counts.failed;
  assertEquals(await send(hub, guest, "/login ann pw"), [say.loginThrottled(1)]);
  assertEquals(hub.accounts.counts.failed, hashed, "no hash was run");
  // From another address too: the account is throttled, not only the address.
  const elsewhere = connect(hub, "203.0.113.9:2");
  elsewhere.say("elsewhere");
  elsewhere.take();
  assertEquals(await send(hub, elsewhere, "/login ann pw"), [say.loginThrottled(1)]);
  // Another account from the first address: the address is throttled too (past its 5).
  guest.take();
  assertEquals(await send(hub, guest, "/login bob pw"), [say.loginThrottled(1)]);
  // Another account from another address: not throttled.
  assertEquals(await send(hub, elsewhere, "/login bob pw"), [
    "-- You are logged in as bob",
    say.renamed("bob"),
  ]);
  // At the name prompt the throttled question is asked again.
  const late = connect(hub, "203.0.113.10:3");
  assertEquals(await send(hub, late, "ann", "pw"), [
    say.passwordPrompt("ann"),
    say.loginThrottled(1),
    say.passwordPrompt("ann"),
  ]);
});

test("accounts: FailureThrottle doubles the wait after the free failures, capped, and forgets", () => {
  const throttle = new FailureThrottle(2, 8_000, 60_000, 3);
  throttle.failed("a", 0);
  throttle.failed("a", 0);
  assertEquals(throttle.wait("a", 0), 0);
  throttle.failed("a", 0);
  assertEquals(throttle.wait("a", 0), 1000);
  throttle.failed("a", 0);
  assertEquals(throttle.wait("a", 0), 2000);
  for (let i = 0; i < 5; i++) throttle.failed("a", 0);
  assertEquals(throttle.wait("a", 0), 8000, "capped");
  assertEquals(throttle.wait("a", 60_001), 0, "forgotten when idle");
  throttle.failed("b", 0);
  throttle.succeeded("b");
  assertEquals(throttle.wait("b", 0), 0);
  for (const key of ["c", "d", "e", "f"]) {
    for (let i = 0; i < 3; i++) throttle.failed(key, 0);
  }
  assertEquals(throttle.wait("c", 0), 0, "the oldest key went, past maxKeys");
  assertEquals(throttle.wait("f", 0), 1000);
});

test("accounts: the hash queue runs a few at once, bounds what waits, and each address's share", async () => {
  const queue = new HashQueue(1, 1, 2);
  const gates: (() => void)[] = [];
  const job = () => new Promise<void>((resolve) => gates.push(resolve));
  const first = queue.run("a", job); // runs
  const second = queue.run("b", job); // waits
  await rejects(queue.run("c", job), QueueFull); // the queue is full
  assertEquals(queue.size, 2);
  assertEquals(gates.length, 1, "one at a time");
  gates.shift()!();
  await first;
  await Promise.resolve();
  assertEquals(gates.length, 1, "the waiting one runs next");
  gates.shift()!();
  await second;
  assertEquals(queue.size, 0);
  const mine = [queue.run("a", job), queue.run("a", job)];
  await rejects(queue.run("a", job), QueueFull); // the address's share is spent
  for (let i = 0; i < 2; i++) {
    while ((gates.length as number) === 0) await Promise.resolve();
    gates.shift()!();
    await mine[i];
  }
  assertEquals(queue.refused, 2);
});

test("accounts: when the hash queue is full a login is refused at once, and chat goes on", async () => {
  using hub = accountsHub({ concurrency: 1, queueLimit: 0 });
  (await registered(hub, "ann", "pw")).say("/quit");
  const one = connect(hub, "192.0.2.10:1");
  const two = connect(hub, "192.0.2.11:1");
  const chat = hub.member("chat");
  const other = hub.member("other");
  other.take();
  one.say("/login ann pw"); // hashing
  two.say("/login ann pw"); // nowhere to wait
  chat.say("still here"); // chat goes on meanwhile
  assertEquals(other.take(), ["chat: still here"]);
  await hub.accounts.idle();
  assertEquals(two.take(), [say.loginBusy, NAME_PROMPT]);
  assert(WELCOME.test(one.take()[0]));
  assertEquals(hub.accounts.counts.busy, 1);
});

test("accounts: --registration closed refuses /register; --require-account refuses guests", async () => {
  {
    using hub = accountsHub({ registration: "closed" });
    const ann = hub.member("ann");
    assertEquals(await send(hub, ann, "/register pw"), [
      "!! registration is closed here; ask an operator for an account",
    ]);
  }
  using hub = accountsHub({ requireAccount: true });
  const guest = connect(hub);
  assertEquals(await send(hub, guest, "zed"), [say.accountRequired("zed"), NAME_PROMPT]);
  // Open registration: an account is made at the prompt, and its name taken.
  const lines = await send(hub, guest, "/register zed pw");
  assertEquals(lines[0], say.registered("zed", false));
  assert(WELCOME.test(lines[1]), lines[1]);
  // IRC has no way to log in yet: on such a server its guests are refused too.
  const front = new IrcFront(hub, { serverName: "irc.test", pingInterval: 60_000 });
  try {
    const irc = new MemoryConnection();
    irc.session = hub.connect(irc, front.session(irc))!;
    irc.say("NICK yan", "USER y 0 * :Y");
    assert(!irc.take().some((line) => / 001 /.test(line)), "not welcomed");
    assertEquals(irc.session.name, null);
    irc.say("QUIT");
  } finally {
    front.close();
  }
  guest.say("/quit");
  const back = connect(hub);
  const again = await send(hub, back, "zed", "pw");
  assertEquals(again[0], say.passwordPrompt("zed"));
  assert(WELCOME.test(again[1]));
});

test("accounts: no password ever reaches the log, and none is told back", async () => {
  using hub = accountsHub();
  const secret = "hunter2-very-secret";
  const ann = await registered(hub, "ann", secret);
  const told = [...ann.take()];
  await send(hub, ann, `/password ${secret} ${secret}-2`);
  told.push(...await send(hub, ann, "/logout", `/login ann ${secret}`, `/login ann ${secret}-2`));
  ann.say("/quit");
  const guest = connect(hub);
  told.push(...await send(hub, guest, "ann", secret, `${secret}-2`));
  assertEquals(guest.session.name, "ann");
  assert(hub.logged.some((line) => line.includes("wrong password for ann")));
  assert(
    hub.logged.some((line) => line.includes("account ann: registered from 192.0.2.1:4000")),
    "the log says where an account was made from",
  );
  for (const line of [...hub.logged, ...told]) assert(!line.includes(secret), line);
});

test("accounts: the hash queue serves trusted addresses first, then clean ones, suspect ones last", async () => {
  const queue = new HashQueue(1, 10, 10);
  const order: string[] = [];
  const gates: (() => void)[] = [];
  const job = (name: string) => () =>
    new Promise<void>((resolve) =>
      gates.push(() => {
        order.push(name);
        resolve();
      })
    );
  const jobs = [
    queue.run("a", job("running")),
    queue.run("b", job("suspect 1"), "suspect"),
    queue.run("c", job("suspect 2"), "suspect"),
    queue.run("d", job("clean")),
    queue.run("e", job("trusted"), "trusted"),
  ];
  for (let i = 0; i < jobs.length; i++) {
    while ((gates.length as number) === 0) await Promise.resolve();
    gates.shift()!();
    await Promise.race(jobs.slice(i));
  }
  await Promise.all(jobs);
  assertEquals(order, ["running", "trusted", "clean", "suspect 1", "suspect 2"]);
});

test("accounts: an address that logged in is trusted for a while, at most so many kept", () => {
  const trusted = new TrustedAddresses(1000, 2);
  trusted.add("a", 0);
  assert(trusted.has("a", 1000));
  assert(!trusted.has("a", 1001), "forgotten");
  trusted.add("b", 0);
  trusted.add("c", 0);
  trusted.add("d", 0);
  assertEquals([trusted.has("b", 0), trusted.has("c", 0), trusted.has("d", 0)], [
    false,
    true,
    true,
  ]);
});

test("accounts: the SCRAM-SHA-256 verifier checks RFC 7677's example exchange", async () => {
  // RFC 7677 §3: user "user", password "pencil".
  const salt = Buffer.from("W22ZaJ0SNY7soEsUEjb6gQ==", "base64");
  const verifier = await scramVerifier("pencil", salt, 4096);
  const nonce = "rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
  const authMessage =
    `n=user,r=rOprNGfwEbeRWgbNEkqO,r=${nonce},s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096,` +
    `c=biws,r=${nonce}`;
  const proof = Buffer.from("dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=", "base64");
  // The server's check: ClientKey = proof XOR HMAC(StoredKey, AuthMessage); H(ClientKey) = StoredKey.
  const storedKey = Buffer.from(verifier.storedKey, "base64");
  const signature = createHmac("sha256", storedKey).update(authMessage).digest();
  const clientKey = proof.map((byte, i) => byte ^ signature[i]);
  assertEquals(createHash("sha256").update(clientKey).digest("base64"), verifier.storedKey);
  const serverSignature = createHmac("sha256", Buffer.from(verifier.serverKey, "base64"))
    .update(authMessage).digest("base64");
  assertEquals(serverSignature, "6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=");
});

test("accounts: authenticate answers any front-end with a typed result and tells the session nothing", async () => {
  using hub = accountsHub();
  (await registered(hub, "ann", "pw")).say("/quit");
  const irc = connect(hub, "192.0.2.50:1");
  const wrong = await hub.accounts.authenticate(irc.session, "ann", "ann", "nope");
  assertEquals(wrong, { ok: false, problem: { code: "wrongPassword", name: "ann" } });
  const right = await hub.accounts.authenticate(irc.session, "ann", "ann", "pw");
  assert(right.ok && right.account.name === "ann" && right.account.scram.iterations === 16);
  assertEquals(irc.take(), []);
  assertEquals(hub.accounts.throttled(irc.session, "ann"), 0);
  hub.accounts.logIn(irc.session, right.account);
  assertEquals(irc.session.account, "ann");
});

test("accounts: one address makes five accounts freely, then waits (another address does not)", async () => {
  using hub = accountsHub();
  for (let i = 1; i <= 5; i++) await registered(hub, `kept${i}`, "pass word");
  const sixth = await registered(hub, "kept6", "pass word");
  assertEquals(sixth.session.account, "kept6", "the sixth waits only for the seventh");
  const seventh = connect(hub);
  seventh.say("kept7");
  seventh.take();
  assertEquals(await send(hub, seventh, "/register pass word"), [
    "!! too many accounts made from your address lately; try again in 1 s",
  ]);
  assertEquals(seventh.session.account, null);
  assert(!hub.accounts.isRegistered("kept7"));
  const elsewhere = await registered(hub, "ada", "pass word", "198.51.100.7:4000");
  assertEquals(elsewhere.session.account, "ada");
  // At the name prompt, and through IRC's path (Accounts.create), the same count applies.
  const prompt = connect(hub);
  assertEquals(await send(hub, prompt, "/register kept8 pass word"), [
    "!! too many accounts made from your address lately; try again in 1 s",
    NAME_PROMPT,
  ]);
  const result = await hub.accounts.create(seventh.session, "kept7", "pass word");
  assertEquals(result, { ok: false, problem: { code: "registerThrottled", seconds: 1 } });
});

test("accounts: /register NAME at the prompt makes no account if someone takes the name while it hashes", async () => {
  using hub = accountsHub();
  const registrant = connect(hub);
  registrant.say("/register bob pass word");
  const guest = connect(hub, "198.51.100.7:4000");
  guest.say("bob"); // in first: the hash takes a while
  assertEquals(helloName(guest.take()[0]), "bob");
  await hub.accounts.idle();
  assertEquals(registrant.take(), [say.nameTaken("bob"), NAME_PROMPT]);
  assertEquals(registrant.session.account, null);
  assert(!hub.accounts.isRegistered("bob"), "no account the guest's name would be left under");
});
