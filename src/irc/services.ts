/**
 * Accounts on IRC: SASL (`AUTHENTICATE` with PLAIN and SCRAM-SHA-256), NickServ (`NS`,
 * `NICKSERV`, `PRIVMSG NickServ`), IRCv3 `draft/account-registration` (`REGISTER`,
 * `VERIFY`) and the lines that say who is logged in (900/901, `ACCOUNT`). The accounts
 * themselves, their throttles and the hash queue are the hub's (`src/core/accounts.ts`);
 * every wording of this part of IRC is here.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { randomBytes } from "node:crypto";
import type { Account } from "../core/accounts.ts";
import type { Event, Problem } from "../core/events.ts";
import { nameKey, roomKey } from "../core/protocol.ts";

/** A search's answer (see `Hub.search`). */
type SearchResultsEvent = Extract<Event, { type: "searchResults" }>;
import type { Session } from "../core/session.ts";
import { ircLine } from "./format.ts";
import type { IrcSession } from "./irc.ts";
import {
  ERR_SASLABORTED,
  ERR_SASLALREADY,
  ERR_SASLFAIL,
  ERR_SASLTOOLONG,
  RPL_LOGGEDIN,
  RPL_LOGGEDOUT,
  RPL_SASLMECHS,
  RPL_SASLSUCCESS,
} from "./numerics.ts";
import {
  CHUNK_MAX,
  ChunkGatherer,
  decodeBase64,
  decoyVerifier,
  parsePlain,
  parseScramFirst,
  SASL_MECHANISMS,
  scramFinal,
  type ScramServer,
  scramServerFirst,
} from "./sasl.ts";

/** NickServ's source on every line it sends (its name is reserved: no member may take it). */
export const NICKSERV = "NickServ!NickServ@services";
/** Where ChanServ's notices come from. */
export const CHANSERV = "ChanServ!ChanServ@services";

/** One SASL exchange under way on a session. */
export interface SaslExchange {
  readonly mechanism: (typeof SASL_MECHANISMS)[number];
  readonly chunks: ChunkGatherer;
  /** SCRAM: the server's state once it has sent its first message. */
  scram: ScramServer | null;
  /** SCRAM: the account (or `null` for a name that has none), once its verifier is read. */
  account: Account | null;
  /** SCRAM: the proof was right and the server's signature sent; the client's `+` ends it. */
  proved: boolean;
}

/** Salts of SCRAM decoys for names that are no account: the same for one name while up. */
const DECOY_SECRET = randomBytes(32);

/** Every sentence this part of IRC says, in one place. */
export const WORDS = {
  loggedIn: (account: string) => `You are now logged in as ${account}`,
  loggedOut: "You are now logged out",
  saslSuccess: "SASL authentication successful",
  saslFail: "SASL authentication failed",
  saslThrottled: (seconds: number) =>
    `SASL authentication failed: too many failures, try again in ${seconds} s`,
  saslBusy: "SASL authentication failed: the server is busy, try again shortly",
  saslTooLong: "SASL message too long",
  saslAborted: "SASL authentication aborted",
  saslAlready: "You have already authenticated using SASL",
  saslMechs: "are available SASL mechanisms",
  accountCreated: "Account created",
  identified: (account: string) => `You're now logged in as ${account}`,
  nsLoggedOut: "You're now logged out",
  dropped: (account: string) => `Account ${account} has been dropped`,
  info: (account: string, created: number) => [
    `Account: ${account}`,
    `Registered: ${new Date(created).toISOString()}`,
  ],
  nsHelp: [
    "NickServ keeps nicks for their owners. Commands:",
    "REGISTER password [email]: make your nick an account (email ignored)",
    "IDENTIFY [account] password: log in",
    "LOGOUT: log out",
    "INFO [account]: about an account",
    "DROP password: delete the account you are logged in to",
  ],
  nsUnknown: (command: string) => `Unknown command ${command}: try HELP`,
  csHelp: [
    "ChanServ holds channels for accounts (the chat's /claim):",
    "REGISTER #channel (or CLAIM): hold the channel you are in, no one holding it, with your account",
  ],
  csNotIn: (channel: string) => `You must be in ${channel} to register it`,
  nsUsage: (usage: string) => `Syntax: ${usage}`,
  identifyFirst: (nick: string, seconds: number) =>
    `${nick} is a registered account: log in with /msg NickServ IDENTIFY password within ${seconds} s, or your nick will be changed`,
  nickChanged: (nick: string) => `You did not log in to ${nick} in time: your nick was changed`,
  registerSuccess: (account: string) => `Account ${account} registered`,
  registerNick: "The account name must be your nick",
  registerConnect: "Complete connection registration (NICK, USER, CAP END) first",
  registerExists: (account: string) => `Account ${account} already exists`,
  registerNoNick: "Choose a nick first",
  registerBadName: (account: string) => `${account} cannot be an account name`,
  verifyNothing: "There is nothing to verify: accounts need no verification here",
  /** An account refusal (a wrong password, a throttle …) as NickServ says it. */
  problem(problem: Problem): string {
    switch (problem.code) {
      case "wrongPassword":
        return `Invalid password for ${problem.name}`;
      case "noSuchAccount":
        return `There is no account ${problem.name}`;
      case "nameRegistered":
        return `${problem.name} is already registered`;
      case "nameTaken":
        return `${problem.name} is in use by someone else`;
      case "badPassword":
        return `Refused: ${problem.reason}`;
      case "loginThrottled":
        return `Too many failed attempts: try again in ${problem.seconds} s`;
      case "loginBusy":
        return "The server is busy: try again shortly";
      case "registrationClosed":
        return "Registration is closed: only the operator makes accounts";
      case "registerThrottled":
        return `Too many accounts made from your address lately: try again in ${problem.seconds} s`;
      case "notLoggedIn":
        return "You're not logged in";
      case "alreadyLoggedIn":
        return `You're already logged in as ${problem.account}`;
      default:
        return `Refused: ${problem.code}`;
    }
  },
} as const;

