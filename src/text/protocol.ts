/**
 * The text protocol's words in one place, shared by the server and the client so
 * the two cannot drift: the five line classes and their rendering, every sentence
 * the server says, and the readers that parse them back (the terminal client).
 *
 * Every line from the server starts so that a program can tell what it is
 * (names cannot contain spaces or `:`):
 *
 * ```text
 * NAME: TEXT            a message from NAME to the room
 * * NAME TEXT           an action (/me)
 * NAME (private): TEXT  a private message to you (/msg)
 * -- TEXT               a notice: joins, leaves, renames, rooms, answers to commands
 * !! TEXT               an error about something you sent
 * ```
 *
 * @module
 */

import {
  type ChatMessage,
  type MessageKind,
  NAME_SOURCE,
  NAMES_IN_NOTICE,
} from "../core/protocol.ts";

/** The wire line (without its newline) that shows `message` to its recipients. */
export function renderMessage(message: ChatMessage): string {
  switch (message.kind) {
    case "message":
      // A webhook's bot: " [bot]" cannot be part of a name, so no member can pass for one.
      return message.bot
        ? `${message.from} [bot]: ${message.text}`
        : `${message.from}: ${message.text}`;
    case "action":
      return `* ${message.from} ${message.text}`;
    case "private":
      return `${message.from} (private): ${message.text}`;
  }
}

/** A notice line: `-- TEXT`. */
export const notice = (text: string): string => `-- ${text}`;
/** An error line, answering something the client sent: `!! TEXT`. */
export const error = (text: string): string => `!! ${text}`;

// ---------------------------------------------------------------------------
// Reading server lines (the client's side)
// ---------------------------------------------------------------------------

// ---------------------------------------------------------------------------
// Reading server lines (the client's side)
// ---------------------------------------------------------------------------

// Exported, with the functions below, for the terminal client (the web page speaks the
// JSON protocol and reads no lines).
/** `NAME (private): TEXT`. */
export const PRIVATE_LINE = new RegExp(`^(${NAME_SOURCE}) \\(private\\): (.*)$`, "u");
/** `NAME: TEXT`. */
export const MESSAGE_LINE = new RegExp(`^(${NAME_SOURCE}): (.*)$`, "u");
/** `* NAME TEXT`. */
export const ACTION_LINE = new RegExp(`^\\* (${NAME_SOURCE}) (.*)$`, "u");

/** What kind of line the server sent, with its parts. */
export interface ParsedLine {
  /** Which of the server's line classes it is. */
  kind: MessageKind | "notice" | "error" | "other";
  /** Who sent a message, action or private message. */
  name?: string;
  /** The rest of the line. */
  text: string;
}

/** Classifies one line from the server by its prefix. */
export function parseLine(line: string): ParsedLine {
  if (line.startsWith("-- ")) return { kind: "notice", text: line.slice(3) };
  if (line.startsWith("!! ")) return { kind: "error", text: line.slice(3) };
  let match = ACTION_LINE.exec(line);
  if (match) return { kind: "action", name: match[1], text: match[2] };
  match = PRIVATE_LINE.exec(line);
  if (match) return { kind: "private", name: match[1], text: match[2] };
  match = MESSAGE_LINE.exec(line);
  if (match) return { kind: "message", name: match[1], text: match[2] };
  return { kind: "other", text: line };
}

// ---------------------------------------------------------------------------
// Colours of names (the terminal client's and the web page's)
// ---------------------------------------------------------------------------

/** Foreground colours for names, as ANSI codes; red (31) is kept for errors. */
export const NAME_COLORS: readonly number[] = [32, 33, 34, 35, 36, 92, 93, 94, 95, 96];

/**
 * The ANSI colour code (one of {@linkcode NAME_COLORS}) for a name: the same name, in
 * any case, always gets the same colour. The web page has a copy
 * (`src/web/page/color.js`, checked by `src/web/page_test.ts`), so a name has one colour
 * in the terminal and the browser.
 */
