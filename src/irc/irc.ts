/**
 * The IRC front-end: IRC clients (irssi, WeeChat, a phone app) are members of
 * the same hub as `nc`, `client.ts` and browser users. A socket on the IRC
 * port (`tcp.ts` carries it, with the same admission, TLS, outboxes and output
 * budget) gets an {@linkcode IrcSession}: the session's flood control and
 * framing as for any client, but its lines are IRC commands, answered with
 * numerics made here, never with the chat protocol's sentences.
 *
 * How IRC maps onto the chat:
 * - A nick is a chat name (same rules, same uniqueness); the user is a member
 *   once registered (NICK, USER, and CAP END if it negotiated), but in no room
 *   until it JOINs one, as on IRC. `#room` is the room `room`.
 * - A member is in one room at a time: a JOIN to another channel PARTs the
 *   current one (the client is sent the PART). PART leaves the room only.
 * - Messages come from the hub with the {@linkcode ChatMessage} beside their
 *   bytes; each is written as IRC once for all IRC recipients (see
 *   {@linkcode IrcFront.lines}). Joins, parts, quits, renames and topics come
 *   from the hub's change hook, one line per person, at once; the chat's merged
 *   notice lines are skipped.
 *
 * @module
 */

import type { Hub, Member, MemberChange } from "../core/hub.ts";
import {
  type ChatMessage,
  checkName,
  checkRoomName,
  cleanText,
  type Delivery,
  NAME_MAX,
  nameKey,
  reasons,
  roomKey,
} from "../core/protocol.ts";
import { type ErrorEvent, type Event, failed, type Problem } from "../core/events.ts";
import type { HistoryEntry } from "../core/history.ts";
import { problemWords } from "../text/render.ts";
import { TOPIC_MAX } from "../core/commands.ts";
import { Room } from "../core/room.ts";
import { type Connection, Session } from "../core/session.ts";
import { GLOB_MAX, isGlob, matchGlob } from "../core/glob.ts";
import { Cloaks } from "../core/cloak.ts";
import {
  byteLength,
  ircLine,
  LINE_MAX,
  parseCommand,
  pieceLines,
  textPieces,
  timeTag,
} from "./format.ts";

/** How the IRC front-end presents itself. */
export interface IrcOptions {
  /** The server name in every reply's source (`--irc-name`). */
  serverName: string;
  /** Milliseconds of silence after which a client is pinged; as long again unanswered drops it. */
  pingInterval: number;
  /** The cloaks shown for IRC users' addresses (default: under a key of this front's own). */
  cloaks?: Cloaks;
}

/** The IRCv3 capabilities implemented, as `CAP LS` lists them. */
export const CAPABILITIES: readonly string[] = [
  "away-notify",
  "batch",
  "cap-notify",
  "echo-message",
  "multi-prefix",
  "server-time",
  "userhost-in-names",
];

/** The software and version in 002, 004 and 351. */
const VERSION = "chat-irc-1";
/** The network name in 001 and 005. */
const NETWORK = "chat";
/** The host shown for members who came by the chat protocol or the web page. */
const CHAT_HOST = "chat";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const strictDecoder = new TextDecoder("utf-8", { fatal: true });

/** A chat message's IRC lines, made once for every IRC recipient. */
interface Rendered {
  message: ChatMessage;
  /** `:source PRIVMSG target :`, and the pieces of the text that fit a line after it. */
  head: string;
  pieces: string[];
  /** Without tags, and with `@time` tags for clients that asked for `server-time` (as needed). */
  plain: Uint8Array | null;
  tagged: Uint8Array | null;
}

/** The IRC side of a hub: its sessions, who of them is in which room, and pings. */
export class IrcFront {
  /** Every IRC session, registered or not. */
  readonly sessions = new Set<IrcSession>();
  /** Which IRC sessions are in each room: what IRC tells one line per person. */
  readonly #inRoom = new Map<Room<Session>, Set<IrcSession>>();
  /** Who set each room's topic and when, by room key (for 333). */
  readonly topics = new Map<string, { by: string; at: number }>();
  /** Messages IRC users sent as NOTICE (the chat has no such kind): shown back as NOTICE. */
  readonly notices = new WeakSet<ChatMessage>();
  readonly created = new Date();
  /** Who MONITORs each nick, by {@linkcode nameKey}. */
  readonly watchers = new Map<string, Set<IrcSession>>();
  /** The most members there have been at once (for 265 and 266). */
  peakMembers = 0;
  /** What IRC users' addresses are shown as: no IRC user ever sees another's address. */
  readonly cloaks: Cloaks;
  #last: Rendered | null = null;
  #pinger: ReturnType<typeof setInterval>;
  #hook = (change: MemberChange) => this.#changed(change);