/** The name of the account `session` is logged in to, or `null`. */
export function accountOf(session: Session): string | null {
  const key = session.account;
  return key === null ? null : session.hub.accounts.accountName(key) ?? key;
}

/** A NOTICE from NickServ to `session`. */
export function fromNickServ(session: IrcSession, text: string): void {
  session.raw(ircLine(NICKSERV, "NOTICE", session.target, text));
}

/**
 * `session` logged in to `account`: 900 (and 903 after SASL). The hub's account change
 * tells a registered connection its 900 and the channel its `account-notify` (see
 * `IrcFront`); here only what that does not: a login before registration, or again.
 */
export function loggedIn(session: IrcSession, account: Account, sasl: boolean): void {
  const toldByChange = session.registered && session.account !== account.key;
  session.hub.accounts.logIn(session, account);
  if (!toldByChange) accountNumeric(session);
  if (sasl) session.reply(RPL_SASLSUCCESS, WORDS.saslSuccess);
}

/** 900 with the account `session` is logged in to, or 901 if it is logged in to none. */
export function accountNumeric(session: IrcSession): void {
  const name = accountOf(session);
  if (name === null) session.reply(RPL_LOGGEDOUT, session.mask, WORDS.loggedOut);
  else session.reply(RPL_LOGGEDIN, session.mask, name, WORDS.loggedIn(name));
}

/** Ends the SASL exchange of `session` with 904 (and `words`, if a reason may be told). */
function saslFailed(session: IrcSession, words: string = WORDS.saslFail): void {
  session.sasl = null;
  session.reply(ERR_SASLFAIL, words);
}

/** The 904 words for an account refusal (a throttle and a busy queue say so; others do not). */
function saslWords(problem: Problem): string {
  if (problem.code === "loginThrottled") return WORDS.saslThrottled(problem.seconds);
  if (problem.code === "loginBusy") return WORDS.saslBusy;
  return WORDS.saslFail;
}

/** Registration completes while SASL is under way: it is aborted (906), as sasl-3.1 says. */
export function abortSasl(session: IrcSession): void {
  if (session.sasl === null) return;
  session.sasl = null;
  session.reply(ERR_SASLABORTED, WORDS.saslAborted);
}