export function nameColor(name: string): number {
  // FNV-1a: cheap, and stable across runs and machines.
  let hash = 0x811c9dc5;
  for (const char of name.toLowerCase()) {
    hash ^= char.codePointAt(0)!;
    hash = Math.imul(hash, 0x01000193);
  }
  return NAME_COLORS[(hash >>> 0) % NAME_COLORS.length];
}

// ---------------------------------------------------------------------------
// What the server says
// ---------------------------------------------------------------------------

/** The line that asks a new connection for its name; clients wait for it. */
export const NAME_PROMPT = "-- What should we call you?";
/** The first line of the greeting. */
export const WELCOME = "-- Welcome to the chat room! Type /help for commands.";
/** The greeting's line that states the limits a client should check before sending. */
export const limitsLine = (maxLine: number) => `-- Lines are at most ${maxLine} bytes.`;

/** "a, b and c", or "a, b, … and 180 more" when `total` is more than the names given. */
export function listNames(names: readonly string[], total = names.length): string {
  if (total > NAMES_IN_NOTICE) {
    return `${names.slice(0, NAMES_IN_NOTICE).join(", ")} and ${total - NAMES_IN_NOTICE} more`;
  }
  if (names.length === 1) return names[0];
  return `${names.slice(0, -1).join(", ")} and ${names[names.length - 1]}`;
}

/** "You are the first one here." or "Also here (N): a, b and c." */
function company(others: readonly string[], count: number): string {
  return count === 0
    ? "You are the first one here."
    : `Also here (${count}): ${listNames(others, count)}.`;
}

const lines = (count: number) => `${count} line${count === 1 ? "" : "s"}`;

/**
 * A message from a room's history, as replayed: the time it was first sent, in
 * UTC to the second, in brackets before the line as it was sent then. No name
 * starts with `[`, so a replayed line is never taken for a live one.
 */
export function historyLine(
  message: Pick<ChatMessage, "kind" | "from" | "text" | "time" | "bot">,
): string {
  const time = new Date(message.time).toISOString().slice(0, 19) + "Z";
  return `[${time}] ${renderMessage({ ...message, room: "" })}`;
}

/**
 * A kept private message as `/history NAME` shows it: its time in brackets, then the line
 * as it came (`NAME (private): TEXT`), or, one's own, as its receipt (`to NAME (private): TEXT`).
 */
export function privateHistoryLine(
  message: Pick<ChatMessage, "from" | "text" | "time">,
  to: string | null,
): string {
  const time = new Date(message.time).toISOString().slice(0, 19) + "Z";
  return to === null
    ? `[${time}] ${message.from} (private): ${message.text}`
    : `[${time}] to ${to} (private): ${message.text}`;
}

/**
 * A line a search found: as a history line, after the room it was said in (`(dev)`) or
 * the private conversation (`(with bob)`).
 */
export function searchLine(
  found: Pick<ChatMessage, "kind" | "from" | "text" | "time"> & { room?: string; with?: string },
): string {
  const time = new Date(found.time).toISOString().slice(0, 19) + "Z";
  const where = found.room !== undefined ? found.room : `with ${found.with}`;
  return `[${time}] (${where}) ${renderMessage({ ...found, room: "" })}`;
}

/** The time and the line of a replayed history line, or `null` for any other line. */
export function parseHistoryLine(line: string): { time: Date; line: string } | null {
  const match = /^\[(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)\] (.*)$/.exec(line);
  return match ? { time: new Date(match[1]), line: match[2] } : null;
}

/** What happened in a room, as the phrases its notice lines are made of. */
export const happened = {
  joined: (names: string) => `${names} joined`,
  left: (names: string, reason?: string) => `${names} left${reason ? ` (${reason})` : ""}`,
  moved: (names: string, room: string) => `${names} went to ${room}`,
} as const;

