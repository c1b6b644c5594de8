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
 * - A member may be in several rooms (at most ROOMS_PER_MEMBER, 005 CHANLIMIT):
 *   JOIN adds one, PART leaves that one, QUIT all (nc and the page move instead).
 * - Messages come from the hub with the {@linkcode ChatMessage} beside their
 *   bytes; each is written as IRC once for all IRC recipients (see
 *   {@linkcode IrcFront.lines}). Joins, parts, quits, renames and topics come
 *   from the hub's change hook, one line per person, at once; the chat's merged
 *   notice lines are skipped.
 *
 * @module
 */

import type { Hub, Member, MemberChange } from "../core/hub.ts";
import { ROOMS_PER_MEMBER } from "../core/hub.ts";
import {
  type ChatMessage,
  checkName,
  checkRoomName,
  cleanText,
  NAME_MAX,
  nameKey,
  reasons,
  ROOM_NAME_MAX,
  roomKey,
} from "../core/protocol.ts";
import { markerAt, markerTarget } from "../core/read_markers.ts";
import {
  type ErrorEvent,
  type Event,
  failed,
  type ModerationEvent,
  type PrivateDeletedEvent,
  type Problem,
} from "../core/events.ts";
import type { HistoryEntry } from "../core/history.ts";
import type { PrivateEntry } from "../core/private.ts";
import { chathistory, CHATHISTORY_MAX } from "./chathistory.ts";
import type { Refusal } from "../core/admission.ts";
import { problemWords, renderText } from "../text/render.ts";
import { TOPIC_MAX } from "../core/commands.ts";
import type { RoomRules } from "../core/moderation.ts";
import { deleteMessage } from "../core/moderate.ts";
import { deletePrivate } from "../core/private_delete.ts";
import { Room } from "../core/room.ts";
import { type Connection, Session } from "../core/session.ts";
import type { Delivery, Format } from "../core/delivery.ts";
import { LineFramer } from "../transport/framing.ts";
import { GLOB_MAX, isGlob, matchGlob } from "../core/glob.ts";
import {
  ERR_ALREADYREGISTERED,
  ERR_BADCHANNAME,
  ERR_BADCHANNELKEY,
  ERR_BANLISTFULL,
  ERR_BANNEDFROMCHAN,
  ERR_CANNOTSENDTOCHAN,
  ERR_CHANNELISFULL,
  ERR_CHANOPRIVSNEEDED,
  ERR_ERRONEUSNICKNAME,
  ERR_HELPNOTFOUND,
  ERR_INPUTTOOLONG,
  ERR_INVALIDCAPCMD,
  ERR_INVALIDMODEPARAM,
  ERR_INVITEONLYCHAN,
  ERR_MONLISTFULL,
  ERR_NEEDMOREPARAMS,
  ERR_NICKNAMEINUSE,
  ERR_NOMOTD,
  ERR_NONICKNAMEGIVEN,
  ERR_NOOPERHOST,
  ERR_NOORIGIN,
  ERR_NOPRIVILEGES,
  ERR_NORECIPIENT,
  ERR_NOSUCHCHANNEL,
  ERR_NOSUCHNICK,
  ERR_NOTEXTTOSEND,
  ERR_NOTONCHANNEL,
  ERR_NOTREGISTERED,
  ERR_PASSWDMISMATCH,
  ERR_TOOMANYCHANNELS,
  ERR_TOOMANYTARGETS,
  ERR_UMODEUNKNOWNFLAG,
  ERR_UNKNOWNCOMMAND,
  ERR_UNKNOWNMODE,
  ERR_USERNOTINCHANNEL,
  ERR_USERONCHANNEL,
  ERR_USERSDONTMATCH,
  ERR_WASNOSUCHNICK,
  ERR_YOUREBANNEDCREEP,
  type Numeric,
  RPL_AWAY,
  RPL_BANLIST,
  RPL_CHANNELMODEIS,
  RPL_CREATED,
  RPL_CREATIONTIME,
  RPL_ENDOFBANLIST,
  RPL_ENDOFEXCEPTLIST,
  RPL_ENDOFHELP,
  RPL_ENDOFINFO,
  RPL_ENDOFINVEXLIST,
  RPL_ENDOFMONLIST,
  RPL_ENDOFNAMES,
  RPL_ENDOFWHO,
  RPL_ENDOFWHOIS,
  RPL_ENDOFWHOWAS,
  RPL_EXCEPTLIST,
  RPL_GLOBALUSERS,
  RPL_HELPSTART,
  RPL_HELPTXT,
  RPL_INFO,
  RPL_INVEXLIST,
  RPL_INVITING,
  RPL_ISON,
  RPL_ISUPPORT,
  RPL_LIST,
  RPL_LISTEND,
  RPL_LISTSTART,
  RPL_LOCALUSERS,
  RPL_LUSERCHANNELS,
  RPL_LUSERCLIENT,
  RPL_LUSERME,
  RPL_LUSERUNKNOWN,
  RPL_MONLIST,
  RPL_MONOFFLINE,
  RPL_MONONLINE,
  RPL_MYINFO,
  RPL_NAMREPLY,
  RPL_NOTOPIC,
  RPL_NOWAWAY,
  RPL_TIME,
  RPL_TOPIC,
  RPL_TOPICWHOTIME,
  RPL_UMODEIS,
  RPL_UNAWAY,
  RPL_USERHOST,
  RPL_VERSION,
  RPL_WELCOME,
  RPL_WHOISACCOUNT,
  RPL_WHOISCHANNELS,
  RPL_WHOISHOST,
  RPL_WHOISOPERATOR,
  RPL_WHOISSERVER,
  RPL_WHOISUSER,
  RPL_WHOREPLY,
  RPL_WHOSPCRPL,
  RPL_WHOWASUSER,
  RPL_YOUREOPER,
  RPL_YOURHOST,
} from "./numerics.ts";
import { Cloaks } from "../core/cloak.ts";
import {
  abortSasl,
  accountNumeric,
  accountOf,
  authenticate,
  chanServ,
  fromNickServ,
  histServ,
  loggedIn,
  nickServ,
  register,
  type SaslExchange,
  searchAnswer,
  verify,
  WORDS,
} from "./services.ts";
import { SASL_MECHANISMS } from "./sasl.ts";
import {
  byteLength,
  ircLine,
  LINE_MAX,
  parseCommand,
  pieceLines,
  textPieces,
  timeTag,
} from "./format.ts";

/** The tags (with their `@` and a space to follow) of `message` for a client taking `tags`. */
function tagsOf(message: ChatMessage, tags: Tags): string {
  if (tags === 0) return "";
  const time = tags & TIME_TAG ? timeTag(message.time).slice(1, -1) : "";
  const id = tags & MSGID_TAG && message.id !== undefined ? `msgid=${message.id}` : "";
  // Account names are chat names: nothing in them needs a tag value's escapes.
  const account = tags & ACCOUNT_TAG && message.account !== undefined
    ? `account=${message.account}`
    : "";
  // A webhook's post carries the `bot` tag (message-tags), as bots' messages do on IRCv3 servers.
  const bot = tags & MSGID_TAG && message.bot ? "bot" : "";
  const all = [time, id, account, bot].filter(Boolean).join(";");
  return all ? `@${all} ` : "";
}

/** How the IRC front-end presents itself. */
export interface IrcOptions {
  /** The server name in every reply's source (`--irc-name`). */
  serverName: string;
  /** Milliseconds of silence after which a client is pinged; as long again unanswered drops it. */
  pingInterval: number;
  /** The cloaks shown for IRC users' addresses (default: under a key of this front's own). */
  cloaks?: Cloaks;
  /** `draft/account-registration` lets REGISTER come before NICK, USER and CAP END. Default no. */
  registerBeforeConnect?: boolean;
  /**
   * Milliseconds a connection may use a registered nick without logging in to it
   * before it is renamed to a guest nick (`--nick-timeout`). Default 30000.
   */
  nickTimeout?: number;
}

/** The IRCv3 capabilities implemented, as `CAP LS` lists them. */
export const CAPABILITIES: readonly string[] = [
  "account-notify",
  "account-tag",
  "away-notify",
  "batch",
  "cap-notify",
  "draft/account-registration",
  "draft/message-redaction",
  "draft/chathistory",
  "draft/read-marker",
  "echo-message",
  "extended-join",
  "labeled-response",
  "message-tags",
  "multi-prefix",
  "sasl",
  "server-time",
  "userhost-in-names",
];

/** `CAP LS 302`: the capabilities with their values (`sasl=PLAIN,SCRAM-SHA-256` …). */
function capabilityList(front: IrcFront, withValues: boolean): string {
  if (!withValues) return CAPABILITIES.join(" ");
  const early = front.options.registerBeforeConnect ? "before-connect" : "";
  const values: Record<string, string> = {
    sasl: SASL_MECHANISMS.join(","),
    "draft/account-registration": early,
  };
  return CAPABILITIES.map((cap) => values[cap] ? `${cap}=${values[cap]}` : cap).join(" ");
}

/** The software and version in 002, 004 and 351. */
const VERSION = "chat-irc-1";
/** The network name in 001 and 005. */
const NETWORK = "chat";
/** The host shown for members who came by the chat protocol or the web page. */
const CHAT_HOST = "chat";

const encoder = new TextEncoder();
const EMPTY = new Uint8Array(0);
const decoder = new TextDecoder();
const strictDecoder = new TextDecoder("utf-8", { fatal: true });

/** A chat message's IRC lines, made once for every IRC recipient. */
interface Rendered {
  message: ChatMessage;
  /** `:source PRIVMSG target :`, and the pieces of the text that fit a line after it. */
  head: string;
  pieces: string[];
  /** The lines by {@linkcode Tags} (as needed): with `@time`, `msgid`, `account` tags, or none. */
  encoded: (Uint8Array | null)[];
}

/**
 * The tags a client gets on a chat message, as bits: `@time` (`server-time`),
 * `msgid` (`message-tags`), the message's event id, and `account` (`account-tag`).
 */
type Tags = number;
const TIME_TAG = 1;
const MSGID_TAG = 2;
const ACCOUNT_TAG = 4;

/** One nick WHOWAS remembers: as it was shown (`nick!user@host`, real name) and when it went. */
interface WhowasEntry {
  readonly key: string;
  readonly nick: string;
  readonly user: string;
  readonly host: string;
  readonly realname: string;
  readonly at: number;
}

/**
 * Nicks WHOWAS remembers on this server (a shift of 200 entries costs nothing against a
 * QUIT): at most ~200 × (nick + user + cloak + 100 characters) ≈ 100 KB.
 */