/** `AUTHENTICATE mechanism|payload|+|*`. */
export function authenticate(session: IrcSession, params: string[]): void {
  const arg = params[0];
  const exchange = session.sasl;
  if (exchange === null) {
    if (arg === "*") return session.reply(ERR_SASLABORTED, WORDS.saslAborted);
    // Before registration one login is enough (sasl-3.1); after it, one may log in again.
    if (!session.registered && session.account !== null) {
      return session.reply(ERR_SASLALREADY, WORDS.saslAlready);
    }
    const mechanism = SASL_MECHANISMS.find((known) => known === arg.toUpperCase());
    if (mechanism === undefined) {
      session.reply(RPL_SASLMECHS, SASL_MECHANISMS.join(","), WORDS.saslMechs);
      return saslFailed(session);
    }
    session.sasl = {
      mechanism,
      chunks: new ChunkGatherer(),
      scram: null,
      account: null,
      proved: false,
    };
    return session.raw(ircLine("", "AUTHENTICATE", "+"));
  }
  if (arg === "*") {
    session.sasl = null;
    return session.reply(ERR_SASLABORTED, WORDS.saslAborted);
  }
  const got = exchange.chunks.add(arg);
  if (got === "more") return;
  if (got === "tooLong") {
    session.sasl = null;
    return session.reply(ERR_SASLTOOLONG, WORDS.saslTooLong);
  }
  if (got === "overflow") return saslFailed(session);
  const bytes = got.payload === "" ? new Uint8Array(0) : decodeBase64(got.payload);
  if (bytes === null) return saslFailed(session);
  if (exchange.mechanism === "PLAIN") return plain(session, bytes);
  if (exchange.scram === null) return scramFirst(session, exchange, bytes);
  if (!exchange.proved) return scramProof(session, exchange, bytes);
  // The client's empty answer to the server's signature: logged in.
  session.sasl = null;
  if (bytes.length !== 0 || exchange.account === null) return saslFailed(session);
  loggedIn(session, exchange.account, true);
}

/** PLAIN: the password checked as every front-end checks one (throttles, the hash queue). */
function plain(session: IrcSession, bytes: Uint8Array): void {
  session.sasl = null;
  const plain = parsePlain(bytes, (a, b) => nameKey(a) === nameKey(b));
  if (plain === null) return saslFailed(session);
  const { accounts } = session.hub;
  accounts.track(session, async () => {
    const result = await accounts.authenticate(
      session,
      nameKey(plain.account),
      plain.account,
      plain.password,
    );
    if (session.closed) return;
    if (!result.ok) return saslFailed(session, saslWords(result.problem));
    loggedIn(session, result.account, true);
  });
}

/** SCRAM's client-first message: the server's first, with the account's salt and iterations. */
function scramFirst(session: IrcSession, exchange: SaslExchange, bytes: Uint8Array): void {
  const first = parseScramFirst(bytes);
  if (first === null) return saslFailed(session);
  const { accounts } = session.hub;
  const wait = accounts.throttled(session, nameKey(first.account));
  if (wait > 0) return saslFailed(session, WORDS.saslThrottled(Math.ceil(wait / 1000)));
  accounts.track(session, async () => {
    const account = await accounts.account(first.account);
    if (session.closed || session.sasl !== exchange) return;
    exchange.account = account;
    // A name that is no account goes on as one would, and fails at the proof.
    const verifier = account?.scram ?? decoyVerifier(nameKey(first.account), DECOY_SECRET);
    exchange.scram = scramServerFirst(first, verifier);
    sendPayload(session, exchange.scram.serverFirst);
  });
}

/** SCRAM's client-final message: the proof checked against StoredKey, the signature sent. */
function scramProof(session: IrcSession, exchange: SaslExchange, bytes: Uint8Array): void {
  const result = scramFinal(exchange.scram!, bytes);
  const { accounts } = session.hub;
  if (!result.ok || exchange.account === null) {
    // A wrong proof for a real account counts as a wrong password (PLAIN's unknown names do not).
    if (!result.ok && result.why === "proof" && exchange.account !== null) {
      accounts.noteFailure(session, exchange.account);
    }
    return saslFailed(session);
  }
  accounts.noteSuccess(session, exchange.account);
  exchange.proved = true;
  sendPayload(session, result.serverFinal);
}

/** A server challenge as AUTHENTICATE lines: base64 in 400-byte chunks (`+` after a full one). */
function sendPayload(session: IrcSession, message: string): void {
  const encoded = Buffer.from(message).toString("base64");
  let out = "";
  for (let at = 0; at < encoded.length; at += CHUNK_MAX) {
    out += ircLine("", "AUTHENTICATE", encoded.slice(at, at + CHUNK_MAX));
  }
  if (encoded.length % CHUNK_MAX === 0) out += ircLine("", "AUTHENTICATE", "+");
  session.raw(out);
}