/** The verbs of moderation notices (`alice gave operator to bob`), used by {@linkcode say.moderation}. */
const MODERATION_WORDS: Record<string, string> = {
  op: "gave operator to",
  deop: "took operator from",
  voice: "gave voice to",
  devoice: "took voice from",
  kick: "kicked",
  ban: "banned",
  unban: "unbanned",
  mute: "muted",
  unmute: "unmuted",
  invite: "invited",
  mode: "set modes",
  claim: "claimed",
  kill: "disconnected",
  announce: "announced",
  kline: "banned from the server",
  unkline: "lifted the server ban on",
};

/** When a kline ends, as its notices say it: `for good`, or `until 2026-12-06 03:00 UTC`. */
function until(expires: number | null): string {
  return expires === null
    ? "for good"
    : `until ${new Date(expires).toISOString().slice(0, 16).replace("T", " ")} UTC`;
}

/** Every sentence the server sends, as whole lines without the newline. */
/** What `/bans` calls each list of masks. */
const MASK_LISTS: Record<string, string> = {
  bans: "Bans",
  mutes: "Mutes",
  excepts: "Ban exceptions (+e)",
  invexes: "Invite exceptions (+I)",
};

export const say = {
  hello: (name: string, others: readonly string[], count: number) =>
    notice(`Hello, ${name}! ${company(others, count)} Type /help for commands.`),
  nowIn: (room: string, others: readonly string[], count: number) =>
    notice(`You are now in ${room}. ${company(others, count)}`),
  topicIs: (room: string, topic: string) => notice(`Topic of ${room}: ${topic}`),
  noTopic: (room: string) => notice(`${room} has no topic; /topic TEXT sets one`),
  topicSet: (name: string, topic: string) => notice(`${name} set the topic: ${topic}`),
  alreadyIn: (room: string) => notice(`You are already in ${room}`),
  online: (room: string, names: readonly string[], total = names.length) =>
    notice(
      `Online in ${room} (${total}): ${names.join(", ")}` +
        (total > names.length ? ` and ${total - names.length} more` : ""),
    ),
  roomsHeader: (count: number) => notice(`Rooms (${count}):`),
  roomEntry: (room: string, members: number, topic: string) =>
    notice(`  ${room} (${members})${topic ? `: ${topic}` : ""}`),
  moreRooms: (count: number) => notice(`  and ${count} more`),
  renamed: (name: string) => notice(`You are now known as ${name}`),
  alreadyNamed: (name: string) => notice(`You are already ${name}`),
  othersRenamed: (old: string, name: string) => notice(`${old} is now known as ${name}`),
  joined: (names: string) => notice(happened.joined(names)),
  left: (names: string, reason?: string) => notice(happened.left(names, reason)),
  moved: (names: string, room: string) => notice(happened.moved(names, room)),
  /** Several of the above in one line: `-- a and b joined; c left`. */
  happenings: (phrases: readonly string[]) => notice(phrases.join("; ")),
  bye: notice("Bye!"),
  shuttingDown: "server shutting down",
  helpHeader: notice("Commands:"),
  helpEntry: (usage: string, summary: string) => notice(`  ${usage.padEnd(17)} ${summary}`),

  badName: (reason: string) => error(reason),
  nameTaken: (name: string) => error(`the name ${name} is taken`),
  nameReserved: (name: string) => error(`the name ${name} is reserved`),
  nameFirst: error("choose a name first; /help lists what works before that"),
  noNameInTime: error("no name given in time; goodbye"),
  lineTooLong: (max: number) => error(`line too long (max ${max} bytes); it was not sent`),
  /** To a client dropped for sending over-long lines again and again (or one endless line). */
  tooManyLongLines: error("too many over-long lines; goodbye"),
  usage: (usage: string) => error(`usage: ${usage}`),
  unknownCommand: (command: string) => error(`unknown command ${command}; /help lists them`),
  noSuchMember: (name: string) => error(`no one called ${name} is here`),
  noSuchRoom: (room: string) => error(`there is no room ${room}; /rooms lists them`),
  thatIsYou: error("that is you"),
  topicTooLong: (max: number) => error(`a topic is at most ${max} characters`),
  historyHeader: (room: string, count: number) =>
    notice(`history of ${room}: ${lines(count)}, oldest first`),
  earlierHeader: (room: string, count: number) =>
    notice(`earlier in ${room}: ${lines(count)}, oldest first`),
  historyEnd: notice("end of history"),
  noEarlier: (room: string) => notice(`no earlier history in ${room}`),
  /** History not sent: this session was sent its share of late (see `HISTORY_RATE`). */
  historyTooFast: (seconds: number) =>
    error(`too much history sent to you lately; /history works again in ${seconds} s`),
  /** A page of a private conversation with `name` (`/history NAME`). */
  privateHeader: (name: string, count: number) =>
    notice(`earlier with ${name} (private): ${lines(count)}, oldest first`),
  /** The private messages that waited for this account while it was not connected. */
  awayHeader: (name: string, count: number) =>
    notice(`while you were away, ${name} wrote (private): ${lines(count)}, oldest first`),
  noEarlierWith: (name: string) => notice(`no earlier private history with ${name}`),
  /** The private message went to an account not connected: it waits for its next login. */
  heldForLater: (name: string) =>
    notice(`${name} is away; your message will be delivered when they next log in`),
  heldFull: (name: string) => error(`too many messages are waiting for ${name}; try again later`),
  /** The first line of `/search`'s answer. */
  searchHeader: (text: string, count: number) =>
    notice(
      `search for "${text}": ${count === 0 ? "nothing found" : `${lines(count)}, newest first`}`,
    ),
  /** The last line of `/search`'s answer (`more`: it was cut). */
  searchEnd: (more: boolean) =>
    notice(more ? "end of search (there is more: add words to narrow it)" : "end of search"),
  /** A search's text is too long. */
  searchTooLong: (max: number) => error(`a search is at most ${max} characters`),
  /** A read marker (told to clients that keep them; never to nc). */
  readMarker: (where: string, id: string) => notice(`read up to ${id} in ${where}`),
  /** Confirms a private message to its sender (a record for `nc` users, a receipt for clients). */
  privateSent: (to: string, text: string) => notice(`to ${to} (private): ${text}`),
  tooManyRooms: (max: number) => error(`too many rooms (max ${max}); join one of /rooms`),
  tooManyJoined: (max: number) => error(`you are in too many rooms (max ${max}); leave one first`),
  tooManyRoomsFromAddress: (max: number) =>
    error(`too many rooms made from your address (max ${max}); join one of /rooms`),
  serverFull: error("server full; try again later"),
  tooManyFromAddress: error("too many connections from your address; try again later"),
  connectingTooFast: error("too many new connections from your address; try again in a minute"),
  internalError: error("internal error; it was logged"),
  /** To a member whose name another server gave away while this one was cut off from it. */
  nameLost: (name: string) =>
    error(`the name ${name} was taken on another server while this one was cut off; goodbye`),
  // Accounts (see src/core/accounts.ts). A password is never part of any of these.
  passwordPrompt: (name: string) =>
    notice(`${name} is registered: type its password (an empty line picks another name)`),
  registered: (name: string, persistent: boolean) =>
    notice(
      `${name} is now your account; log in with /login ${name} PASSWORD` +
        (persistent ? "" : ` (accounts last until the server stops)`),
    ),
  loggedIn: (account: string) => notice(`You are logged in as ${account}`),
  loggedOut: (account: string) =>
    notice(`You are logged out of ${account}; you keep your name until you leave or change it`),
  passwordChanged: (account: string) => notice(`The password of ${account} is changed`),
  unregistered: (account: string) =>
    notice(`The account ${account} is deleted; its name is free for anyone`),
  whois: (
    name: string,
    room: string | null,
    account: string | null | undefined,
    connections = 1,
  ) =>
    notice(
      `${name} is ${room ? `in ${room}` : "in no room"}` +
        (account === undefined
          ? ""
          : account === null
          ? ", not logged in"
          : `, logged in as ${account}`) +
        (connections > 1 ? `, on ${connections} connections` : ""),
    ),
  /** Names in `/who` logged in to an account carry this mark after them. */
  loggedInMark: "*",
  nameRegistered: (name: string) =>
    error(`the name ${name} is registered; log in with /login ${name} PASSWORD`),
  accountElsewhere: (name: string) =>
    error(`${name} is connected on another server; one account's connections share a server`),
  accountRequired: (name: string) =>
    error(`only accounts may chat here, and ${name} is not one; ask an operator for one`),
  registrationClosed: error("registration is closed here; ask an operator for an account"),
  registerThrottled: (seconds: number) =>
    error(`too many accounts made from your address lately; try again in ${seconds} s`),
  alreadyLoggedIn: (account: string) => error(`you are logged in as ${account} already`),
  notLoggedIn: error("you are not logged in; /login NAME PASSWORD"),
  noSuchAccount: (name: string) => error(`there is no account ${name}`),
  badPassword: (reason: string) => error(reason),
  wrongPassword: (name: string) => error(`wrong password for ${name}`),
  loginThrottled: (seconds: number) => error(`too many wrong passwords; try again in ${seconds} s`),
  loginBusy: error("too many logins at once; try again in a moment"),
  // Moderation (see src/core/moderation.ts).
  moderation: (by: string, action: string, target = "", reason?: string) =>
    notice(
      `${by} ${MODERATION_WORDS[action] ?? action}${target ? ` ${target}` : ""}` +
        (reason ? ` (${reason})` : ""),
    ),
  kicked: (room: string, by: string, reason?: string) =>
    notice(`${by} kicked you out of ${room}${reason ? ` (${reason})` : ""}`),
  killed: (by: string, reason?: string) =>
    notice(`${by} disconnected you${reason ? ` (${reason})` : ""}`),
  announcement: (by: string, text: string) => notice(`Announcement from ${by}: ${text}`),
  notServerOperator: error("you are not a server operator"),
  // Klines (see src/core/klines.ts).
  klined: (reason: string, expires: number | null) =>
    error(`you are banned from this server ${until(expires)}${reason ? `: ${reason}` : ""}`),
  tooManyKlines: (max: number) => error(`the kline list is full (${max}); /unkline some first`),
  badDuration: (text: string) =>
    error(`${text} is no duration: 30m, 2h, 7d, 1w (at most a year) or perm`),
  tooManyMasks: (room: string, list: string, max: number) =>
    error(`${room} has ${max} ${list} already, the most it keeps; lift some first`),
  moderationTooFast: (seconds: number) =>
    error(`too many moderation actions at once; try again in ${seconds} s`),
  klineSet: (mask: string, expires: number | null, reason: string, disconnected: number) =>
    notice(
      `Server ban on ${mask} ${until(expires)}${reason ? ` (${reason})` : ""}; ` +
        `${disconnected} connection${disconnected === 1 ? "" : "s"} ended`,
    ),
  klineLifted: (mask: string) => notice(`Server ban on ${mask} lifted`),
  klinesHeader: (count: number) => notice(`Server bans (${count})${count ? ":" : ""}`),
  klineEntry: (mask: string, by: string, time: number, expires: number | null, reason: string) =>
    notice(
      `  ${mask} by ${by} at ${new Date(time).toISOString().slice(0, 16).replace("T", " ")} UTC, ` +
        `${until(expires)}${reason ? ` (${reason})` : ""}`,
    ),
  invited: (room: string, by: string) => notice(`${by} invites you to ${room}: /join ${room}`),
  masksHeader: (room: string, list: string, count: number) =>
    notice(`${MASK_LISTS[list] ?? "Bans"} of ${room} (${count})${count ? ":" : ""}`),
  maskEntry: (mask: string, by: string) => notice(`  ${mask} (by ${by})`),
  modes: (room: string, modes: string, founder: string | null, ops: readonly string[]) =>
    notice(
      `Modes of ${room}: ${modes}; ` +
        (founder ? `held by ${founder}` : "held by no one (/claim)") +
        (ops.length ? `; operators: ${ops.join(", ")}` : ""),
    ),
  notOperator: (room: string) => error(`you are not an operator of ${room}`),
  banned: (room: string) => error(`you are banned from ${room}`),
  inviteOnly: (room: string) => error(`${room} is invite-only; an operator can /invite you`),
  badKey: (room: string) => error(`${room} needs its key: /join ${room} KEY`),
  roomFull: (room: string, max: number) => error(`${room} is full (at most ${max} members)`),
  moderated: (room: string) =>
    error(`${room} is moderated: only voiced members and operators speak; it was not sent`),
  muted: (room: string) => error(`you are muted in ${room}; it was not sent`),
  badMask: (mask: string) =>
    error(`${mask} is no mask: NAME, account:NAME, an address or CIDR (* and ? match)`),
  noSuchMask: (mask: string) => error(`${mask} is not on the list`),
  badMode: (mode: string) =>
    error(`cannot set ${mode}; modes: +t +n +m +i +s, +k KEY, +l N (- takes one off)`),
  needsAccount: (name: string) => error(`${name} is not logged in; roles belong to accounts`),
  notInRoom: (name: string, room: string) => error(`${name} is not in ${room}`),
  roomHeld: (room: string, founder: string | null) =>
    error(founder ? `${room} is held by ${founder} already` : `${room} belongs to no one`),
  // Deleting a message (`/delete`): text users never see ids, so the author is named.
  deleted: (by: string, from?: string, reason?: string) =>
    notice(
      (from === undefined
        ? `${by} deleted a message`
        : from === by
        ? `${by} deleted one of their messages`
        : `${by} deleted a message by ${from}`) + (reason ? ` (${reason})` : ""),
    ),
  noSuchMessage: (id: string) =>
    error(id === "" ? "you have no message here to delete" : `no message ${id} is kept here`),
  deleteForbidden: error("only its author or an operator may delete that message"),
  /** A private message of the conversation with `other` deleted (`by`: its author, mostly). */
  privateDeleted: (by: string, other: string) =>
    notice(`${by} deleted a private message of the conversation with ${other}`),
  // Incoming webhooks (`/hook`): the URL carries the secret, shown this once.
  hookCreated: (room: string, id: string, url: string) =>
    notice(`Webhook ${id} for ${room}: POST to ${url} (keep it secret; it is shown only now)`),
  hookDeleted: (room: string, id: string) => notice(`Webhook ${id} for ${room} is deleted`),
  hooksHeader: (count: number) => notice(`Webhooks (${count})${count ? ":" : ""}`),
  hookEntry: (id: string, room: string, name: string, by: string) =>
    notice(`  ${id} in ${room} as ${name} (by ${by})`),
  tooManyHooks: (max: number) => error(`too many webhooks (at most ${max} a room)`),
  noSuchHook: (id: string) => error(`there is no webhook ${id}; /hook list shows them`),
  /** To a WebSocket client dropped for sending faster than flood control lets it (see `--rate`). */
  tooFast: error("too much input too fast; goodbye"),
} as const;