  /** Hooks into `hub`; {@linkcode close} unhooks and stops the pings. */
  constructor(readonly hub: Hub, readonly options: IrcOptions) {
    this.cloaks = options.cloaks ?? new Cloaks();
    hub.changeHooks.push(this.#hook);
    hub.reserve(options.serverName); // replies come from it: no member may pass for the server
    this.#pinger = setInterval(() => this.#ping(), options.pingInterval);
  }

  /** Makes the session of a new IRC connection (the transport's `session` hook). */
  session(conn: Connection): IrcSession {
    const session = new IrcSession(this, conn);
    this.sessions.add(session);
    return session;
  }

  /** Stops pinging and leaves the hub's hooks. */
  close(): void {
    clearInterval(this.#pinger);
    const hooks = this.hub.changeHooks;
    const at = hooks.indexOf(this.#hook);
    if (at !== -1) hooks.splice(at, 1);
  }

  /**
   * The real address of `member` if `viewer` may see it, else `null`: the one place
   * where that is decided. Nobody may yet; operators will (the moderation issue),
   * in WHOIS (378) and WHOX `%i`. Masks always carry the cloak, as on Ergo.
   */
  realAddress(_viewer: IrcSession, _member: IrcSession): string | null {
    return null;
  }

  /** `nick!user@host` of the member called `name` (a chat member's user is its name). */
  mask(name: string): string {
    const member = this.hub.members.get(nameKey(name));
    return member instanceof IrcSession ? member.mask : `${name}!${name}@${CHAT_HOST}`;
  }

  /**
   * The IRC lines of `message`: made once per message, whatever the number of
   * IRC recipients, with and without `@time` tags (cut in the same places).
   */
  lines(message: ChatMessage, tagged: boolean): Uint8Array {
    const last = this.#rendered(message);
    if (!tagged) return last.plain ??= encoder.encode(pieceLines("", last.head, last.pieces));
    return last.tagged ??= encoder.encode(
      pieceLines(timeTag(message.time), last.head, last.pieces),
    );
  }

  /** How many IRC lines `message` takes (they are kept for its delivery, which comes next). */
  lineCount(message: ChatMessage): number {
    return this.#rendered(message).pieces.length;
  }

  #rendered(message: ChatMessage): Rendered {
    let last = this.#last;
    if (last === null || last.message !== message) {
      const [head, pieces] = this.#pieces(message);
      last = this.#last = { message, head, pieces, plain: null, tagged: null };
    }
    return last;
  }

  /** The IRC lines of a message (several if its text is long), each starting with `tags`. */
  render(
    message: Pick<ChatMessage, "kind" | "from" | "room" | "to" | "text">,
    tags: string,
  ): string {
    const [head, pieces] = this.#pieces(message);
    return pieceLines(tags, head, pieces);
  }

  /**
   * A message's line head and the pieces of its text that fit after it: a long text
   * goes out whole in several lines, wherever it came from (IRC clients among others
   * may send more than fits once the server's longer source is in front).
   */
  #pieces(
    message: Pick<ChatMessage, "kind" | "from" | "room" | "to" | "text">,
  ): [string, string[]] {
    const target = message.kind === "private" ? message.to! : channelOf(message.room);
    const command = this.notices.has(message as ChatMessage) ? "NOTICE" : "PRIVMSG";
    const head = `:${this.mask(message.from)} ${command} ${target} :`;
    const pieces = message.kind === "action"
      ? textPieces(head, message.text, ctcpAction)
      : textPieces(head, message.text);
    return [head, pieces];
  }

  /** Sends `line` to every IRC session in `room` but `except` (with capability `cap`, if given). */
  #tell(room: Room<Session>, line: string, except: IrcSession | null = null, cap?: string): void {
    const members = this.#inRoom.get(room);
    if (!members) return;
    const bytes = encoder.encode(line);
    for (const member of members) {
      if (member !== except && (cap === undefined || member.caps.has(cap))) {
        member.conn.deliver(bytes);
      }
    }
  }

  /** Tells `away-notify` clients in `session`'s room that it went away or came back. */
  awayChanged(session: IrcSession): void {
    if (session.room === null) return;
    const line = session.away === null
      ? ircLine(session.mask, "AWAY")
      : ircLine(session.mask, "AWAY", session.away);
    this.#tell(session.room, line, session, "away-notify");
  }

  /** A member's room, name or topic changed: IRC says so one line per person, at once. */
  #changed(change: MemberChange): void {
    const { session } = change;
    const irc = session instanceof IrcSession ? session : null;
    switch (change.kind) {
      case "named":
        this.peakMembers = Math.max(this.peakMembers, this.hub.members.size);
        this.#monitored(session.name!, "730", irc?.mask ?? this.mask(session.name!));
        break;
      case "joined": {
        const { room } = change;
        if (irc) {
          let members = this.#inRoom.get(room);
          if (!members) this.#inRoom.set(room, members = new Set());
          members.add(irc);
        }
        this.#tell(
          room,
          ircLine(irc?.mask ?? this.mask(session.name!), "JOIN", channelOf(room.name)),
        );
        if (irc?.away != null) this.awayChanged(irc); // away-notify: said after the JOIN
        break;
      }
      case "parted": {
        const { room, reason } = change;
        this.#forget(room, irc);
        const line = reason === undefined
          ? ircLine(irc?.mask ?? this.mask(session.name!), "PART", channelOf(room.name))
          : ircLine(irc?.mask ?? this.mask(session.name!), "PART", channelOf(room.name), reason);
        this.#tell(room, line);
        irc?.raw(line);
        break;
      }
      case "quit": {
        const { room, reason } = change;
        if (room !== null) this.#forget(room, irc);
        // A shutdown tells no one of each leave: that would be a line per pair of members.
        if (this.hub.closing) break;
        this.#monitored(session.name!, "731", session.name!);
        if (room === null) break;
        this.#tell(
          room,
          ircLine(irc?.mask ?? this.mask(session.name!), "QUIT", quitReason(reason)),
        );
        break;
      }
      case "renamed": {
        const line = ircLine(
          irc
            ? `${change.old}!${irc.user}@${irc.host}`
            : `${change.old}!${change.old}@${CHAT_HOST}`,
          "NICK",
          session.name!,
        );
        if (change.room) this.#tell(change.room, line, irc);
        irc?.raw(line);
        if (nameKey(change.old) !== nameKey(session.name!)) { // a change of case is no news
          this.#monitored(change.old, "731", change.old);
          this.#monitored(session.name!, "730", irc?.mask ?? this.mask(session.name!));
        }
        break;
      }
      case "topic": {
        const { room } = change;
        this.topics.set(room.key, { by: session.name!, at: Date.now() });
        this.#tell(
          room,
          ircLine(irc?.mask ?? this.mask(session.name!), "TOPIC", channelOf(room.name), room.topic),
        );
        break;
      }
    }
  }

  /** Tells those who MONITOR `name` that it came (730) or went (731). */
  #monitored(name: string, numeric: "730" | "731", what: string): void {
    const watchers = this.watchers.get(nameKey(name));
    if (!watchers) return;
    for (const watcher of watchers) watcher.reply(numeric, what);
  }

  #forget(room: Room<Session>, irc: IrcSession | null): void {
    if (!irc) return;
    const members = this.#inRoom.get(room);
    members?.delete(irc);
    if (members?.size === 0) this.#inRoom.delete(room);
  }

  /** Pings the clients that have been silent for an interval; drops those silent for two. */
  #ping(): void {
    const now = performance.now();
    const { pingInterval, serverName } = this.options;
    for (const session of this.sessions) {
      const silent = now - session.heardAt;
      if (silent < pingInterval) continue;
      if (session.pinged) {
        session.raw(ircLine("", "ERROR", "Closing Link: ping timeout"));
        this.hub.leave(session, reasons.timedOut, true);
      } else {
        session.pinged = true;
        session.raw(ircLine("", "PING", serverName));
      }
    }
  }
}