/** NickServ's commands, by name (what follows the command is `args`). */
const NICKSERV_COMMANDS: Record<string, (session: IrcSession, args: string[]) => void> = {
  REGISTER(session, args) {
    if (!args[0]) return fromNickServ(session, WORDS.nsUsage("REGISTER password [email]"));
    const { accounts } = session.hub;
    const account = accountOf(session);
    if (account !== null) {
      return fromNickServ(session, WORDS.problem({ code: "alreadyLoggedIn", account }));
    }
    const name = session.name!;
    accounts.track(session, async () => {
      const result = await accounts.create(session, name, args[0]);
      if (session.closed) return;
      if (!result.ok) return fromNickServ(session, WORDS.problem(result.problem));
      fromNickServ(session, WORDS.accountCreated);
      loggedIn(session, result.account, false);
    });
  },
  IDENTIFY(session, args) {
    if (!args[0]) return fromNickServ(session, WORDS.nsUsage("IDENTIFY [account] password"));
    const [name, password] = args.length >= 2 ? args : [session.name!, args[0]];
    const { accounts } = session.hub;
    accounts.track(session, async () => {
      const result = await accounts.authenticate(session, nameKey(name), name, password);
      if (session.closed) return;
      if (!result.ok) return fromNickServ(session, WORDS.problem(result.problem));
      fromNickServ(session, WORDS.identified(result.account.name));
      loggedIn(session, result.account, false);
    });
  },
  LOGOUT(session) {
    if (session.account === null) {
      return fromNickServ(session, WORDS.problem({ code: "notLoggedIn" }));
    }
    fromNickServ(session, WORDS.nsLoggedOut);
    // Logged; the change (901, account-notify) is told by IrcFront, the event is not IRC's.
    session.hub.accounts.logout(session);
  },
  INFO(session, args) {
    const name = args[0] ?? accountOf(session) ?? session.name!;
    const { accounts } = session.hub;
    accounts.track(session, async () => {
      const account = await accounts.account(name);
      if (session.closed) return;
      if (account === null) {
        return fromNickServ(session, WORDS.problem({ code: "noSuchAccount", name }));
      }
      for (const line of WORDS.info(account.name, account.created)) fromNickServ(session, line);
    });
  },
  DROP(session, args) {
    if (session.account === null) {
      return fromNickServ(session, WORDS.problem({ code: "notLoggedIn" }));
    }
    if (!args[0]) return fromNickServ(session, WORDS.nsUsage("DROP password"));
    // Told back as events: `unregistered`, or a refusal (see IrcSession.tell).
    session.hub.accounts.unregister(session, args[0]);
  },
  HELP(session) {
    for (const line of WORDS.nsHelp) fromNickServ(session, line);
  },
};

/** A line to NickServ (`NS …`, `NICKSERV …`, `PRIVMSG NickServ :…`). */
export function nickServ(session: IrcSession, text: string): void {
  const [command = "HELP", ...args] = text.trim().split(/ +/);
  const handler = NICKSERV_COMMANDS[command.toUpperCase()];
  if (!handler) return fromNickServ(session, WORDS.nsUnknown(command));
  handler(session, args);
}

/**
 * A ChanServ command (`/msg ChanServ …`, `CS …`, `CHANSERV …`): `REGISTER #channel` (Ergo's
 * word; `CLAIM` too) is the chat's `/claim` of the channel one is in; the core decides.
 */
export function chanServ(session: IrcSession, text: string): void {
  const [command = "HELP", channel = ""] = text.trim().split(/ +/);
  const word = command.toUpperCase();
  if (word !== "REGISTER" && word !== "CLAIM") {
    const lines = word === "HELP" ? WORDS.csHelp : [WORDS.nsUnknown(command)];
    for (const line of lines) session.raw(ircLine(CHANSERV, "NOTICE", session.target, line));
    return;
  }
  const wanted = channel.startsWith("#") ? roomKey(channel.slice(1)) : "";
  const room = [...session.member.rooms].find((each) => each.key === wanted);
  if (room === undefined || !session.hub.focus(session, room)) {
    const line = WORDS.csNotIn(channel || "#channel");
    return session.raw(ircLine(CHANSERV, "NOTICE", session.target, line));
  }
  session.hub.commands.get("/claim")!.run(session.hub, session, "");
}