/** The most bytes a line may have, from the greeting's limits line, or `null`. */
export function lineLimit(line: string): number | null {
  const match = /^-- Lines are at most (\d+) bytes\.$/.exec(line);
  return match ? Number(match[1]) : null;
}

/** The recipient and text of a private message the server confirms to its sender, or `null`. */
export function privateReceipt(line: string): { to: string; text: string } | null {
  const match = new RegExp(`^-- to (${NAME_SOURCE}) \\(private\\): (.*)$`, "u").exec(line);
  return match ? { to: match[1], text: match[2] } : null;
}

/** A notice from the server, read back: what {@linkcode say} wrote, as data. */
export type Notice =
  | { kind: "online"; room: string; total: number; names: string[]; loggedIn?: string[] }
  | { kind: "rooms"; count: number }
  | { kind: "roomEntry"; room: string; members: number; topic: string }
  | { kind: "moreRooms"; count: number }
  | { kind: "topicIs"; room: string; topic: string }
  | { kind: "noTopic"; room: string }
  | { kind: "topicSet"; name: string; topic: string }
  | { kind: "historyHeader"; room: string; earlier: boolean; count: number }
  | { kind: "historyEnd" }
  | { kind: "noEarlier"; room: string }
  | { kind: "presence" }
  | { kind: "bye" };