const ctcpAction = (piece: string) => `\x01ACTION ${piece}\x01`;

/** A refusal at the door (`!! server full; …`) as IRC says it: an `ERROR` line. */
export function ircRefusal(line: string): string {
  return ircLine("", "ERROR", `Closing Link: ${line.replace(/^!! /, "")}`);
}

/** A chat leave reason as an IRC QUIT message (`quit: bye` → `Quit: bye`). */
function quitReason(reason: string | undefined): string {
  if (reason === undefined) return "Quit";
  const words = /^quit: (.*)$/s.exec(reason);
  return words ? `Quit: ${words[1]}` : reason;
}

/** What a command handler gets: the session and the command's parameters. */
type Handler = (session: IrcSession, params: string[]) => void;

/** An IRC client: a session whose lines are IRC commands. */
export class IrcSession extends Session {
  /** The nick asked for before registration; the name once registered. */
  nick: string | null = null;
  user = "";
  realname = "";
  /** The host shown in this member's `nick!user@host`: the cloak of its address. */
  readonly host: string;
  /** The real address: shown to no one but through {@linkcode IrcFront.realAddress}. */
  readonly address: string;
  registered = false;
  /** Registration waits for `CAP END` once a client has sent `CAP LS` or `CAP REQ`. */
  negotiating = false;
  readonly caps = new Set<string>();
  /** User mode +i: a WHO mask shows this member only to those in its room. */
  invisible = false;
  /** The away message, or `null` when here. */
  away: string | null = null;
  /** When the client last sent anything (`performance.now()`), for pings. */
  heardAt = performance.now();
  /** Set when a ping went out and nothing was heard since. */
  pinged = false;
  /** Nicks this client MONITORs, by {@linkcode nameKey}. */
  readonly monitoring = new Set<string>();
  /**
   * Bytes of the line being handled as IRC counts them: CRLF included, tags left out.
   * Within {@linkcode LINE_MAX} it is a standard IRC line (see `message`).
   */
  lineBytes = 0;
  #batches = 0;

  /** Makes the session of `conn` for `front`. */
  constructor(readonly front: IrcFront, conn: Connection) {
    super(front.hub, conn);
    this.address = addressOf(conn.remote);
    this.host = front.cloaks.of(this.address);
  }

  /** `nick!user@host`. */
  get mask(): string {
    return `${this.name ?? this.nick ?? "*"}!${this.user || "~u"}@${this.host}`;
  }

  /** What numerics address: the nick, or `*` before there is one. */
  get target(): string {
    return this.name ?? this.nick ?? "*";
  }

  /** Queues IRC text (whole lines with their CRLF). */
  raw(text: string): void {
    if (!this.closed) this.conn.deliver(encoder.encode(text));
  }

  /** Sends a numeric reply from the server, addressed to this client. */
  reply(numeric: string, ...params: string[]): void {
    this.raw(ircLine(this.front.options.serverName, numeric, this.target, ...params));
  }

  /** A line from the server (a command, not a numeric). */
  fromServer(command: string, ...params: string[]): void {
    this.raw(ircLine(this.front.options.serverName, command, ...params));
  }

  /**
   * A chat message comes as IRC lines; the room's merged notices are skipped (the hook
   * tells each change), and so is any other text the chat protocol's clients get.
   */
  override deliver(_bytes: Uint8Array, what?: Delivery): void {
    if (what === undefined || what.kind === "notice") return;
    this.conn.deliver(this.front.lines(what, this.caps.has("server-time")));
  }

  /**
   * What the hub tells this member, as IRC says it. Entering a room brings its topic
   * (332, 333), names (353, 366) and replay; refusals are numerics. Joins, parts,
   * renames and topics are told by the change hook (one line per person, this member
   * included); the answers to the chat's own commands (`/who`, `/help` …) never come,
   * as IRC has commands of its own.
   */
  override tell(event: Event): void {
    if (this.closed) return;
    switch (event.type) {
      case "entered":
        if (this.room) {
          topic(this, this.room, false);
          names(this, this.room);
        }
        return;
      case "history":
        return this.#replay(event.room, event.entries);
      case "shutdown":
        return this.fromServer("NOTICE", this.target, event.reason);
      case "error":
        return this.#refused(event);
    }
  }