/** `REGISTER account email password` (draft/account-registration): the account is the nick. */
export function register(session: IrcSession, params: string[]): void {
  const [wanted, _email, password] = params;
  const early = session.front.options.registerBeforeConnect ?? false;
  if (!session.registered && !early) {
    return fail(session, "COMPLETE_CONNECTION_REQUIRED", wanted, WORDS.registerConnect);
  }
  const nick = session.name ?? session.triedNick;
  if (nick === null) return fail(session, "NEED_NICK", wanted, WORDS.registerNoNick);
  if (wanted !== "*" && nameKey(wanted) !== nameKey(nick)) {
    return fail(session, "ACCOUNT_NAME_MUST_BE_NICK", wanted, WORDS.registerNick);
  }
  const { hub } = session;
  const { accounts } = hub;
  const account = accountOf(session);
  if (account !== null) return fail(session, "ALREADY_AUTHENTICATED", account, WORDS.saslAlready);
  // A nick that cannot be a name cannot be an account; someone else holding it keeps it
  // from being registered from under them.
  const problem = hub.nameError(nick, session, true);
  if (problem?.code === "badName" || problem?.code === "nameReserved") {
    return fail(session, "BAD_ACCOUNT_NAME", nick, WORDS.registerBadName(nick));
  }
  if (problem !== null || accounts.isRegistered(nick)) {
    return fail(session, "ACCOUNT_EXISTS", nick, WORDS.registerExists(nick));
  }
  accounts.track(session, async () => {
    const result = await accounts.create(session, nick, password);
    if (session.closed) return;
    if (!result.ok) {
      const code = result.problem.code;
      if (code === "badPassword") {
        return fail(session, "WEAK_PASSWORD", nick, WORDS.problem(result.problem));
      }
      if (code === "nameRegistered") {
        return fail(session, "ACCOUNT_EXISTS", nick, WORDS.registerExists(nick));
      }
      return fail(session, "TEMPORARILY_UNAVAILABLE", nick, WORDS.problem(result.problem));
    }
    session.fromServer("REGISTER", "SUCCESS", nick, WORDS.registerSuccess(nick));
    if (session.registered) loggedIn(session, result.account, false);
    else session.hub.accounts.logIn(session, result.account);
  });
}

/** `VERIFY account code`: accounts here need no verification. */
export function verify(session: IrcSession, params: string[]): void {
  fail(session, "INVALID_CODE", params[0], WORDS.verifyNothing, "VERIFY");
}

function fail(
  session: IrcSession,
  code: string,
  account: string,
  words: string,
  command = "REGISTER",
): void {
  session.fromServer("FAIL", command, code, account, words);
}

/** HistServ's source on every line it sends (its name is reserved: no member may take it). */
export const HISTSERV = "HistServ!HistServ@services";

/** The most characters of a found line HistServ shows (an IRC line is 512 bytes). */
const FOUND_TEXT_MAX = 300;

/** A NOTICE from HistServ to `session`. */
export function fromHistServ(session: IrcSession, text: string): void {
  session.raw(ircLine(HISTSERV, "NOTICE", session.target, text));
}

/** HistServ's words. */
const HS_WORDS = {
  help: [
    "HistServ searches what you can read: your channel, and your own private conversations.",
    "SEARCH <words>: the newest lines with every word (at most 20), newest first.",
  ],
  unknown: (command: string) => `Unknown command ${command}; HELP lists them`,
  usage: "Usage: SEARCH <words>",
  header: (text: string, count: number) =>
    count === 0
      ? `No lines found for "${text}"`
      : `${count} lines found for "${text}", newest first`,
  end: (more: boolean) =>
    more ? "End of search (there is more: add words to narrow it)" : "End of search",
};

/** A line to HistServ (`HS …`, `HISTSERV …`, `PRIVMSG HistServ :…`): `SEARCH words` or `HELP`. */
export function histServ(session: IrcSession, text: string): void {
  const trimmed = text.trim();
  const space = trimmed.search(/\s/);
  const command = (space === -1 ? trimmed : trimmed.slice(0, space)).toUpperCase() || "HELP";
  const rest = space === -1 ? "" : trimmed.slice(space + 1).trim();
  if (command === "HELP") {
    for (const line of HS_WORDS.help) fromHistServ(session, line);
    return;
  }
  if (command !== "SEARCH") return fromHistServ(session, HS_WORDS.unknown(command));
  if (rest === "") return fromHistServ(session, HS_WORDS.usage);
  session.hub.search(session, rest); // answered as a searchResults event: see searchAnswer
}

/** HistServ's answer to a search: a header, one NOTICE per line found, an end. */
export function searchAnswer(session: IrcSession, event: SearchResultsEvent): void {
  fromHistServ(session, HS_WORDS.header(event.text, event.results.length));
  for (const found of event.results) {
    const where = found.room !== undefined ? `#${found.room}` : found.with;
    const time = new Date(found.time).toISOString().slice(0, 19) + "Z";
    const chars = [...found.text];
    const text = chars.length > FOUND_TEXT_MAX
      ? chars.slice(0, FOUND_TEXT_MAX).join("") + "…"
      : found.text;
    const said = found.kind === "action" ? `* ${found.from} ${text}` : `<${found.from}> ${text}`;
    fromHistServ(session, `[${time}] ${where} ${said}`);
  }
  fromHistServ(session, HS_WORDS.end(event.more));
}