const WHOWAS_MAX = 200;
/** The characters of a real name WHOWAS keeps. */
const WHOWAS_REALNAME_MAX = 100;

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
  /** Nicks that quit or were renamed, oldest first, for WHOWAS: at most WHOWAS_MAX. */
  readonly whowas: WhowasEntry[] = [];
  /** What IRC users' addresses are shown as: no IRC user ever sees another's address. */
  readonly cloaks: Cloaks;
  #last: Rendered | null = null;
  /** A chat event's IRC lines by the {@linkcode Tags} a client takes: a delivery's formats. */
  readonly formats: readonly Format[] = [0, 1, 2, 3, 4, 5, 6, 7].map((tags) => ({
    encode: (event) => event.type === "chat" ? this.lines(event.message, tags) : EMPTY,
  }));
  /** A deleted message's `REDACT` line (`draft/message-redaction`), made once for every client. */
  readonly redaction: Format = {
    encode: (event) => {
      if (event.type !== "deleted") return EMPTY;
      const params = [channelOf(event.room), event.id];
      if (event.reason !== undefined) params.push(event.reason);
      return encoder.encode(ircLine(this.mask(event.by), "REDACT", ...params));
    },
  };
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
   * where that is decided: server operators may (`--admins`, see `Hub.isServerOperator`),
   * in WHOIS (378) and WHOX `%i`. Masks always carry the cloak, as on Ergo.
   */
  realAddress(viewer: IrcSession, member: IrcSession): string | null {
    return this.hub.isServerOperator(viewer) ? member.address : null;
  }

  /** `nick!user@host` of the member called `name` (a chat member's user is its name). */
  mask(name: string): string {
    const member = this.hub.members.get(nameKey(name));
    return member instanceof IrcSession ? member.mask : `${name}!${name}@${CHAT_HOST}`;
  }

  /**
   * The IRC lines of `message`: made once per message and set of `tags`, whatever the
   * number of IRC recipients (cut in the same places whatever the tags).
   */
  lines(message: ChatMessage, tags: Tags): Uint8Array {
    const last = this.#rendered(message);
    return last.encoded[tags] ??= encoder.encode(
      pieceLines(tagsOf(message, tags), last.head, last.pieces),
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
      last = this.#last = { message, head, pieces, encoded: new Array(8).fill(null) };
    }
    return last;
  }

  /** The IRC lines of a message (several if its text is long), each starting with `tags`. */
  render(
    message: Pick<ChatMessage, "kind" | "from" | "room" | "to" | "text" | "bot">,
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
    message: Pick<ChatMessage, "kind" | "from" | "room" | "to" | "text" | "bot">,
  ): [string, string[]] {
    const target = message.kind === "private" ? message.to! : channelOf(message.room);
    const command = this.notices.has(message as ChatMessage) ? "NOTICE" : "PRIVMSG";
    // A webhook's bot speaks as NAME[bot]: no chat name has brackets, so none is mistaken for it.
    const source = message.bot ? `${message.from}[bot]!bot@${CHAT_HOST}` : this.mask(message.from);
    const head = `:${source} ${command} ${target} :`;
    const pieces = message.kind === "action"
      ? textPieces(head, message.text, ctcpAction)
      : textPieces(head, message.text);
    return [head, pieces];
  }

  /**
   * Sends `line` to every IRC session in `room` but the connections of the member `except`
   * (with capability `cap`, if given).
   */
  #tell(room: Room<Session>, line: string, except: Session | null = null, cap?: string): void {
    const members = this.#inRoom.get(room);
    if (!members) return;
    const bytes = encoder.encode(line);
    const skipped = except?.member;
    for (const member of members) {
      if (member.member !== skipped && (cap === undefined || member.caps.has(cap))) {
        member.conn.deliver(bytes);
      }
    }
  }

  /**
   * Sends `line` once to every IRC session in any of `rooms` (a member's several channels:
   * one QUIT, NICK or AWAY per person), but the connections of `except`, with `cap` if given.
   */
  #tellRooms(
    rooms: Iterable<Room<Session>>,
    line: string,
    except: Session | null = null,
    cap?: string,
  ): void {
    const skipped = except?.member;
    let bytes: Uint8Array | null = null;
    const told = new Set<IrcSession>();
    for (const room of rooms) {
      for (const member of this.#inRoom.get(room) ?? []) {
        if (member.member === skipped || told.has(member)) continue;
        told.add(member);
        if (cap !== undefined && !member.caps.has(cap)) continue;
        member.conn.deliver(bytes ??= encoder.encode(line));
      }
    }
  }

  /** Tells a JOIN to everyone in `room`: `extended-join` clients with account and realname. */
  #tellJoin(room: Room<Session>, session: Member, irc: IrcSession | null): void {
    const members = this.#inRoom.get(room);
    if (!members) return;
    const mask = irc?.mask ?? this.mask(session.name!);
    const channel = channelOf(room.name);
    const plain = encoder.encode(ircLine(mask, "JOIN", channel));
    let extended: Uint8Array | null = null;
    for (const member of members) {
      if (!member.caps.has("extended-join")) {
        member.conn.deliver(plain);
        continue;
      }
      const realname = irc?.realname || session.name!;
      extended ??= encoder.encode(
        ircLine(
          mask,
          "JOIN",
          channel,
          (session instanceof Session ? accountOf(session) : null) ?? "*",
          realname,
        ),
      );
      member.conn.deliver(extended);
    }
  }

  /** Tells `away-notify` clients in `session`'s room that it went away or came back. */
  awayChanged(session: IrcSession): void {
    if (session.rooms.size === 0) return;
    const line = session.away === null
      ? ircLine(session.mask, "AWAY")
      : ircLine(session.mask, "AWAY", session.away);
    this.#tellRooms(session.rooms, line, session, "away-notify");
  }

  /** A member's room, name or topic changed: IRC says so one line per person, at once. */
  /** Keeps `nick` (as `irc`, or a chat member, showed it) for WHOWAS, the oldest dropped. */
  #remembered(nick: string, irc: IrcSession | null): void {
    if (this.whowas.length >= WHOWAS_MAX) this.whowas.shift();
    this.whowas.push({
      key: nameKey(nick),
      nick,
      user: irc?.user ?? nick,
      host: irc?.host ?? CHAT_HOST,
      // Real names are cut to a line's worth already; kept shorter here, as 200 of them are.
      realname: [...(irc?.realname || nick)].slice(0, WHOWAS_REALNAME_MAX).join(""),
      at: Date.now(),
    });
  }

  #changed(change: MemberChange): void {
    const { session } = change;
    const irc = session instanceof IrcSession ? session : null;
    // The member's IRC connections (an account's member may have several, of any front-end).
    const ircs = session instanceof Session ? ircConnections(session) : NO_IRC;
    switch (change.kind) {
      case "named":
        this.peakMembers = Math.max(this.peakMembers, this.hub.members.size);
        this.#monitored(session.name!, RPL_MONONLINE, irc?.mask ?? this.mask(session.name!));
        break;
      case "joined": {
        const { room } = change;
        for (const each of ircs) this.#remember(room, each);
        this.#tellJoin(room, session, irc);
        if (irc?.away != null) this.awayChanged(irc); // away-notify: said after the JOIN
        break;
      }
      case "parted": {
        const { room, reason } = change;
        for (const each of ircs) this.#forget(room, each);
        if (change.kicked) break; // the KICK said it
        const line = reason === undefined
          ? ircLine(irc?.mask ?? this.mask(session.name!), "PART", channelOf(room.name))
          : ircLine(irc?.mask ?? this.mask(session.name!), "PART", channelOf(room.name), reason);
        this.#tell(room, line);
        for (const each of ircs) each.raw(line);
        break;
      }
      case "quit": {
        const { rooms, reason } = change;
        if (!this.hub.closing) this.#remembered(session.name!, irc);
        for (const room of rooms) for (const each of ircs) this.#forget(room, each);
        // A shutdown tells no one of each leave: that would be a line per pair of members.
        if (this.hub.closing) break;
        this.#monitored(session.name!, RPL_MONOFFLINE, session.name!);
        if (rooms.length === 0) break;
        this.#tellRooms(
          rooms,
          ircLine(irc?.mask ?? this.mask(session.name!), "QUIT", quitReason(reason)),
        );
        break;
      }
      case "renamed": {
        if (nameKey(change.old) !== nameKey(session.name!)) this.#remembered(change.old, irc);
        const line = ircLine(
          irc
            ? `${change.old}!${irc.user}@${irc.host}`
            : `${change.old}!${change.old}@${CHAT_HOST}`,
          "NICK",
          session.name!,
        );
        this.#tellRooms(change.rooms, line, irc ?? ircs[0] ?? null);
        for (const each of ircs) {
          each.raw(
            each === irc
              ? line
              : ircLine(`${change.old}!${each.user}@${each.host}`, "NICK", session.name!),
          );
        }
        if (nameKey(change.old) !== nameKey(session.name!)) { // a change of case is no news
          this.#monitored(change.old, RPL_MONOFFLINE, change.old);
          this.#monitored(session.name!, RPL_MONONLINE, irc?.mask ?? this.mask(session.name!));
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
      case "attached": {
        // Shown its channel once registered (see IrcSession's registration).
        const { connection, session: member } = change;
        if (connection instanceof IrcSession) {
          for (const room of member.rooms) this.#remember(room, connection);
        }
        break;
      }
      case "account": {
        // An IRC connection is told its own login or logout (a registered one: before
        // registration SASL answers itself); the member's channel once, for its lead.
        if (irc !== null && irc.registered && !irc.closed) {
          accountNumeric(irc);
          this.hub.readMarkers.tellAll(irc); // logged in: its account's markers
        }
        const connection = change.session;
        if (connection.lead !== null || connection.rooms.size === 0) break;
        const line = ircLine(
          irc?.mask ?? this.mask(connection.name!),
          "ACCOUNT",
          accountOf(connection) ?? "*",
        );
        this.#tellRooms(connection.rooms, line, connection, "account-notify");
        break;
      }
      case "detached": {
        const { connection, session: member } = change;
        if (connection instanceof IrcSession) {
          for (const room of member.rooms) this.#forget(room, connection);
        }
        break;
      }
    }
  }

  #remember(room: Room<Session>, irc: IrcSession): void {
    let members = this.#inRoom.get(room);
    if (!members) this.#inRoom.set(room, members = new Set());
    members.add(irc);
  }

  /** Tells those who MONITOR `name` that it came (730) or went (731). */
  #monitored(
    name: string,
    numeric: typeof RPL_MONONLINE | typeof RPL_MONOFFLINE,
    what: string,
  ): void {
    const watchers = this.watchers.get(nameKey(name));
    if (!watchers) return;
    for (const watcher of watchers) watcher.reply(numeric, what);
  }

  #forget(room: Room<Session>, irc: IrcSession): void {
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

const NO_IRC: readonly IrcSession[] = [];