  /** A refusal as a numeric, an `ERROR` for one that ends the connection, or a NOTICE. */
  #refused(problem: ErrorEvent): void {
    switch (problem.code) {
      case "nameTaken":
        return this.reply("433", problem.name, "Nickname is already in use");
      case "nameReserved":
        return this.reply("432", problem.name, "Nickname is reserved");
      case "nameRegistered":
        // SASL and NickServ come later; until then a registered nick is as good as in use.
        return this.reply("433", problem.name, "Nickname is registered to an account");
      case "badName":
        return this.reply("432", problem.name, "Erroneous nickname");
      case "tooManyRooms":
      case "tooManyRoomsFromAddress":
        return this.reply("405", channelOf(problem.room), "You have joined too many channels");
      case "lineTooLong":
        return this.reply("417", "Input line was too long");
      case "tooManyLongLines":
      case "noNameInTime":
      case "nameLost":
        // The last line before the connection ends: the chat's words, as IRC's ERROR.
        return this.raw(ircLine("", "ERROR", `Closing Link: ${problemWords(problem)}`));
      case "historyTooFast":
        return this.fromServer(
          "NOTICE",
          this.target,
          `History is not replayed: too much sent lately (again in ${problem.seconds} s)`,
        );
      case "internal":
        return this.fromServer("NOTICE", this.target, "Internal error (it was logged)");
      default:
        // Refusals of the chat's own commands, which IRC clients cannot send.
        return this.fromServer("NOTICE", this.target, `Refused: ${problem.code}`);
    }
  }

  override dispose(): void {
    super.dispose();
    this.front.sessions.delete(this);
    for (const key of this.monitoring) unmonitor(this, key);
  }

  protected override handle(bytes: Uint8Array): void {
    this.heardAt = performance.now();
    this.pinged = false;
    this.lineBytes = bytes.length + 2 - (bytes[0] === 0x40 ? bytes.indexOf(0x20) + 1 : 0);
    let line: string;
    try {
      line = strictDecoder.decode(bytes);
    } catch {
      const command = parseCommand(decoder.decode(bytes))?.command ?? "*";
      return this.fromServer("FAIL", command, "INVALID_UTF8", "Lines must be UTF-8");
    }
    const parsed = parseCommand(line);
    if (parsed === null) return;
    const { command, params } = parsed;
    if (!BEFORE_REGISTRATION.has(command) && !this.registered) {
      return this.reply("451", "You have not registered");
    }
    if (!Object.hasOwn(COMMANDS, command)) return this.reply("421", command, "Unknown command");
    COMMANDS[command](this, params);
  }

  /** Registers once NICK and USER are in and capability negotiation is over. */
  tryRegister(): void {
    if (this.registered || this.negotiating || this.nick === null || !this.user) return;
    const { hub } = this;
    const nick = this.nick;
    // In a cluster the nick is claimed in Redis first; what the client sends meanwhile waits.
    if (hub.cluster && !hub.nameError(nick, this)) {
      return hub.claim(this, nick, "", (taken) => {
        this.#register(taken ? { code: "nameTaken", name: nick } : null);
      });
    }
    this.#register(hub.nameError(nick, this));
  }

  #register(problem: Problem | null): void {
    problem ??= this.hub.register(this, this.nick!);
    if (problem) {
      this.tell(failed(problem));
      this.nick = null;
      return;
    }
    this.registered = true;
    this.welcome();
  }

  /** 001–005, the user counts and the MOTD (there is none: 422). */
  welcome(): void {
    const { serverName } = this.front.options;
    const nick = this.name!;
    this.reply("001", `Welcome to the ${NETWORK} IRC network, ${nick}`);
    this.reply("002", `Your host is ${serverName}, running version ${VERSION}`);
    this.reply("003", `This server was created ${this.front.created.toUTCString()}`);
    this.reply("004", serverName, VERSION, "i", "bn");
    const tokens = [
      "AWAYLEN=300",
      "CASEMAPPING=ascii",
      "CHANLIMIT=#:1",
      "CHANMODES=b,,,n",
      `CHANNELLEN=${NAME_MAX + 1}`,
      "CHANTYPES=#",
      `MONITOR=${MONITOR_MAX}`,
      `NETWORK=${NETWORK}`,
      `NICKLEN=${NAME_MAX}`,
      "PREFIX=(ov)@+",
      `TARGMAX=JOIN:${TARGETS_MAX},PART:${TARGETS_MAX},PRIVMSG:${TARGETS_MAX},NOTICE:${TARGETS_MAX}`,
      `TOPICLEN=${TOPIC_MAX}`,
      "UTF8MAPPING=rfc8265",
      "UTF8ONLY",
      "WHOX",
    ];
    // At most 15 parameters to a line (RFC 2812 2.3): the tokens go in two.
    this.reply("005", ...tokens.slice(0, 7), "are supported by this server");
    this.reply("005", ...tokens.slice(7), "are supported by this server");
    lusers(this);
    this.reply("422", "MOTD File is missing");
  }

  /** Replays a room's recent history as PRIVMSGs (with `@time`, in a batch if asked for). */
  #replay(room: string, entries: readonly HistoryEntry[]): void {
    const time = this.caps.has("server-time");
    const batch = this.caps.has("batch") ? `h${++this.#batches}` : null;
    const lines: string[] = [];
    const { serverName } = this.front.options;
    if (batch) {
      lines.push(ircLine(serverName, "BATCH", `+${batch}`, "chathistory", channelOf(room)));
    }
    for (const entry of entries) {
      const tags = batch
        ? `@batch=${batch}${time ? `;time=${new Date(entry.time).toISOString()}` : ""} `
        : time
        ? timeTag(entry.time)
        : "";
      lines.push(this.front.render({ ...entry, room }, tags));
    }
    if (batch) lines.push(ircLine(serverName, "BATCH", `-${batch}`));
    const text = lines.join("");
    this.raw(text);
    this.historySent(text.length);
  }
}

/** The address part of `host:port` or `[v6]:port` (as it is, if it has no port). */
function addressOf(remote: string): string {
  const v6 = /^\[(.*)\]:\d+$/.exec(remote);
  if (v6) return v6[1];
  const colon = remote.lastIndexOf(":");
  return /^[^:]*:\d+$/.test(remote) ? remote.slice(0, colon) : remote;
}

/** Commands a client may send before it is registered. */
const BEFORE_REGISTRATION = new Set(["CAP", "NICK", "USER", "PASS", "PING", "PONG", "QUIT"]);

/** 251–255 and 265–266: how many are here. */
function lusers(session: IrcSession): void {
  const { hub, front } = session;
  const members = hub.members.size;
  const peak = String(front.peakMembers);
  const unregistered = hub.sessions.size - members;
  session.reply("251", `There are ${members} users and 0 invisible on 1 servers`);
  if (unregistered > 0) session.reply("253", String(unregistered), "unknown connection(s)");
  session.reply("254", String(hub.rooms.size), "channels formed");
  session.reply("255", `I have ${members} clients and 0 servers`);
  session.reply("265", String(members), peak, `Current local users ${members}, max ${peak}`);
  session.reply("266", String(members), peak, `Current global users ${members}, max ${peak}`);
}

/** `nick` as a chat name, or the numeric that refuses it. */
function nickProblem(session: IrcSession, nick: string): ["432" | "433", string] | null {
  if (checkName(nick)) return ["432", "Erroneous nickname"];
  if (session.hub.isReserved(nick)) return ["432", "Nickname is reserved"];
  const key = nameKey(nick);
  const holder = session.hub.members.get(key);
  if (holder && holder !== session) return ["433", "Nickname is already in use"];
  if (!holder && session.hub.cluster?.remoteName(key) !== undefined) {
    return ["433", "Nickname is already in use"]; // on another server of the cluster
  }
  return null;
}

/**
 * The IRC channel of the room called `room`: its name with a `#` in front. Room
 * names have none of their own (see `roomName`), but one from an older server of a
 * cluster might: it is not doubled.
 */