/**
 * Reads the text of a notice (the line without its `-- `) back into what it
 * says, or `null` for a notice it does not know. It inverts {@linkcode say}
 * beside it, so a reader (the terminal client) never spells a wording
 * itself.
 */
export function readNotice(text: string): Notice | null {
  let m = /^Online in (\S+) \((\d+)\): (.*?)(?: and (\d+) more)?$/u.exec(text);
  if (m) {
    // A name logged in to an account is marked with a `*` after it.
    const marked = m[3] ? m[3].split(", ") : [];
    const names = marked.map((name) => name.endsWith("*") ? name.slice(0, -1) : name);
    const loggedIn = names.filter((_, i) => marked[i].endsWith("*"));
    const online = { kind: "online" as const, room: m[1], total: Number(m[2]), names };
    return loggedIn.length > 0 ? { ...online, loggedIn } : online;
  }
  if ((m = /^Rooms \((\d+)\):$/u.exec(text))) return { kind: "rooms", count: Number(m[1]) };
  if ((m = /^ {2}and (\d+) more$/u.exec(text))) return { kind: "moreRooms", count: Number(m[1]) };
  if ((m = /^ {2}(\S+) \((\d+)\)(?:: (.*))?$/u.exec(text))) {
    return { kind: "roomEntry", room: m[1], members: Number(m[2]), topic: m[3] ?? "" };
  }
  if ((m = /^Topic of (\S+): (.*)$/u.exec(text))) {
    return { kind: "topicIs", room: m[1], topic: m[2] };
  }
  if ((m = /^(\S+) has no topic; /u.exec(text))) return { kind: "noTopic", room: m[1] };
  if ((m = /^(\S+) set the topic: (.*)$/u.exec(text))) {
    return { kind: "topicSet", name: m[1], topic: m[2] };
  }
  if ((m = /^(history of|earlier in) (\S+): (\d+) lines?, oldest first$/u.exec(text))) {
    return {
      kind: "historyHeader",
      room: m[2],
      earlier: m[1] === "earlier in",
      count: Number(m[3]),
    };
  }
  if (text === "end of history") return { kind: "historyEnd" };
  if ((m = /^no earlier history in (\S+)$/u.exec(text))) return { kind: "noEarlier", room: m[1] };
  if (text === "Bye!") return { kind: "bye" };
  // Joins, leaves, moves and renames, one or several in a line ("a joined; b went to dev").
  const happening =
    /^\S+(?:, \S+)*(?: and \S+)?(?: and \d+ more)? (?:joined|left(?: \(.*\))?|went to \S+)$/u;
  if (
    /^\S+ is now known as \S+$/u.test(text) ||
    text.split("; ").every((part) => happening.test(part))
  ) {
    return { kind: "presence" };
  }
  return null;
}

/** The room named in a `/join` answer (`-- You are now in ROOM. …`), or `null`. */
export function roomChange(line: string): string | null {
  return /^-- You are now in (\S+)\. /u.exec(line)?.[1] ?? null;
}

/** The name greeted in the answer to a chosen name (`-- Hello, NAME! …`), or `null`. */
export function helloName(line: string): string | null {
  return /^-- Hello, ([^\s!]+)! /u.exec(line)?.[1] ?? null;
}

/** The name whose password the server asks for (`-- NAME is registered: type its password …`), or `null`. */
export function passwordAsked(line: string): string | null {
  return /^-- (\S+) is registered: type its password /u.exec(line)?.[1] ?? null;
}

/** The new name in the answer to `/nick` (`-- You are now known as NAME`), or `null`. */
export function nameChange(line: string): string | null {
  return /^-- You are now known as (\S+)$/u.exec(line)?.[1] ?? null;
}