/** The IRC connections of the member `session` (none, one, or more for an account's). */
function ircConnections(session: Session): readonly IrcSession[] {
  if (session.attached === null) return session instanceof IrcSession ? [session] : NO_IRC;
  return session.connections().filter((each) => each instanceof IrcSession);
}

/** A refusal at the door, by its code, as IRC says it: an `ERROR` line. */
export function ircRefusal(code: Refusal): string {
  return ircLine("", "ERROR", `Closing Link: ${REFUSAL_WORDS[code]}`);
}

/** Why a connection is refused at the door, in IRC's words. */
const REFUSAL_WORDS: Record<Refusal, string> = {
  serverFull: "server full; try again later",
  tooManyFromAddress: "too many connections from your address; try again later",
  connectingTooFast: "too many new connections from your address; try again in a minute",
};

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
  /** An IRC client may be in no channel. */
  override get alwaysInRoom(): boolean {
    return false;
  }
  /** Registration waits for `CAP END` once a client has sent `CAP LS` or `CAP REQ`. */
  negotiating = false;
  readonly caps = new Set<string>();
  /** User mode +i: a WHO mask shows this member only to those in its room. */
  invisible = false;
  /** User mode +w: WALLOPS (server operators' announcements) reach this user. */
  wallops = false;
  /** The away message, or `null` when here. */
  away: string | null = null;
  /** When the client last sent anything (`performance.now()`), for pings. */
  heardAt = performance.now();
  /** Set when a ping went out and nothing was heard since. */
  pinged = false;
  /** Nicks this client MONITORs, by {@linkcode nameKey}. */
  readonly monitoring = new Set<string>();
  /** The SASL exchange under way, if any (see `services.ts`). */
  sasl: SaslExchange | null = null;
  /** The last nick asked for before registration, taken or not (REGISTER's `*`). */
  triedNick: string | null = null;
  /** Renames this member to a guest nick if it has not logged in to its registered nick in time. */
  nickTimer: ReturnType<typeof setTimeout> | undefined;
  /** The key of the nick {@linkcode nickTimer} counts for. */
  guarded = "";
  /**
   * Bytes of the line being handled as IRC counts them: CRLF included, tags left out.
   * Within {@linkcode LINE_MAX} it is a standard IRC line (see `message`).
   */
  lineBytes = 0;
  #batches = 0;
  /** While a labeled line is handled: writes what is no response to it (see `#labeled`). */
  #unlabeled: ((bytes: Uint8Array) => void) | null = null;

  /** Makes the session of `conn` for `front`. */
  constructor(readonly front: IrcFront, conn: Connection) {
    super(front.hub, conn, new LineFramer(front.hub.options.maxLine));
    this.address = addressOf(conn.remote);
    this.host = front.cloaks.of(this.address);
  }

  /** The user part of its mask, for bans (`*!user@*`). */
  override maskUser(): string {
    return this.user;
  }

  /** Its cloak, for bans (`*!*@host`). */
  override maskHost(): string {
    return this.host;
  }

  /** The tags this client takes on chat messages (see {@linkcode Tags}). */
  get tags(): Tags {
    return (this.caps.has("server-time") ? TIME_TAG : 0) |
      (this.caps.has("message-tags") ? MSGID_TAG : 0) |
      (this.caps.has("account-tag") ? ACCOUNT_TAG : 0);
  }

  /** `draft/read-marker` clients are told markers (MARKREAD). */
  override get takesMarkers(): boolean {
    return this.caps.has("draft/read-marker");
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
  reply(numeric: Numeric, ...params: string[]): void {
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
  deliver(delivery: Delivery): void {
    if (delivery.event.type === "moderation") return this.#moderation(delivery.event);
    if (delivery.event.type === "deleted") {
      // Only to clients that asked: to the others a line once shown stays (no NOTICE either).
      if (this.caps.has("draft/message-redaction")) {
        this.conn.deliver(delivery.bytes(this.front.redaction));
      }
      return;
    }
    if (delivery.event.type !== "chat") return;
    const front = this.front;
    const bytes = delivery.bytes(front.formats[this.tags]);
    this.hub.relayedBytes += bytes.length;
    // What others said (oneself too, to oneself) is no response to a labeled line.
    if (this.#unlabeled !== null) this.#unlabeled(bytes);
    else this.conn.deliver(bytes);
  }

  /**
   * A private message deleted (`draft/message-redaction` only): `REDACT` with the target
   * its PRIVMSG had, the recipient (this client's nick, if it received it).
   */
  #privateRedaction(event: PrivateDeletedEvent): void {
    if (!this.caps.has("draft/message-redaction")) return;
    const target = event.sent ? this.hub.memberName(event.with) ?? event.with : this.name!;
    this.raw(ircLine(this.front.mask(event.by), "REDACT", target, event.id));
  }

  /** A moderation action in this member's channel, as IRC says it (MODE, KICK, or a NOTICE). */
  #moderation(event: ModerationEvent): void {
    const by = this.front.mask(event.by);
    const channel = channelOf(event.room);
    const target = event.target ?? "";
    switch (event.action) {
      case "op":
      case "deop":
      case "voice":
      case "devoice": {
        const letter = event.action.endsWith("op") ? "o" : "v";
        const sign = event.action.startsWith("de") ? "-" : "+";
        return this.raw(ircLine(by, "MODE", channel, sign + letter, target));
      }
      case "ban":
      case "unban":
        return this.raw(ircLine(by, "MODE", channel, event.action === "ban" ? "+b" : "-b", target));
      case "mode":
        return this.raw(ircLine(by, "MODE", channel, ...target.split(" ")));
      case "kick":
        return this.raw(ircLine(by, "KICK", channel, target, event.reason ?? event.by));
      case "invite":
        if (this.member.name === event.by) return this.reply(RPL_INVITING, target, channel);
        break;
    }
    // The rest (mutes, claims, invitations seen by others): the chat's words, as a NOTICE.
    this.fromServer("NOTICE", channel, renderText(event).slice(3));
  }

  /** Another connection of this member said it: a PRIVMSG from oneself, private ones too. */
  override sentBySibling(delivery: Delivery): void {
    this.deliver(delivery);
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
          markReadOnJoin(this, this.room);
          names(this, this.room);
        }
        return;
      case "searchResults":
        return searchAnswer(this, event);
      case "readMarker":
        if (!this.takesMarkers) return;
        return this.fromServer(
          "MARKREAD",
          event.room !== undefined ? channelOf(event.room) : event.with,
          `timestamp=${new Date(event.read).toISOString()}`,
        );
      case "history":
        return this.#replay(event.room, event.entries);
      case "moderation": // told to this member alone (its own invitation: 341)
        return this.#moderation(event);
      case "privateHistory":
        // What waited for this account while it was away: PRIVMSGs with their time and msgid.
        return this.replayEntries(event.with, event.entries, "chathistory");
      case "heldForLater":
        return this.reply(RPL_AWAY, event.to, HELD_FOR_LATER);
      case "privateDeleted":
        return this.#privateRedaction(event);
      case "shutdown":
        return this.fromServer("NOTICE", this.target, event.reason);
      case "error":
        return this.#refused(event);
      case "kicked":
        return this.raw(
          ircLine(
            this.front.mask(event.by),
            "KICK",
            channelOf(event.room),
            this.name!,
            event.reason ?? event.by,
          ),
        );
      case "invited": {
        const line = ircLine(
          this.front.mask(event.by),
          "INVITE",
          this.name!,
          channelOf(event.room),
        );
        // account-tag: the inviter's account, as on its messages.
        const inviter = this.caps.has("account-tag")
          ? this.hub.members.get(nameKey(event.by))
          : null;
        const account = inviter ? accountOf(inviter) : null;
        return this.raw(account === null ? line : `@account=${account} ${line}`);
      }
      case "killed": // the connection ends next; its channels see the QUIT with the reason
        return this.raw(
          ircLine(
            "",
            "ERROR",
            `Closing Link: Killed (${event.by}${event.reason ? `: ${event.reason}` : ""})`,
          ),
        );
      case "kline":
      case "klines":
        // Answers to KLINE, UNKLINE and /klines: the chat's words, a NOTICE a line.
        for (const line of renderText(event).split("\n")) {
          this.fromServer("NOTICE", this.target, line.slice(3));
        }
        return;
      case "announcement":
        // As WALLOPS: to users with +w, server operators and the sender only.
        if (!this.wallops && event.by !== this.name && !this.hub.isServerOperator(this)) return;
        return this.raw(ircLine(this.front.mask(event.by), "WALLOPS", event.text));
      case "unregistered": // NickServ DROP (told before the logout: 901 follows, see #changed)
        return fromNickServ(this, WORDS.dropped(event.account));
    }
  }

  /** A refusal as a numeric, an `ERROR` for one that ends the connection, or a NOTICE. */
  #refused(problem: ErrorEvent): void {
    switch (problem.code) {
      case "nameTaken":
        return this.reply(ERR_NICKNAMEINUSE, problem.name, "Nickname is already in use");
      case "nameReserved":
        return this.reply(ERR_ERRONEUSNICKNAME, problem.name, "Nickname is reserved");
      case "nameRegistered":
        return this.reply(ERR_NICKNAMEINUSE, problem.name, NICK_REGISTERED);
      case "accountElsewhere":
        return this.reply(ERR_NICKNAMEINUSE, problem.name, NICK_ELSEWHERE);
      case "badName":
        return this.reply(ERR_ERRONEUSNICKNAME, problem.name, "Erroneous nickname");
      case "tooManyRooms":
      case "tooManyRoomsFromAddress":
      case "tooManyJoined":
        return this.reply(
          ERR_TOOMANYCHANNELS,
          channelOf(problem.room),
          "You have joined too many channels",
        );
      case "lineTooLong":
        return this.reply(ERR_INPUTTOOLONG, "Input line was too long");
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
      case "notOperator":
        return this.reply(
          ERR_CHANOPRIVSNEEDED,
          channelOf(problem.room),
          "You're not channel operator",
        );
      case "notServerOperator":
        return this.reply(ERR_NOPRIVILEGES, "Permission Denied- You're not an IRC operator");
      case "klined": {
        // The connection ends next: 465, then ERROR with the same words.
        const words = problemWords(problem);
        this.reply(ERR_YOUREBANNEDCREEP, words);
        return this.raw(ircLine("", "ERROR", `Closing Link: ${words}`));
      }
      case "tooManyMasks":
        if (problem.list === "bans") {
          return this.reply(ERR_BANLISTFULL, channelOf(problem.room), "b", "Channel list is full");
        }
        return this.fromServer("NOTICE", this.target, problemWords(problem));
      case "banned":
        return this.reply(ERR_BANNEDFROMCHAN, channelOf(problem.room), "Cannot join channel (+b)");
      case "inviteOnly":
        return this.reply(ERR_INVITEONLYCHAN, channelOf(problem.room), "Cannot join channel (+i)");
      case "badKey":
        return this.reply(ERR_BADCHANNELKEY, channelOf(problem.room), "Cannot join channel (+k)");
      case "roomFull":
        return this.reply(ERR_CHANNELISFULL, channelOf(problem.room), "Cannot join channel (+l)");
      case "moderated":
      case "muted":
        return this.reply(ERR_CANNOTSENDTOCHAN, channelOf(problem.room), problemWords(problem));
      case "notInRoom":
        return this.reply(
          ERR_USERNOTINCHANNEL,
          problem.name,
          channelOf(problem.room),
          "They aren't on that channel",
        );
      case "noSuchMember":
        return this.reply(ERR_NOSUCHNICK, problem.name, "No such nick/channel");
      case "needsAccount":
      case "roomHeld":
      case "badMask":
      case "noSuchMask":
      case "badDuration":
      case "tooManyKlines":
      case "moderationTooFast":
        // Moderation refusals IRC has no numeric for: the chat's words.
        return this.fromServer("NOTICE", this.target, problemWords(problem));
      case "badMode":
        // A bad key or limit is a known mode with a bad parameter (696), not an unknown one.
        if (/^[+-]?[kl]$/.test(problem.mode)) {
          const letter = problem.mode.slice(-1);
          return this.reply(
            ERR_INVALIDMODEPARAM,
            this.room ? channelOf(this.room.name) : "*",
            letter,
            "*",
            letter === "k" ? "Invalid key" : "Invalid limit",
          );
        }
        return this.reply(
          ERR_UNKNOWNMODE,
          problem.mode.replace(/^[+-]/, ""),
          "is unknown mode char to me",
        );
      case "accountRequired":
        return this.fromServer("FAIL", "*", "ACCOUNT_REQUIRED", ACCOUNT_REQUIRED);
      // draft/message-redaction's codes (REDACT is the only way an IRC client deletes).
      case "noSuchMessage":
        return this.fromServer(
          "FAIL",
          "REDACT",
          "UNKNOWN_MSGID",
          "room" in problem ? channelOf(problem.room) : problem.with || "*",
          // The msgid as it was given (a parameter of one word), else `*`.
          /^[^:\s]\S{0,99}$/.test(problem.id) ? problem.id : "*",
          "This message does not exist or is too old",
        );
      case "deleteForbidden":
        return this.fromServer(
          "FAIL",
          "REDACT",
          "REDACT_FORBIDDEN",
          "room" in problem ? channelOf(problem.room) : problem.with,
          problem.id,
          "You are not authorised to delete this message",
        );
      // Refusals of NickServ's commands (the account work is the hub's): said by NickServ.
      case "wrongPassword":
      case "noSuchAccount":
      case "loginThrottled":
      case "loginBusy":
      case "badPassword":
      case "notLoggedIn":
      case "registrationClosed":
      case "registerThrottled":
      case "alreadyLoggedIn":
        return fromNickServ(this, WORDS.problem(problem));
      default:
        // Refusals of the chat's own commands, which IRC clients cannot send.
        return this.fromServer("NOTICE", this.target, `Refused: ${problem.code}`);
    }
  }

  override dispose(): void {
    clearTimeout(this.nickTimer);
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
    const label = bytes[0] === 0x40 && this.caps.has("labeled-response") ? labelOf(line) : null;
    if (label === null) return this.#handle(parsed.command, parsed.params);
    this.#labeled(label, () => this.#handle(parsed.command, parsed.params));
  }

  /** Handles one parsed command: by its entry in the command table, or a numeric refusal. */
  #handle(command: string, params: string[]): void {
    const known = COMMANDS.get(command);
    if (!known?.preRegistration && !this.registered) {
      return this.reply(ERR_NOTREGISTERED, "You have not registered");
    }
    if (known === undefined) return this.reply(ERR_UNKNOWNCOMMAND, command, "Unknown command");
    for (let i = 0; i < (known.minParams ?? 0); i++) {
      if (!params[i]) return this.reply(ERR_NEEDMOREPARAMS, command, "Not enough parameters");
    }
    known.handler(this, params);
  }

  /**
   * IRCv3 `labeled-response`: what handling a labeled line sends at once carries its label
   * (one line), comes in a `labeled-response` batch (several), or is an `ACK` (none).
   * What comes later (an account check's answer) goes out unlabeled.
   */
  #labeled(label: string, handle: () => void): void {
    const conn = this.conn;
    const chunks: Uint8Array[] = [];
    const own = Object.getOwnPropertyDescriptor(conn, "deliver");
    this.#unlabeled = conn.deliver.bind(conn);
    conn.deliver = (bytes: Uint8Array) => void chunks.push(bytes);
    try {
      handle();
    } finally {
      this.#unlabeled = null;
      if (own) Object.defineProperty(conn, "deliver", own);
      else delete (conn as { deliver?: unknown }).deliver; // the class's own again
    }
    const text = chunks.map((chunk) => decoder.decode(chunk)).join("");
    const lines = text.split("\r\n").filter((line) => line !== "");
    const { serverName } = this.front.options;
    const tagged = (tag: string, line: string) =>
      line.startsWith("@") ? `@${tag};${line.slice(1)}` : `@${tag} ${line}`;
    if (lines.length === 0) return this.raw(tagged(`label=${label}`, ircLine(serverName, "ACK")));
    if (lines.length === 1) return this.raw(tagged(`label=${label}`, lines[0]) + "\r\n");
    const batch = `l${++this.#batches}`;
    const open = tagged(
      `label=${label}`,
      ircLine(serverName, "BATCH", `+${batch}`, "labeled-response"),
    );
    const inner = lines.map((line) => tagged(`batch=${batch}`, line) + "\r\n").join("");
    this.raw(open + inner + ircLine(serverName, "BATCH", `-${batch}`));
  }

  /** Registers once NICK and USER are in and capability negotiation is over. */
  tryRegister(): void {
    if (this.registered || this.negotiating || this.nick === null || !this.user) return;
    const { hub } = this;
    const nick = this.nick;
    // In a cluster the nick is claimed in Redis first; what the client sends meanwhile waits.
    if (hub.cluster && !hub.nameError(nick, this, true)) {
      return hub.claim(this, nick, "", (taken) => {
        this.#register(taken ? { code: "nameTaken", name: nick } : null);
      });
    }
    this.#register(hub.nameError(nick, this, true));
  }

  #register(problem: Problem | null): void {
    const { accounts } = this.hub;
    // A registered nick is let in (and asked to identify); a guest is not, if accounts only may chat.
    if (problem === null && accounts.policy.requireAccount && this.account === null) {
      problem = { code: "accountRequired", name: this.nick! };
    }
    problem ??= this.hub.register(this, this.nick!, true);
    if (this.closed) return; // refused and disconnected (a kline)
    if (problem) {
      this.tell(failed(problem));
      this.nick = null;
      return;
    }
    this.registered = true;
    this.welcome();
    // Logged in by SASL: what waited for the account while it was away comes now.
    if (this.account !== null) this.hub.deliverHeld(this);
    // One more connection of an account's member in channels: it is there too.
    for (const room of this.rooms) {
      this.raw(ircLine(this.mask, "JOIN", channelOf(room.name)));
      topic(this, room, false);
      markReadOnJoin(this, room);
      names(this, room);
    }
    // draft/read-marker: where the account left off, in every conversation (its channel's told above).
    this.hub.readMarkers.tellAll(this, this.room === null ? undefined : "#" + this.room.key);
    protectNick(this);
  }

  /** 001–005, the user counts and the MOTD (there is none: 422). */
  welcome(): void {
    const { serverName } = this.front.options;
    const nick = this.name!;
    this.reply(RPL_WELCOME, `Welcome to the ${NETWORK} IRC network, ${nick}`);
    this.reply(RPL_YOURHOST, `Your host is ${serverName}, running version ${VERSION}`);
    this.reply(RPL_CREATED, `This server was created ${this.front.created.toUTCString()}`);
    // User modes, then channel modes (those with a parameter among them).
    this.reply(RPL_MYINFO, serverName, VERSION, "iow", "beIiklmnostv");
    const tokens = [
      "AWAYLEN=300",
      "CASEMAPPING=ascii",
      `CHANLIMIT=#:${ROOMS_PER_MEMBER}`,
      "CHANMODES=beI,k,l,imnst",
      // message-tags brings msgid; client-only tags are not relayed (TAGMSG is accepted).
      "CLIENTTAGDENY=*",
      `CHANNELLEN=${ROOM_NAME_MAX + 1}`,
      "CHANTYPES=#",
      "EXCEPTS=e",
      "INVEX=I",
      `CHATHISTORY=${CHATHISTORY_MAX}`,
      `MONITOR=${MONITOR_MAX}`,
      "MSGREFTYPES=msgid,timestamp",
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
    this.reply(RPL_ISUPPORT, ...tokens.slice(0, 7), "are supported by this server");
    this.reply(RPL_ISUPPORT, ...tokens.slice(7), "are supported by this server");
    lusers(this);
    this.reply(ERR_NOMOTD, "MOTD File is missing");
  }

  /** Replays a room's recent history as PRIVMSGs (with `@time`, in a batch if asked for). */
  #replay(room: string, entries: readonly HistoryEntry[]): void {
    this.replayEntries(
      channelOf(room),
      entries.map((entry) => ({ ...entry, room })),
      "chathistory",
    );
  }

  /**
   * Sends kept messages as PRIVMSGs (with `@time` and `@msgid` as the client takes them), in
   * a batch of `type` about `target` if the client takes batches (`type` null: none).
   */
  replayEntries(
    target: string,
    entries: readonly ((HistoryEntry & { room: string }) | PrivateEntry)[],
    type: string | null,
  ): void {
    const time = this.caps.has("server-time");
    const batch = type !== null && this.caps.has("batch") ? `h${++this.#batches}` : null;
    const lines: string[] = [];
    const { serverName } = this.front.options;
    if (batch) lines.push(ircLine(serverName, "BATCH", `+${batch}`, type!, target));
    const msgid = this.caps.has("message-tags");
    const account = this.caps.has("account-tag");
    for (const entry of entries) {
      const tags = [];
      if (batch) tags.push(`batch=${batch}`);
      if (time) tags.push(`time=${new Date(entry.time).toISOString()}`);
      if (msgid) tags.push(`msgid=${entry.id}`);
      if (account && entry.account) tags.push(`account=${entry.account}`); // a guest: none
      if (msgid && "bot" in entry && entry.bot) tags.push("bot");
      const prefix = tags.length > 0 ? `@${tags.join(";")} ` : "";
      lines.push(
        this.front.render(entry.kind === "private" ? { ...entry, room: "" } : entry, prefix),
      );
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

/** 251–255 and 265–266: how many are here. */
function lusers(session: IrcSession): void {
  const { hub, front } = session;
  const members = hub.members.size;
  const peak = String(front.peakMembers);
  const unregistered = hub.sessions.size - members;
  session.reply(RPL_LUSERCLIENT, `There are ${members} users and 0 invisible on 1 servers`);
  if (unregistered > 0) {
    session.reply(RPL_LUSERUNKNOWN, String(unregistered), "unknown connection(s)");
  }
  session.reply(RPL_LUSERCHANNELS, String(hub.rooms.size), "channels formed");
  session.reply(RPL_LUSERME, `I have ${members} clients and 0 servers`);
  session.reply(
    RPL_LOCALUSERS,
    String(members),
    peak,
    `Current local users ${members}, max ${peak}`,
  );
  session.reply(
    RPL_GLOBALUSERS,
    String(members),
    peak,
    `Current global users ${members}, max ${peak}`,
  );
}

/** A registered nick is as good as in use (433) to whoever is not logged in to it. */
const NICK_REGISTERED = "Nickname is registered to an account";
/** 301's text for a private message kept for an account that is not connected. */
const HELD_FOR_LATER = "is not connected; your message will be delivered when they next log in";
/** Why a guest is refused on a server with `--require-account`. */
const ACCOUNT_REQUIRED =
  "This server requires an account: log in with SASL (CAP REQ sasl, AUTHENTICATE) before CAP END";

/**
 * Nick protection, as Ergo does it: a member whose nick is a registered account it is
 * not logged in to is asked (by NickServ) to identify, and renamed to a guest nick if it
 * has not within `nickTimeout`.
 */
function protectNick(session: IrcSession): void {
  const nick = session.name;
  // Counting for this nick already (a refused NICK, a change of case): the count goes on.
  if (session.nickTimer !== undefined && nick !== null && session.guarded === nameKey(nick)) return;
  clearTimeout(session.nickTimer);
  session.nickTimer = undefined;
  if (nick === null || !owedTo(session, nick)) return;
  session.guarded = nameKey(nick);
  const timeout = session.front.options.nickTimeout ?? NICK_TIMEOUT;
  fromNickServ(session, WORDS.identifyFirst(nick, Math.ceil(timeout / 1000)));
  session.nickTimer = setTimeout(() => {
    session.nickTimer = undefined;
    if (session.closed || session.name !== nick || !owedTo(session, nick)) return;
    const guest = guestNick(session);
    if (guest === null) return; // no free guest nick now: asked again at the next change
    session.hub.rename(session, guest);
    fromNickServ(session, WORDS.nickChanged(nick));
  }, timeout);
}

/** Whether `nick` is a registered account `session` is not logged in to. */
function owedTo(session: IrcSession, nick: string): boolean {
  return session.hub.accounts.isRegistered(nick) && session.account !== nameKey(nick);
}

/** How long a registered nick may be held without logging in to it, by default (ms). */
const NICK_TIMEOUT = 30_000;

/** A free guest nick (`Guest12345`), or `null` after a few taken ones. */
function guestNick(session: IrcSession): string | null {
  for (let i = 0; i < 10; i++) {
    const nick = `Guest${10000 + Math.floor(Math.random() * 90000)}`;
    if (session.hub.nameError(nick, session) === null) return nick;
  }
  return null;
}
const NICK_ELSEWHERE = "Nickname is in use by its account on another server";

/** `nick` as a chat name, or the numeric that refuses it. */
function nickProblem(
  session: IrcSession,
  nick: string,
): [typeof ERR_ERRONEUSNICKNAME | typeof ERR_NICKNAMEINUSE, string] | null {
  // The hub's verdict (held here, claimed here, or held on another server of the cluster).
  switch (session.hub.nameError(nick, session)?.code) {
    case undefined:
    case "accountRequired": // refused when the connection registers (see #refused)
      return null;
    case "nameReserved":
      return [ERR_ERRONEUSNICKNAME, "Nickname is reserved"];
    case "nameTaken":
      return [ERR_NICKNAMEINUSE, "Nickname is already in use"];
    case "nameRegistered": // let in, and asked to identify (see protectNick)
      return null;
    case "accountElsewhere":
      return [ERR_NICKNAMEINUSE, NICK_ELSEWHERE];
    default:
      return [ERR_ERRONEUSNICKNAME, "Erroneous nickname"];
  }
}

/**
 * The IRC channel of the room called `room`: its name with a `#` in front. Room
 * names have none of their own (see `roomName`), but one from an older server of a
 * cluster might: it is not doubled.
 */
export function channelOf(room: string): string {
  return room.startsWith("#") ? room : `#${room}`;
}

/** Runs the chat's own command `name` for an IRC session (the core checks and does it). */
function chatCommand(session: IrcSession, name: string, rest: string): void {
  session.hub.commands.get(name)!.run(session.hub, session, rest.trim());
}

/**
 * `MODE #room [changes]`: 324 for none, the ban list (367, 368) for a lone `b`, else each
 * change done by the chat's own command (`/op`, `/ban`, `/mode` …), which checks it.
 */
function channelMode(session: IrcSession, room: Room<Session>, params: string[]): void {
  const channel = channelOf(room.name);
  const rules = session.hub.roomRules.get(room.key);
  const [change, ...args] = params;
  if (change === undefined) {
    // A room without rules (the lobby) takes no messages from outside: +n.
    const shown = rules?.modeString(session.member.rooms.has(room)) ?? "+n";
    session.reply(RPL_CHANNELMODEIS, channel, ...shown.split(" "));
    return session.reply(RPL_CREATIONTIME, channel, String(Math.floor(room.created / 1000)));
  }
  const list = /^\+?([beI])$/.exec(change);
  if (list !== null && args.length === 0) return maskList(session, channel, rules, list[1]);
  if (!session.hub.focus(session, room)) {
    return session.reply(ERR_CHANOPRIVSNEEDED, channel, "You're not channel operator");
  }
  let adding = true;
  let flags = "";
  const flagArgs: string[] = [];
  for (const letter of change) {
    if (letter === "+" || letter === "-") {
      adding = letter === "+";
      flags += letter;
      continue;
    }
    if (letter === "o" || letter === "v") {
      const nick = args.shift();
      if (nick === undefined) continue;
      chatCommand(session, `/${adding ? "" : "de"}${letter === "o" ? "op" : "voice"}`, nick);
    } else if (letter === "b") {
      const mask = args.shift();
      if (mask !== undefined) chatCommand(session, adding ? "/ban" : "/unban", mask);
    } else if (letter === "e" || letter === "I") {
      const mask = args.shift();
      if (mask === undefined) continue; // a list asked for beside changes: IRC servers skip it
      flags += letter;
      flagArgs.push(mask);
    } else {
      flags += letter;
      if ((letter === "k" || letter === "l") && adding) flagArgs.push(args.shift() ?? "");
      else if (letter === "k") args.shift(); // -k KEY: the key is not needed
    }
  }
  // Signs with no letter after them are dropped: `+o-t` leaves `-t`.
  const spec = flags.replace(/[+-]+(?=[+-]|$)/g, "");
  if (spec !== "") chatCommand(session, "/mode", [spec, ...flagArgs].join(" "));
}

/** The numerics of each mask list: bans (367/368), ban (348/349) and invite (346/347) exceptions. */
const MASK_LISTS = {
  b: [RPL_BANLIST, RPL_ENDOFBANLIST, "End of channel ban list", "bans"],
  e: [RPL_EXCEPTLIST, RPL_ENDOFEXCEPTLIST, "End of channel exception list", "excepts"],
  I: [RPL_INVEXLIST, RPL_ENDOFINVEXLIST, "End of channel invite exception list", "invexes"],
} as const;

/** Sends the room's list of `letter` masks (`b`, `e` or `I`): each with who set it and when. */
function maskList(
  session: IrcSession,
  channel: string,
  rules: RoomRules | undefined,
  letter: string,
): void {
  const [item, end, text, field] = MASK_LISTS[letter as keyof typeof MASK_LISTS];
  for (const mask of rules?.[field] ?? []) {
    session.reply(item, channel, mask.mask, mask.by, String(Math.floor(mask.time / 1000)));
  }
  session.reply(end, channel, text);
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

/** draft/read-marker: the marker of a channel just joined (`*`: none), before its 366. */
function markReadOnJoin(session: IrcSession, room: Room<Session>): void {
  if (!session.takesMarkers) return;
  const marker = session.hub.readMarkers.get(session, { key: "#" + room.key });
  const at = marker === undefined ? "*" : `timestamp=${new Date(marker.time).toISOString()}`;
  session.fromServer("MARKREAD", channelOf(room.name), at);
}

/** An IRCv3 timestamp (`2019-01-04T14:33:26.123Z`), or `null`. */
const TIMESTAMP = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,3})?Z$/;

/**
 * `MARKREAD target [timestamp=…]` (draft/read-marker): without a timestamp, the marker
 * kept (`*`: none); with one, the marker moved forward to it (never back), and every
 * connection of the account told the marker kept, this one too.
 */
function markRead(session: IrcSession, params: string[]): void {
  const [name, at] = params;
  if (!name) return session.fromServer("FAIL", "MARKREAD", "NEED_MORE_PARAMS", "Missing target");
  const target = markerTarget(name.startsWith("#") ? { room: name } : { with: name });
  if (typeof target === "string") {
    return session.fromServer("FAIL", "MARKREAD", "INVALID_PARAMS", name, "Invalid target");
  }
  if (at === undefined) {
    const marker = session.hub.readMarkers.get(session, target);
    const value = marker === undefined ? "*" : `timestamp=${new Date(marker.time).toISOString()}`;
    return session.fromServer("MARKREAD", name, value);
  }
  const stamp = at.startsWith("timestamp=") ? at.slice("timestamp=".length) : "";
  const marker = TIMESTAMP.test(stamp) ? markerAt(target, { time: Date.parse(stamp) }) : null;
  if (marker === null) {
    return session.fromServer("FAIL", "MARKREAD", "INVALID_PARAMS", at, "Invalid timestamp");
  }
  session.hub.readMarkers.mark(session, marker);
}

/** Sends 353s (split to fit the line) and 366 for `room`. */
function names(session: IrcSession, room: Room<Session>): void {
  const { front } = session;
  const full = session.caps.has("userhost-in-names");
  const channel = channelOf(room.name);
  const rules = session.hub.roomRules.get(room.key);
  // `@` marks a secret (+s) channel, `=` a public one.
  const kind = rules?.modes.has("s") ? "@" : "=";
  const head =
    `:${front.options.serverName} ${RPL_NAMREPLY} ${session.target} ${kind} ${channel} :`;
  const budget = LINE_MAX - 2 - byteLength(head);
  let line = "";
  let bytes = 0;
  let out = "";
  // Those here, then those on the other servers of a cluster.
  const remote = session.hub.cluster?.membersIn(room.key, Infinity).names ?? [];
  const multi = session.caps.has("multi-prefix");
  const prefix = (member: Session): string => {
    if (rules === undefined) return "";
    const account = member.member.account;
    const op = rules.isOperator(account, member.member) ? "@" : "";
    const voice = rules.isVoiced(account, member.member) ? "+" : "";
    return multi ? op + voice : op || voice;
  };
  const here = [...room.members].map((member) => [prefix(member), member.name!]);
  for (const [mark, name] of [...here, ...remote.map((name) => ["", name])]) {
    const entry = mark + (full ? front.mask(name) : name);
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
  session.reply(RPL_ENDOFNAMES, channel, "End of /NAMES list");
}

/** Sends the topic of `room` (332 and 333), or 331 when `always` and there is none. */
function topic(session: IrcSession, room: Room<Session>, always: boolean): void {
  const channel = channelOf(room.name);
  if (!room.topic) {
    if (always) session.reply(RPL_NOTOPIC, channel, "No topic is set");
    return;
  }
  session.reply(RPL_TOPIC, channel, room.topic);
  const set = session.front.topics.get(room.key);
  if (set) session.reply(RPL_TOPICWHOTIME, channel, set.by, String(Math.floor(set.at / 1000)));
}

/** One 352 for `member` (in `channel`, or `*`). */
function whoEntry(session: IrcSession, channel: string, member: Member): void {
  const { name } = member;
  const irc = member instanceof IrcSession ? member : null;
  const flags = whoFlags(session, channel, member);
  session.reply(
    RPL_WHOREPLY,
    channel,
    irc?.user ?? name!,
    irc?.host ?? CHAT_HOST,
    session.front.options.serverName,
    name!,
    flags,
    `0 ${irc?.realname || name}`,
  );
}

/** Whether `member` is invisible (+i) to `asker`: not itself, nor in a room with it. */
function hidden(asker: IrcSession, member: Session): boolean {
  if (!(member instanceof IrcSession) || !member.invisible || member === asker) return false;
  const theirs = member.rooms;
  for (const room of asker.rooms) if (theirs.has(room)) return false;
  return true;
}

/** NickServ's name as a key: a PRIVMSG to it is a NickServ command. */
const NICKSERV_KEY = nameKey("NickServ");
/** ChanServ's name as a key: a PRIVMSG to it is a ChanServ command. */
const CHANSERV_KEY = nameKey("ChanServ");
const HISTSERV_KEY = nameKey("HistServ");

/** Targets of one JOIN, PART, PRIVMSG or NOTICE (each costs what a line does). */
const TARGETS_MAX = 4;

/**
 * `list` split at commas, each target once (`x,X,#a,#A` is `x,#a`: targets compare as
 * names and rooms do), or `null` (after a 407) when it names more than TARGETS_MAX.
 */
function targets(session: IrcSession, list: string, quiet = false): string[] | null {
  const names = list.split(",");
  if (names.length > TARGETS_MAX) {
    if (!quiet) {
      session.reply(ERR_TOOMANYTARGETS, list, `Too many targets (at most ${TARGETS_MAX})`);
    }
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

/** WHO's flags for `member`: `H` here or `G` away, `*` a server operator, then its prefixes. */
function whoFlags(session: IrcSession, channel: string, member: Member): string {
  const irc = member instanceof IrcSession ? member : null;
  const oper = member instanceof Session && session.hub.isServerOperator(member) ? "*" : "";
  return (irc?.away != null ? "G" : "H") + oper + rolePrefix(session, channel, member);
}

/** `@`/`+` (both with `multi-prefix`) for `member`'s role in `channel` (`*`: none), as WHO flags. */
function rolePrefix(session: IrcSession, channel: string, member: Member): string {
  if (!channel.startsWith("#") || !(member instanceof Session)) return "";
  const rules = session.hub.roomRules.get(roomKey(channel.slice(1)));
  if (rules === undefined) return "";
  const account = member.member.account;
  const op = rules.isOperator(account, member.member) ? "@" : "";
  const voice = rules.isVoiced(account, member.member) ? "+" : "";
  return session.caps.has("multi-prefix") ? op + voice : op || voice;
}

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
    f: whoFlags(session, channel, member),
    d: "0",
    l: irc ? String(Math.floor((performance.now() - irc.heardAt) / 1000)) : "0",
    a: (member instanceof Session ? accountOf(member) : null) ?? "0",
    o: "n/a",
    r: irc?.realname || name,
  };
  const out: string[] = [];
  for (const field of "tcuihsnfdlaor") if (fields.includes(field)) out.push(values[field]);
  session.reply(RPL_WHOSPCRPL, ...out);
}

/** Posts a PRIVMSG or NOTICE to each of its targets. */
function message(session: IrcSession, params: string[], notice: boolean): void {
  const { hub, front } = session;
  if (params.length === 0 || params[0] === "") {
    if (!notice) session.reply(ERR_NORECIPIENT, "No recipient given (PRIVMSG)");
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
    if (!notice) session.reply(ERR_NOTEXTTOSEND, "No text to send");
    return;
  }
  for (const target of targets(session, params[0], notice) ?? []) {
    if (nameKey(target) === NICKSERV_KEY) {
      if (!notice) nickServ(session, raw);
      continue;
    }
    if (nameKey(target) === CHANSERV_KEY) {
      if (!notice) chanServ(session, raw);
      continue;
    }
    if (nameKey(target) === HISTSERV_KEY) {
      if (!notice) histServ(session, raw);
      continue;
    }
    if (target.startsWith("#")) {
      const room = roomOf(session, target);
      if (!room) {
        if (!notice) session.reply(ERR_NOSUCHCHANNEL, target, "No such channel");
        continue;
      }
      if (!hub.focus(session, room)) {
        // From outside the channel: only to a `-n` one (the core decides).
        const problem = hub.mayPostFromOutside(session, room);
        if (problem !== null) {
          if (!notice) {
            const why = problem.code === "notInRoom"
              ? "Cannot send to channel (you are not in it)"
              : problemWords(problem);
            session.reply(ERR_CANNOTSENDTOCHAN, target, why);
          }
          continue;
        }
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
        session.conn.deliver(front.lines(said, session.tags));
      }
      continue;
    }
    // Here or on another server of the cluster.
    const to = hub.memberName(target);
    if (to === undefined) {
      // An account not connected: kept for its next login (told with 301), if the sender has one.
      const held = !notice && kind !== "action" && hub.holdPrivate(session, target, text);
      if (!notice && !held) session.reply(ERR_NOSUCHNICK, target, "No such nick/channel");
      // Kept: echoed (with its msgid) as a delivered one would be.
      if (typeof held === "object" && session.caps.has("echo-message")) {
        session.conn.deliver(front.lines(held, session.tags));
      }
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
      session.conn.deliver(front.lines(said, session.tags));
    }
    if (!notice && member instanceof IrcSession && member.away !== null) {
      session.reply(RPL_AWAY, to, member.away);
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
  session.reply(ERR_INPUTTOOLONG, "Input line was too long to relay in one line");
  return true;
}

/** JOIN: each channel in turn, added to those one is in (`CHANLIMIT` of them at most). */
function join(session: IrcSession, params: string[]): void {
  const { hub } = session;
  const list = params[0];
  if (list === "0") {
    for (const room of [...session.member.rooms]) hub.part(session, undefined, false, room);
    return;
  }
  // Keys go with the channels in order (`JOIN #a,#b keyA,keyB`).
  const keys = params[1]?.split(",") ?? [];
  let index = -1;
  for (const channel of targets(session, list) ?? []) {
    index++;
    if (!channel.startsWith("#")) {
      session.reply(ERR_NOSUCHCHANNEL, channel, "No such channel");
      continue;
    }
    const name = channel.slice(1).normalize("NFC");
    if (checkRoomName(name) || name.startsWith("#")) {
      session.reply(ERR_BADCHANNAME, channel, "Illegal channel name");
      continue;
    }
    // Told as it happens: the JOIN (change hook), then topic, names and replay, or a refusal;
    // a channel one is in already is no news.
    hub.join(session, name, keys[index] || undefined);
  }
}

/**
 * The IRC commands: each one's handler, whether it may come before registration
 * (else 451), the parameters it needs (else 461) and what HELP says of it.
 */
interface IrcCommand {
  readonly name: string;
  readonly handler: Handler;
  readonly preRegistration?: boolean;
  /** Parameters that must be there and not empty, else 461 (`Not enough parameters`). */
  readonly minParams?: number;
  /** HELP's line for it; a command without one is not listed. */
  readonly help?: string;
}

/** Every command, in one table. */
const COMMAND_TABLE: readonly IrcCommand[] = [
  {
    name: "CAP",
    preRegistration: true,
    help: "CAP LS|REQ|LIST|END: negotiate IRCv3 capabilities",
    handler(session, params) {
      const sub = (params[0] ?? "").toUpperCase();
      const target = session.target;
      switch (sub) {
        case "LS":
          if (!session.registered) session.negotiating = true;
          session.fromServer(
            "CAP",
            target,
            "LS",
            capabilityList(session.front, Number(params[1]) >= 302),
          );
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
          if (!session.registered) abortSasl(session);
          session.tryRegister();
          return;
        default:
          session.reply(ERR_INVALIDCAPCMD, sub || "*", "Invalid CAP command");
      }
    },
  },
  {
    name: "AUTHENTICATE",
    preRegistration: true,
    minParams: 1,
    help: "AUTHENTICATE PLAIN|SCRAM-SHA-256: log in to an account (SASL)",
    handler: authenticate,
  },
  {
    name: "NICKSERV",
    help: "NICKSERV REGISTER|IDENTIFY|LOGOUT|INFO|DROP|HELP: accounts (also NS)",
    handler: (session, params) => nickServ(session, params.join(" ")),
  },
  {
    name: "HISTSERV",
    help: "HISTSERV SEARCH words|HELP: search your channel and private conversations (also HS)",
    handler: (session, params) => histServ(session, params.join(" ")),
  },
  {
    name: "HS",
    handler: (session, params) => histServ(session, params.join(" ")),
  },
  {
    name: "NS",
    handler: (session, params) => nickServ(session, params.join(" ")),
  },
  {
    name: "CHANSERV",
    help: "CHANSERV REGISTER #room|HELP: hold your room with your account (also CS)",
    handler: (session, params) => chanServ(session, params.join(" ")),
  },
  {
    name: "CS",
    handler: (session, params) => chanServ(session, params.join(" ")),
  },
  {
    name: "REGISTER",
    preRegistration: true,
    minParams: 3,
    help: "REGISTER * email password: make your nick an account (email ignored)",
    handler: register,
  },
  {
    name: "VERIFY",
    preRegistration: true,
    minParams: 2,
    handler: verify,
  },
  {
    name: "PASS",
    preRegistration: true,
    handler(session) {
      if (session.registered) session.reply(ERR_ALREADYREGISTERED, "You may not reregister");
    },
  },
  {
    name: "NICK",
    preRegistration: true,
    help: "NICK name: change your name",
    handler(session, params) {
      const nick = (params[0] ?? "").normalize("NFC");
      if (nick === "") return session.reply(ERR_NONICKNAMEGIVEN, "No nickname given");
      if (!session.registered) session.triedNick = nick;
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
          if (taken) return session.reply(ERR_NICKNAMEINUSE, nick, "Nickname is already in use");
          hub.rename(session, nick, true);
          protectNick(session);
        });
      }
      hub.rename(session, nick, true); // answered by the change hook's NICK, or a 432 or 433
      protectNick(session);
    },
  },
  {
    name: "USER",
    preRegistration: true,
    handler(session, params) {
      if (session.registered) return session.reply(ERR_ALREADYREGISTERED, "You may not reregister");
      if (params.length < 4 || params[0] === "" || params[3] === "") {
        return session.reply(ERR_NEEDMOREPARAMS, "USER", "Not enough parameters");
      }
      session.user = cleanUser(params[0]);
      session.realname = cleanText(params[3]);
      session.tryRegister();
    },
  },
  {
    name: "PING",
    preRegistration: true,
    help: "PING token: the server answers PONG",
    handler(session, params) {
      if (params.length === 0) return session.reply(ERR_NOORIGIN, "No origin specified");
      const { serverName } = session.front.options;
      session.fromServer("PONG", serverName, params[0]);
    },
  },
  {
    name: "PONG",
    preRegistration: true,
    handler() {},
  },
  {
    name: "QUIT",
    preRegistration: true,
    help: "QUIT [:reason]: leave",
    handler(session, params) {
      const words = params[0] ? cleanText(params[0]) : "";
      session.raw(ircLine("", "ERROR", `Closing Link: ${session.host} (Quit: ${words})`));
      session.hub.leave(session, words ? reasons.quit(words) : undefined, true);
    },
  },
  {
    name: "MARKREAD",
    help: "MARKREAD target [timestamp=T]: where you have read up to (draft/read-marker)",
    handler: markRead,
  },
  {
    name: "JOIN",
    minParams: 1,
    help: "JOIN #room[,#room] [key[,key]]: join rooms (you stay in the others)",
    handler: join,
  },
  {
    name: "PART",
    minParams: 1,
    help: "PART #room [:reason]: leave a room",
    handler(session, params) {
      const reason = params[1] ? cleanText(params[1]) : undefined;
      for (const channel of targets(session, params[0]) ?? []) {
        const room = roomOf(session, channel);
        if (!room) session.reply(ERR_NOSUCHCHANNEL, channel, "No such channel");
        else if (!session.member.rooms.has(room)) {
          session.reply(ERR_NOTONCHANNEL, channel, "You're not on that channel");
        } else session.hub.part(session, reason || undefined, false, room);
      }
    },
  },
  {
    name: "PRIVMSG",
    help: "PRIVMSG #room|nick :text: say something to a room or to one person",
    handler: (session, params) => message(session, params, false),
  },
  {
    name: "NOTICE",
    help: "NOTICE target :text: like PRIVMSG, never answered",
    handler: (session, params) => message(session, params, true),
  },
  {
    // message-tags: a TAGMSG carries only client-only tags (typing …), which are not relayed.
    name: "TAGMSG",
    help: "TAGMSG target: client-only tags (accepted, not relayed)",
    handler() {},
  },
  {
    // draft/message-redaction: only from clients that negotiated it (as the spec asks).
    name: "REDACT",
    help: "REDACT #room|nick msgid [:reason]: delete a message (yours, or as an operator)",
    handler(session, params) {
      if (!session.caps.has("draft/message-redaction")) {
        return session.reply(ERR_UNKNOWNCOMMAND, "REDACT", "Unknown command");
      }
      if (!params[0] || !params[1]) {
        return session.reply(ERR_NEEDMOREPARAMS, "REDACT", "Not enough parameters");
      }
      // A nick: a private message of the client's conversation with it (its own, to delete).
      if (!params[0].startsWith("#") && session.account !== null) {
        return deletePrivate(session.hub, session, params[1], params[0]);
      }
      const room = roomOf(session, params[0]);
      // A channel the client is not in (or a nick, not logged in): not a target here.
      if (!room || !session.hub.focus(session, room)) {
        return session.fromServer(
          "FAIL",
          "REDACT",
          "INVALID_TARGET",
          params[0],
          "You cannot delete messages from this target",
        );
      }
      const reason = params[2] ? cleanText(params[2]) : undefined;
      deleteMessage(session.hub, session, params[1], reason || undefined);
    },
  },
  {
    name: "TOPIC",
    minParams: 1,
    help: "TOPIC #room [:text]: show or set a room's topic",
    handler(session, params) {
      const room = roomOf(session, params[0]);
      if (!room) return session.reply(ERR_NOSUCHCHANNEL, params[0], "No such channel");
      if (params.length === 1) return topic(session, room, true);
      if (!session.hub.focus(session, room)) {
        return session.reply(ERR_NOTONCHANNEL, params[0], "You're not on that channel");
      }
      const text = cleanText(params[1]);
      if ([...text].length > TOPIC_MAX) {
        return session.reply(ERR_INPUTTOOLONG, `Topic too long (at most ${TOPIC_MAX} characters)`);
      }
      session.hub.setTopic(session, text); // the change hook tells the TOPIC line
    },
  },
  {
    name: "NAMES",
    help: "NAMES [#room]: who is in a room",
    handler(session, params) {
      const channel = params[0]?.split(",")[0];
      const room = channel ? roomOf(session, channel) : session.room;
      // A secret room's members are shown to its own members only.
      const secret = room && !session.member.rooms.has(room) &&
        session.hub.roomRules.get(room.key)?.modes.has("s");
      if (room && !secret) names(session, room);
      else session.reply(RPL_ENDOFNAMES, channel || "*", "End of /NAMES list");
    },
  },
  {
    name: "WHO",
    help: "WHO #room|mask [%fields]: who is there (WHOX fields too)",
    handler(session, params) {
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
      session.reply(RPL_ENDOFWHO, mask, "End of /WHO list");
    },
  },
  {
    name: "WHOIS",
    help: "WHOIS nick: about one person",
    handler(session, params) {
      const nick = params[params.length - 1] ?? "";
      if (!nick) return session.reply(ERR_NONICKNAMEGIVEN, "No nickname given");
      // Here, or on another server of the cluster (shown as a chat member: its details stay there).
      const member = session.hub.findMember(nick);
      if (!member?.name) {
        session.reply(ERR_NOSUCHNICK, nick, "No such nick/channel");
        return session.reply(RPL_ENDOFWHOIS, nick, "End of /WHOIS list");
      }
      const irc = member instanceof IrcSession ? member : null;
      const name = member.name;
      // Every channel it is in; a secret one only to those in it too.
      const own = session.member.rooms;
      const shown = (key: string) =>
        !session.hub.roomRules.get(key)?.modes.has("s") ||
        [...own].some((room) => room.key === key);
      const rooms = member instanceof Session
        ? [...member.member.rooms].filter((room) => shown(room.key)).map((room) => room.name)
        : [...member.rooms].filter(([key]) => shown(key)).map(([, name]) => name);
      session.reply(
        RPL_WHOISUSER,
        name,
        irc?.user ?? name,
        irc?.host ?? CHAT_HOST,
        "*",
        irc?.realname || name,
      );
      const address = irc && session.front.realAddress(session, irc);
      if (address) session.reply(RPL_WHOISHOST, name, `is connecting from *@${address} ${address}`);
      if (rooms.length > 0 && !(member instanceof Session && hidden(session, member))) {
        const channels = rooms.map((room) => {
          const channel = channelOf(room);
          return rolePrefix(session, channel, member) + channel;
        });
        session.reply(RPL_WHOISCHANNELS, name, channels.join(" "));
      }
      session.reply(RPL_WHOISSERVER, name, session.front.options.serverName, irc ? "IRC" : "chat");
      if (member instanceof Session && session.hub.isServerOperator(member)) {
        session.reply(RPL_WHOISOPERATOR, name, "is an IRC operator");
      }
      if (irc?.away != null) session.reply(RPL_AWAY, name, irc.away);
      const account = member instanceof Session ? accountOf(member) : null;
      if (account !== null) session.reply(RPL_WHOISACCOUNT, name, account, "is logged in as");
      session.reply(RPL_ENDOFWHOIS, name, "End of /WHOIS list");
    },
  },
  {
    name: "WHOWAS",
    help: "WHOWAS nick [count]: who had that nick lately (newest first)",
    handler(session, params) {
      const nick = params[0] ?? "";
      if (!nick) return session.reply(ERR_NONICKNAMEGIVEN, "No nickname given");
      const count = Number(params[1]);
      const most = Number.isInteger(count) && count > 0 ? count : Infinity;
      const key = nameKey(nick);
      const { whowas, options } = session.front;
      let found = 0;
      for (let i = whowas.length - 1; i >= 0 && found < most; i--) {
        const entry = whowas[i];
        if (entry.key !== key) continue;
        found++;
        session.reply(RPL_WHOWASUSER, entry.nick, entry.user, entry.host, "*", entry.realname);
        session.reply(
          RPL_WHOISSERVER,
          entry.nick,
          options.serverName,
          new Date(entry.at).toUTCString(),
        );
      }
      if (found === 0) session.reply(ERR_WASNOSUCHNICK, nick, "There was no such nickname");
      session.reply(RPL_ENDOFWHOWAS, nick, "End of WHOWAS");
    },
  },
  {
    name: "LIST",
    help: "LIST [#room,...]: the rooms, with members and topics",
    handler(session, params) {
      const wanted = params[0]?.split(",").filter((channel) => channel.startsWith("#"));
      session.reply(RPL_LISTSTART, "Channel", "Users  Name");
      // Every room of the cluster, with those here and elsewhere counted.
      const keys = wanted && new Set(wanted.map(roomKey));
      const own = new Set([...session.member.rooms].map((room) => room.key));
      for (const room of session.hub.roomList()) {
        const key = roomKey(room.name);
        if (keys && !keys.has(key)) continue;
        // A secret room (+s) is listed to those in it only, as /rooms does.
        if (!own.has(key) && session.hub.roomRules.get(key)?.modes.has("s")) continue;
        session.reply(RPL_LIST, channelOf(room.name), String(room.members), room.topic);
      }
      session.reply(RPL_LISTEND, "End of /LIST");
    },
  },
  {
    name: "KICK",
    minParams: 2,
    help: "KICK #room nick [:reason]: send nick out of the room (operators)",
    handler(session, params) {
      const room = roomOf(session, params[0]);
      if (!room) return session.reply(ERR_NOSUCHCHANNEL, params[0], "No such channel");
      if (!session.hub.focus(session, room)) {
        return session.reply(ERR_NOTONCHANNEL, params[0], "You're not on that channel");
      }
      // The core checks and does it (the chat's /kick), and says KICK or the refusal.
      for (const nick of params[1].split(",").slice(0, TARGETS_MAX)) {
        chatCommand(session, "/kick", `${nick} ${params[2] ?? ""}`);
      }
    },
  },
  {
    name: "INVITE",
    minParams: 2,
    help: "INVITE nick #room: let nick into your room (+i: operators)",
    handler(session, params) {
      const room = roomOf(session, params[1]);
      if (!room) return session.reply(ERR_NOSUCHCHANNEL, params[1], "No such channel");
      if (!session.hub.focus(session, room)) {
        return session.reply(ERR_NOTONCHANNEL, params[1], "You're not on that channel");
      }
      const invitee = session.hub.members.get(nameKey(params[0]));
      if (invitee?.name && invitee.rooms.has(room)) {
        return session.reply(ERR_USERONCHANNEL, invitee.name, params[1], "is already on channel");
      }
      chatCommand(session, "/invite", params[0]);
    },
  },
  {
    name: "MODE",
    minParams: 1,
    help: "MODE #room|nick [changes]: modes (+o/+v NICK, +b MASK, +t +n +m +i +s +k KEY +l N)",
    handler(session, params) {
      const target = params[0];
      if (target.startsWith("#")) {
        const room = roomOf(session, target);
        if (!room) return session.reply(ERR_NOSUCHCHANNEL, target, "No such channel");
        return channelMode(session, room, params.slice(1));
      }
      if (nameKey(target) !== nameKey(session.name!)) {
        return session.reply(ERR_USERSDONTMATCH, "Can't change mode for other users");
      }
      const change = params[1];
      if (change === undefined) {
        return session.reply(
          RPL_UMODEIS,
          `+${session.invisible ? "i" : ""}${session.wallops ? "w" : ""}`,
        );
      }
      if (!/^([+-][iw]+)+$/.test(change)) {
        return session.reply(ERR_UMODEUNKNOWNFLAG, "Unknown MODE flag");
      }
      let adding = true;
      let changed = "";
      for (const letter of change) {
        if (letter === "+" || letter === "-") {
          adding = letter === "+";
          continue;
        }
        const field = letter === "i" ? "invisible" : "wallops";
        if (session[field] === adding) continue;
        session[field] = adding;
        const sign = adding ? "+" : "-";
        changed +=
          (changed.lastIndexOf(sign) > changed.lastIndexOf(adding ? "-" : "+") ? "" : sign) +
          letter;
      }
      if (changed !== "") session.raw(ircLine(session.mask, "MODE", session.name!, changed));
    },
  },
  {
    name: "OPER",
    minParams: 2,
    help: "OPER account password: become a server operator (an account named by --admins)",
    handler(session, [name, password]) {
      const { hub } = session;
      const { accounts } = hub;
      const key = nameKey(name);
      if (!hub.isAdmin(key)) return session.reply(ERR_NOOPERHOST, "No O-lines for your host");
      accounts.track(session, async () => {
        const result = await accounts.authenticate(session, key, name, password);
        if (session.closed) return;
        if (!result.ok) return session.reply(ERR_PASSWDMISMATCH, "Password incorrect");
        // OPER logs in to the account: being a server operator is being logged in to it.
        if (session.account !== key) loggedIn(session, result.account, false);
        if (!hub.isServerOperator(session)) {
          return session.reply(ERR_NOOPERHOST, "No O-lines for your host");
        }
        session.reply(RPL_YOUREOPER, "You are now an IRC operator");
        session.raw(ircLine(session.mask, "MODE", session.name!, "+o"));
      });
    },
  },
  {
    name: "KILL",
    minParams: 1,
    help: "KILL nick [reason]: disconnect a user (server operators)",
    handler(session, [nick, reason]) {
      const command = session.hub.commands.get("/kill")!;
      command.run(session.hub, session, reason ? `${nick} ${reason}` : nick);
    },
  },
  {
    name: "KLINE",
    minParams: 1,
    help:
      "KLINE [duration] mask [reason]: ban from the server (30m, 2h, 7d, perm; server operators)",
    handler(session, params) {
      // As Ergo: the duration first, if given (else for good); ANDKILL is what it always does.
      const words = params[0]?.toUpperCase() === "ANDKILL" ? params.slice(1) : params;
      const timed = words.length > 1 && /^(\d+[smhdw]?|perm)$/i.test(words[0]);
      const [when, mask, ...reason] = timed ? words : ["perm", ...words];
      if (!mask) return session.reply(ERR_NEEDMOREPARAMS, "KLINE", "Not enough parameters");
      const command = session.hub.commands.get("/kline")!;
      command.run(session.hub, session, [mask, when, ...reason].join(" "));
    },
  },
  {
    name: "UNKLINE",
    minParams: 1,
    help: "UNKLINE mask: lift a server ban (server operators)",
    handler(session, [mask]) {
      session.hub.commands.get("/unkline")!.run(session.hub, session, mask);
    },
  },
  {
    name: "WALLOPS",
    minParams: 1,
    help: "WALLOPS text: a notice to everyone connected (server operators)",
    handler(session, [text]) {
      session.hub.commands.get("/announce")!.run(session.hub, session, text);
    },
  },
  {
    name: "MOTD",
    help: "MOTD: the message of the day",
    handler: (session) => session.reply(ERR_NOMOTD, "MOTD File is missing"),
  },
  {
    name: "CHATHISTORY",
    minParams: 1,
    help: "CHATHISTORY LATEST|BEFORE|AFTER|BETWEEN|AROUND target … limit: kept messages",
    handler: chathistory,
  },
  {
    name: "MONITOR",
    minParams: 1,
    help: "MONITOR +|-|C|L|S [nicks]: be told when nicks come and go",
    handler: monitor,
  },
  {
    name: "HELP",
    help: "HELP [command]: this help",
    handler: help,
  },
  {
    name: "HELPOP",
    handler: help,
  },
  {
    name: "TIME",
    help: "TIME: the server's time",
    handler: (session) =>
      session.reply(RPL_TIME, session.front.options.serverName, new Date().toUTCString()),
  },
  {
    name: "INFO",
    help: "INFO: about this server",
    handler(session) {
      session.reply(RPL_INFO, `${VERSION}: the IRC front-end of a small chat server`);
      session.reply(RPL_ENDOFINFO, "End of INFO list");
    },
  },
  {
    name: "LUSERS",
    help: "LUSERS: how many are here",
    handler: lusers,
  },
  {
    name: "VERSION",
    help: "VERSION: the server's version",
    handler: (session) =>
      session.reply(
        RPL_VERSION,
        VERSION,
        session.front.options.serverName,
        "chat server, IRC front-end",
      ),
  },
  {
    name: "AWAY",
    help: "AWAY [:message]: mark yourself away, or back without a message",
    handler(session, params) {
      const words = params[0] ? cleanText(params[0]) : "";
      if (words) {
        session.away = words;
        session.reply(RPL_NOWAWAY, "You have been marked as being away");
      } else {
        session.away = null;
        session.reply(RPL_UNAWAY, "You are no longer marked as being away");
      }
      session.front.awayChanged(session);
    },
  },
  {
    name: "USERHOST",
    help: "USERHOST nick...: nicks with their user and host",
    handler(session, params) {
      const found: string[] = [];
      for (const nick of params.slice(0, 5)) {
        const member = session.hub.members.get(nameKey(nick));
        if (!member) continue;
        const irc = member instanceof IrcSession ? member : null;
        const here = irc?.away != null ? "-" : "+";
        found.push(`${member.name}=${here}${irc?.user ?? member.name}@${irc?.host ?? CHAT_HOST}`);
      }
      session.reply(RPL_USERHOST, found.join(" "));
    },
  },
  {
    name: "ISON",
    help: "ISON nick...: which of these nicks are here",
    handler(session, params) {
      const here = params.flatMap((words) => words.split(" "))
        .map((nick) => session.hub.members.get(nameKey(nick))?.name)
        .filter((name) => name !== undefined && name !== null);
      session.reply(RPL_ISON, here.join(" "));
    },
  },
];

/** The commands by name. */
const COMMANDS: ReadonlyMap<string, IrcCommand> = new Map(
  COMMAND_TABLE.map((command) => [command.name, command]),
);

/** The commands HELP lists, in alphabetical order. */
const HELPED = COMMAND_TABLE.filter((command) => command.help).map((command) => command.name)
  .sort();

/** The value of the `label` tag of a tagged line, if it has one (at most 64 characters). */
function labelOf(line: string): string | null {
  const match = /^@(?:[^ ]*;)?label=([^; ]{1,64})(?:[; ]|$)/.exec(line);
  return match ? match[1] : null;
}

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
            ERR_MONLISTFULL,
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
      if (online.length > 0) session.reply(RPL_MONONLINE, online.join(","));
      if (offline.length > 0) session.reply(RPL_MONOFFLINE, offline.join(","));
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
        if (online.length > 0) session.reply(RPL_MONLIST, online.join(","));
        session.reply(RPL_ENDOFMONLIST, "End of MONITOR list");
        return;
      }
      if (online.length > 0) session.reply(RPL_MONONLINE, online.join(","));
      if (offline.length > 0) session.reply(RPL_MONOFFLINE, offline.join(","));
      return;
    }
    default:
      session.reply(ERR_NEEDMOREPARAMS, "MONITOR", "Not enough parameters");
  }
}

/** HELP and HELPOP: 704, 705s and 706, or 524 for an unknown subject. */
function help(session: IrcSession, params: string[]): void {
  const subject = (params[0] ?? "").toUpperCase();
  if (subject === "") {
    session.reply(RPL_HELPSTART, "*", "Commands (HELP <command> for one):");
    session.reply(RPL_HELPTXT, "*", HELPED.join(" "));
    return session.reply(RPL_ENDOFHELP, "*", "End of /HELP");
  }
  const text = COMMANDS.get(subject)?.help;
  if (!text) return session.reply(ERR_HELPNOTFOUND, subject, "No help available on this topic");
  session.reply(RPL_HELPSTART, subject, text);
  session.reply(RPL_ENDOFHELP, subject, "End of /HELP");
}

/** A USER name as shown in masks: no spaces, `@`, `!` or controls, at most a nick's length. */
function cleanUser(user: string): string {
  const cleaned = cleanText(user).replace(/[\s@!:]/g, "").slice(0, NAME_MAX);
  return cleaned || "user";
}