export function channelOf(room: string): string {
  return room.startsWith("#") ? room : `#${room}`;
}

/** The room a `#channel` parameter names, if it exists (`##dev` names none: see `join`). */
function roomOf(session: IrcSession, channel: string): Room<Session> | undefined {
  // `#dev` is the room `dev`; `##dev` would be a room `#dev`, and room names have no `#`.
  if (!channel.startsWith("#") || channel.startsWith("##")) return undefined;
  const { hub } = session;
  const key = roomKey(channel.slice(1));
  const room = hub.rooms.get(key);
  if (room || !hub.cluster) return room;
  // A channel whose members are all on other servers of the cluster: a view of it, with
  // no one here in it (so it answers NAMES, WHO and TOPIC, and refuses what needs a member).
  const remote = hub.cluster.membersIn(key, 0);
  if (remote.count === 0) return undefined;
  const view = new Room<Session>(remote.room!, hub.options);
  view.topic = hub.history.topic(key);
  return view;
}

/** Sends 353s (split to fit the line) and 366 for `room`. */
function names(session: IrcSession, room: Room<Session>): void {
  const { front } = session;
  const full = session.caps.has("userhost-in-names");
  const channel = channelOf(room.name);
  const head = `:${front.options.serverName} 353 ${session.target} = ${channel} :`;
  const budget = LINE_MAX - 2 - byteLength(head);
  let line = "";
  let bytes = 0;
  let out = "";
  // Those here, then those on the other servers of a cluster.
  const remote = session.hub.cluster?.membersIn(room.key, Infinity).names ?? [];
  for (const name of [...[...room.members].map((member) => member.name!), ...remote]) {
    const entry = full ? front.mask(name) : name;
    const size = byteLength(entry);
    if (line && bytes + 1 + size > budget) {
      out += `${head}${line}\r\n`;
      line = "";
    }
    bytes = line ? bytes + 1 + size : size;
    line = line ? `${line} ${entry}` : entry;
  }
  if (line) out += `${head}${line}\r\n`;
  session.raw(out);
  session.reply("366", channel, "End of /NAMES list");
}

/** Sends the topic of `room` (332 and 333), or 331 when `always` and there is none. */
function topic(session: IrcSession, room: Room<Session>, always: boolean): void {
  const channel = channelOf(room.name);
  if (!room.topic) {
    if (always) session.reply("331", channel, "No topic is set");
    return;
  }
  session.reply("332", channel, room.topic);
  const set = session.front.topics.get(room.key);
  if (set) session.reply("333", channel, set.by, String(Math.floor(set.at / 1000)));
}

/** One 352 for `member` (in `channel`, or `*`). */
function whoEntry(session: IrcSession, channel: string, member: Member): void {
  const { name } = member;
  const irc = member instanceof IrcSession ? member : null;
  const flags = irc?.away != null ? "G" : "H";
  session.reply(
    "352",
    channel,
    irc?.user ?? name!,
    irc?.host ?? CHAT_HOST,
    session.front.options.serverName,
    name!,
    flags,
    `0 ${irc?.realname || name}`,
  );
}

/** Whether `member` is invisible (+i) to `asker`: not itself, nor in the same room. */
function hidden(asker: IrcSession, member: Session): boolean {
  if (!(member instanceof IrcSession) || !member.invisible || member === asker) return false;
  return member.room === null || member.room !== asker.room;
}

/** Targets of one JOIN, PART, PRIVMSG or NOTICE (each costs what a line does). */
const TARGETS_MAX = 4;

/**
 * `list` split at commas, each target once (`x,X,#a,#A` is `x,#a`: targets compare as
 * names and rooms do), or `null` (after a 407) when it names more than TARGETS_MAX.
 */
function targets(session: IrcSession, list: string, quiet = false): string[] | null {
  const names = list.split(",");
  if (names.length > TARGETS_MAX) {
    if (!quiet) session.reply("407", list, `Too many targets (at most ${TARGETS_MAX})`);
    return null;
  }
  if (names.length === 1) return names;
  const keys = names.map((name) => name.startsWith("#") ? `#${roomKey(name)}` : nameKey(name));
  return names.filter((_, i) => keys.indexOf(keys[i]) === i);
}

/**
 * Members one WHO lists at most (clients send `WHO #room` on joining): a big room's
 * full list would fill the client's output queue (`--max-queue`) and have it dropped.
 */
const WHO_MAX = 500;

/** One 354 (WHOX) for `member` with the fields asked for, in their fixed order. */
function whoxEntry(session: IrcSession, channel: string, member: Member, spec: string): void {
  const [fields, token = ""] = spec.split(",", 2);
  const irc = member instanceof IrcSession ? member : null;
  const name = member.name!;
  const values: Record<string, string> = {
    t: token,
    c: channel,
    u: irc?.user ?? name,
    i: (irc && session.front.realAddress(session, irc)) ?? "255.255.255.255",
    h: irc?.host ?? CHAT_HOST,
    s: session.front.options.serverName,
    n: name,
    f: irc?.away != null ? "G" : "H",
    d: "0",
    l: irc ? String(Math.floor((performance.now() - irc.heardAt) / 1000)) : "0",
    a: "0",
    o: "n/a",
    r: irc?.realname || name,
  };
  const out: string[] = [];
  for (const field of "tcuihsnfdlaor") if (fields.includes(field)) out.push(values[field]);
  session.reply("354", ...out);
}

/** Posts a PRIVMSG or NOTICE to each of its targets. */
function message(session: IrcSession, params: string[], notice: boolean): void {
  const { hub, front } = session;
  if (params.length === 0 || params[0] === "") {
    if (!notice) session.reply("411", "No recipient given (PRIVMSG)");
    return;
  }
  let raw = params[1] ?? "";
  let kind: "message" | "action" = "message";
  if (raw.startsWith("\x01")) {
    // deno-lint-ignore no-control-regex
    const ctcp = /^\x01(\S+)(?: (.*?))?\x01?$/s.exec(raw);
    if (ctcp?.[1].toUpperCase() !== "ACTION") return; // other CTCPs mean nothing to the chat
    kind = "action";
    raw = ctcp[2] ?? "";
  }
  const text = cleanText(raw);
  if (text === "") {
    if (!notice) session.reply("412", "No text to send");
    return;
  }
  for (const target of targets(session, params[0], notice) ?? []) {
    if (target.startsWith("#")) {
      const room = roomOf(session, target);
      if (!room) {
        if (!notice) session.reply("403", target, "No such channel");
        continue;
      }
      if (session.room !== room) {
        if (!notice) session.reply("404", target, "Cannot send to channel (you are not in it)");
        continue;
      }
      const said: ChatMessage = {
        kind,
        from: session.name!,
        room: room.name,
        text,
        time: Date.now(),
      };
      if (notice) front.notices.add(said);
      if (tooLongToRelay(session, said)) continue;
      hub.post(said, session);
      if (session.caps.has("echo-message")) {
        session.conn.deliver(front.lines(said, session.caps.has("server-time")));
      }
      continue;
    }
    // Here or on another server of the cluster.
    const to = hub.memberName(target);
    if (to === undefined) {
      if (!notice) session.reply("401", target, "No such nick/channel");
      continue;
    }
    const member = hub.members.get(nameKey(to));
    const said: ChatMessage = {
      kind: "private",
      from: session.name!,
      room: session.room?.name ?? "",
      to,
      // The chat has no private actions: one shows as the words /me would have said.
      text: kind === "action" ? `* ${session.name} ${text}` : text,
      time: Date.now(),
    };
    if (notice) front.notices.add(said);
    if (tooLongToRelay(session, said)) continue;
    hub.post(said, session);
    if (session.caps.has("echo-message")) {
      session.conn.deliver(front.lines(said, session.caps.has("server-time")));
    }
    if (!notice && member instanceof IrcSession && member.away !== null) {
      session.reply("301", to, member.away);
    }
  }
}

/**
 * Whether `said`, sent in a standard IRC line (512 bytes at most), would take more
 * than one line once relayed with its sender's source in front: it is then refused
 * with 417, not cut. IRC servers relay a line as one line (irctest pins that), and
 * the sender's client can split it where it likes; a longer line than IRC allows
 * was meant to be long, and is split for IRC recipients (see `IrcFront.lines`).
 */
function tooLongToRelay(session: IrcSession, said: ChatMessage): boolean {
  if (session.lineBytes > LINE_MAX || session.front.lineCount(said) === 1) return false;
  session.reply("417", "Input line was too long to relay in one line");
  return true;
}

/** JOIN: each channel in turn; a member is in one at a time, so the last one wins. */
function join(session: IrcSession, params: string[]): void {
  const { hub } = session;
  const list = params[0];
  if (!list) return session.reply("461", "JOIN", "Not enough parameters");
  if (list === "0") {
    if (session.room) hub.part(session);
    return;
  }
  for (const channel of targets(session, list) ?? []) {
    if (!channel.startsWith("#")) {
      session.reply("403", channel, "No such channel");
      continue;
    }
    const name = channel.slice(1).normalize("NFC");
    if (checkRoomName(name) || name.startsWith("#")) {
      session.reply("479", channel, "Illegal channel name");
      continue;
    }
    if (session.room?.key === roomKey(name)) continue;
    // Told as it happens: the JOIN (change hook), then topic, names and replay, or a 405.
    hub.move(session, name);
  }
}

/** The handler of each command. */
const COMMANDS: Record<string, Handler> = {
  CAP(session, params) {
    const sub = (params[0] ?? "").toUpperCase();
    const target = session.target;
    switch (sub) {
      case "LS":
        if (!session.registered) session.negotiating = true;
        session.fromServer("CAP", target, "LS", CAPABILITIES.join(" "));
        return;
      case "LIST":
        session.fromServer("CAP", target, "LIST", [...session.caps].join(" "));
        return;
      case "REQ": {
        if (!session.registered) session.negotiating = true;
        const wanted = (params[1] ?? "").trim().split(/ +/).filter(Boolean);
        const known = wanted.every((cap) => CAPABILITIES.includes(cap.replace(/^-/, "")));
        if (!known || wanted.length === 0) {
          session.fromServer("CAP", target, "NAK", params[1] ?? "");
          return;
        }
        for (const cap of wanted) {
          if (cap.startsWith("-")) session.caps.delete(cap.slice(1));
          else session.caps.add(cap);
        }
        session.fromServer("CAP", target, "ACK", params[1] ?? "");
        return;
      }
      case "END":
        session.negotiating = false;
        session.tryRegister();
        return;
      default:
        session.reply("410", sub || "*", "Invalid CAP command");
    }
  },
  PASS(session) {
    if (session.registered) session.reply("462", "You may not reregister");
  },
  NICK(session, params) {
    const nick = (params[0] ?? "").normalize("NFC");
    if (nick === "") return session.reply("431", "No nickname given");
    const problem = nickProblem(session, nick);
    if (problem) return session.reply(problem[0], nick, problem[1]);
    if (!session.registered) {
      session.nick = nick;
      return session.tryRegister();
    }
    if (nick === session.name) return;
    const { hub } = session;
    if (hub.cluster && nameKey(nick) !== nameKey(session.name!)) {
      // Claimed in Redis first, so that a nick taken elsewhere gets its 433 too.
      return hub.claim(session, nick, session.room?.name ?? "", (taken) => {
        if (taken) return session.reply("433", nick, "Nickname is already in use");
        hub.rename(session, nick);
      });
    }
    hub.rename(session, nick); // answered by the change hook's NICK, or a 432 or 433
  },
  USER(session, params) {
    if (session.registered) return session.reply("462", "You may not reregister");
    if (params.length < 4 || params[0] === "" || params[3] === "") {
      return session.reply("461", "USER", "Not enough parameters");
    }
    session.user = cleanUser(params[0]);
    session.realname = cleanText(params[3]);
    session.tryRegister();
  },
  PING(session, params) {
    if (params.length === 0) return session.reply("409", "No origin specified");
    const { serverName } = session.front.options;
    session.fromServer("PONG", serverName, params[0]);
  },
  PONG() {},
  QUIT(session, params) {
    const words = params[0] ? cleanText(params[0]) : "";
    session.raw(ircLine("", "ERROR", `Closing Link: ${session.host} (Quit: ${words})`));
    session.hub.leave(session, words ? reasons.quit(words) : undefined, true);
  },
  JOIN: join,
  PART(session, params) {
    if (!params[0]) return session.reply("461", "PART", "Not enough parameters");
    const reason = params[1] ? cleanText(params[1]) : undefined;
    for (const channel of targets(session, params[0]) ?? []) {
      const room = roomOf(session, channel);
      if (!room) session.reply("403", channel, "No such channel");
      else if (session.room !== room) session.reply("442", channel, "You're not on that channel");
      else session.hub.part(session, reason || undefined);
    }
  },
  PRIVMSG: (session, params) => message(session, params, false),
  NOTICE: (session, params) => message(session, params, true),
  TOPIC(session, params) {
    if (!params[0]) return session.reply("461", "TOPIC", "Not enough parameters");
    const room = roomOf(session, params[0]);
    if (!room) return session.reply("403", params[0], "No such channel");
    if (params.length === 1) return topic(session, room, true);
    if (session.room !== room) return session.reply("442", params[0], "You're not on that channel");
    const text = cleanText(params[1]);
    if ([...text].length > TOPIC_MAX) {
      return session.reply("417", `Topic too long (at most ${TOPIC_MAX} characters)`);
    }
    session.hub.setTopic(session, text); // the change hook tells the TOPIC line
  },
  NAMES(session, params) {
    const channel = params[0]?.split(",")[0];
    const room = channel ? roomOf(session, channel) : session.room;
    if (room) names(session, room);
    else session.reply("366", channel || "*", "End of /NAMES list");
  },
  WHO(session, params) {
    const mask = params[0] || "*";
    const whox = params[1]?.startsWith("%") ? params[1].slice(1) : null;
    const entry = (channel: string, member: Member) =>
      whox === null
        ? whoEntry(session, channel, member)
        : whoxEntry(session, channel, member, whox);
    const room = roomOf(session, mask);
    if (room) {
      // Those here, then those on the other servers of a cluster.
      const lists: Iterable<Member>[] = [
        room.members,
        session.hub.cluster?.membersOf(room.key) ?? [],
      ];
      let listed = 0;
      for (const member of lists.values().flatMap((members) => members)) {
        entry(channelOf(room.name), member);
        if (++listed === WHO_MAX) break;
      }
    } else if (isGlob(mask)) {
      // Folded as names are, so that the members' keys are what it is matched against;
      // a mask over GLOB_MAX matches no one, so it is not even folded.
      const folded = mask.length <= GLOB_MAX ? nameKey(mask) : "";
      let listed = 0;
      for (const [key, member] of folded ? session.hub.members : []) {
        if (!member.name || !matchGlob(folded, key) || hidden(session, member)) continue;
        entry("*", member);
        if (++listed === WHO_MAX) break;
      }
    } else {
      const member = session.hub.members.get(nameKey(mask));
      if (member) entry("*", member); // +i hides from masks, not from a nick asked for
    }
    session.reply("315", mask, "End of /WHO list");
  },
  WHOIS(session, params) {
    const nick = params[params.length - 1] ?? "";
    if (!nick) return session.reply("431", "No nickname given");
    // Here, or on another server of the cluster (shown as a chat member: its details stay there).
    const member = session.hub.findMember(nick);
    if (!member?.name) {
      session.reply("401", nick, "No such nick/channel");
      return session.reply("318", nick, "End of /WHOIS list");
    }
    const irc = member instanceof IrcSession ? member : null;
    const name = member.name;
    const room = typeof member.room === "string" ? member.room : member.room?.name;
    session.reply(
      "311",
      name,
      irc?.user ?? name,
      irc?.host ?? CHAT_HOST,
      "*",
      irc?.realname || name,
    );
    const address = irc && session.front.realAddress(session, irc);
    if (address) session.reply("378", name, `is connecting from *@${address} ${address}`);
    if (room) session.reply("319", name, channelOf(room));
    session.reply("312", name, session.front.options.serverName, irc ? "IRC" : "chat");
    if (irc?.away != null) session.reply("301", name, irc.away);
    session.reply("318", name, "End of /WHOIS list");
  },
  LIST(session, params) {
    const wanted = params[0]?.split(",").filter((channel) => channel.startsWith("#"));
    session.reply("321", "Channel", "Users  Name");
    // Every room of the cluster, with those here and elsewhere counted.
    const keys = wanted && new Set(wanted.map(roomKey));
    for (const room of session.hub.roomList()) {
      if (keys && !keys.has(roomKey(room.name))) continue;
      session.reply("322", channelOf(room.name), String(room.members), room.topic);
    }
    session.reply("323", "End of /LIST");
  },
  MODE(session, params) {
    const target = params[0];
    if (!target) return session.reply("461", "MODE", "Not enough parameters");
    if (target.startsWith("#")) {
      const room = roomOf(session, target);
      if (!room) return session.reply("403", target, "No such channel");
      const change = params[1];
      if (change === undefined) return session.reply("324", channelOf(room.name), "+n");
      if (/^[+]?b$/.test(change) && params.length === 2) {
        return session.reply("368", channelOf(room.name), "End of channel ban list");
      }
      return session.reply("482", channelOf(room.name), "You're not channel operator");
    }
    if (nameKey(target) !== nameKey(session.name!)) {
      return session.reply("502", "Can't change mode for other users");
    }
    const change = params[1];
    if (change === undefined) return session.reply("221", session.invisible ? "+i" : "+");
    if (!/^[+-]i+$/.test(change)) return session.reply("501", "Unknown MODE flag");
    const invisible = change.startsWith("+");
    if (invisible === session.invisible) return;
    session.invisible = invisible;
    session.raw(ircLine(session.mask, "MODE", session.name!, invisible ? "+i" : "-i"));
  },
  MOTD: (session) => session.reply("422", "MOTD File is missing"),
  MONITOR: monitor,
  HELP: help,
  HELPOP: help,
  TIME: (session) =>
    session.reply("391", session.front.options.serverName, new Date().toUTCString()),
  INFO(session) {
    session.reply("371", `${VERSION}: the IRC front-end of a small chat server`);
    session.reply("374", "End of INFO list");
  },
  LUSERS: lusers,
  VERSION: (session) =>
    session.reply("351", VERSION, session.front.options.serverName, "chat server, IRC front-end"),
  AWAY(session, params) {
    const words = params[0] ? cleanText(params[0]) : "";
    if (words) {
      session.away = words;
      session.reply("306", "You have been marked as being away");
    } else {
      session.away = null;
      session.reply("305", "You are no longer marked as being away");
    }
    session.front.awayChanged(session);
  },
  USERHOST(session, params) {
    const found: string[] = [];
    for (const nick of params.slice(0, 5)) {
      const member = session.hub.members.get(nameKey(nick));
      if (!member) continue;
      const irc = member instanceof IrcSession ? member : null;
      const here = irc?.away != null ? "-" : "+";
      found.push(`${member.name}=${here}${irc?.user ?? member.name}@${irc?.host ?? CHAT_HOST}`);
    }
    session.reply("302", found.join(" "));
  },
  ISON(session, params) {
    const here = params.flatMap((words) => words.split(" "))
      .map((nick) => session.hub.members.get(nameKey(nick))?.name)
      .filter((name) => name !== undefined && name !== null);
    session.reply("303", here.join(" "));
  },
};

/** Nicks one client may MONITOR. */
const MONITOR_MAX = 100;

/** Stops `session` monitoring the nick whose key is `key`. */
function unmonitor(session: IrcSession, key: string): void {
  session.monitoring.delete(key);
  const watchers = session.front.watchers.get(key);
  watchers?.delete(session);
  if (watchers?.size === 0) session.front.watchers.delete(key);
}

/** MONITOR + / - / C / L / S: presence notifications for nicks (IRCv3 monitor). */
function monitor(session: IrcSession, params: string[]): void {
  const { hub, front } = session;
  const sub = params[0] ?? "";
  const nicks = (params[1] ?? "").split(",").filter(Boolean);
  switch (sub.toUpperCase()) {
    case "+": {
      const online: string[] = [];
      const offline: string[] = [];
      for (let i = 0; i < nicks.length; i++) {
        const nick = nicks[i];
        if (checkName(nick)) continue; // a mask, or no possible nick
        const key = nameKey(nick);
        if (!session.monitoring.has(key) && session.monitoring.size >= MONITOR_MAX) {
          session.reply(
            "734",
            String(MONITOR_MAX),
            nicks.slice(i).join(","),
            "Monitor list is full",
          );
          break;
        }
        session.monitoring.add(key);
        let watchers = front.watchers.get(key);
        if (!watchers) front.watchers.set(key, watchers = new Set());
        watchers.add(session);
        const member = hub.members.get(key);
        if (member) online.push(front.mask(member.name!));
        else offline.push(nick);
      }
      if (online.length > 0) session.reply("730", online.join(","));
      if (offline.length > 0) session.reply("731", offline.join(","));
      return;
    }
    case "-":
      for (const nick of nicks) unmonitor(session, nameKey(nick));
      return;
    case "C":
      for (const key of session.monitoring) unmonitor(session, key);
      return;
    case "L":
    case "S": {
      const online: string[] = [];
      const offline: string[] = [];
      for (const key of session.monitoring) {
        const member = hub.members.get(key);
        if (sub.toUpperCase() === "L") online.push(member?.name ?? key);
        else if (member) online.push(front.mask(member.name!));
        else offline.push(key);
      }
      if (sub.toUpperCase() === "L") {
        if (online.length > 0) session.reply("732", online.join(","));
        session.reply("733", "End of MONITOR list");
        return;
      }
      if (online.length > 0) session.reply("730", online.join(","));
      if (offline.length > 0) session.reply("731", offline.join(","));
      return;
    }
    default:
      session.reply("461", "MONITOR", "Not enough parameters");
  }
}

/** What HELP says of each command. */
const HELP: Record<string, string> = {
  AWAY: "AWAY [:message]: mark yourself away, or back without a message",
  CAP: "CAP LS|REQ|LIST|END: negotiate IRCv3 capabilities",
  HELP: "HELP [command]: this help",
  INFO: "INFO: about this server",
  ISON: "ISON nick...: which of these nicks are here",
  JOIN: "JOIN #room: go to a room (you are in one at a time: the other is parted)",
  LIST: "LIST [#room,...]: the rooms, with members and topics",
  LUSERS: "LUSERS: how many are here",
  MODE: "MODE #room|nick: modes (rooms are +n; there are no operators)",
  MONITOR: "MONITOR +|-|C|L|S [nicks]: be told when nicks come and go",
  MOTD: "MOTD: the message of the day",
  NAMES: "NAMES [#room]: who is in a room",
  NICK: "NICK name: change your name",
  NOTICE: "NOTICE target :text: like PRIVMSG, never answered",
  PART: "PART #room [:reason]: leave a room",
  PING: "PING token: the server answers PONG",
  PRIVMSG: "PRIVMSG #room|nick :text: say something to a room or to one person",
  QUIT: "QUIT [:reason]: leave",
  TIME: "TIME: the server's time",
  TOPIC: "TOPIC #room [:text]: show or set a room's topic",
  USERHOST: "USERHOST nick...: nicks with their user and host",
  VERSION: "VERSION: the server's version",
  WHO: "WHO #room|mask [%fields]: who is there (WHOX fields too)",
  WHOIS: "WHOIS nick: about one person",
};

/** HELP and HELPOP: 704, 705s and 706, or 524 for an unknown subject. */
function help(session: IrcSession, params: string[]): void {
  const subject = (params[0] ?? "").toUpperCase();
  if (subject === "") {
    session.reply("704", "*", "Commands (HELP <command> for one):");
    session.reply("705", "*", Object.keys(HELP).join(" "));
    return session.reply("706", "*", "End of /HELP");
  }
  const text = HELP[subject];
  if (!text) return session.reply("524", subject, "No help available on this topic");
  session.reply("704", subject, text);
  session.reply("706", subject, "End of /HELP");
}

/** A USER name as shown in masks: no spaces, `@`, `!` or controls, at most a nick's length. */
function cleanUser(user: string): string {
  const cleaned = cleanText(user).replace(/[\s@!:]/g, "").slice(0, NAME_MAX);
  return cleaned || "user";
}
