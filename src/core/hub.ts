/**
 * The hub: every session, the names they hold, the rooms they are in, and
 * {@linkcode Hub.post}, the one place every chat message passes on its way to
 * its recipients. Transports hand it {@linkcode Connection}s; it never sees a
 * socket, so tests drive it in memory.
 *
 * @module
 */

import type { ClusterHub, ClusterLink, RemoteNotice } from "./remote.ts";
import { RemoteMember } from "./remote.ts";
import { Accounts } from "./accounts.ts";
import { type Command, COMMANDS, dispatch } from "./commands.ts";
import {
  type ChatMessage,
  checkName,
  checkRoomName,
  cleanLine,
  LOBBY,
  nameKey,
  NAMES_IN_NOTICE,
  reasons,
  RESERVED_NAMES,
  roomKey,
  roomName,
} from "./protocol.ts";
import {
  type DeletedEvent,
  type Event,
  failed,
  type Problem,
  type SearchResult,
} from "./events.ts";
import { type Marker, ReadMarkers } from "./read_markers.ts";
import { Delivery } from "./delivery.ts";
import { idBound, IdMaker } from "./ids.ts";
import {
  CONVERSATIONS_LISTED,
  entryKey,
  guestKey,
  HELD_MAX,
  MemoryPrivates,
  otherOf,
  pairKey,
  type PrivateEntry,
  type PrivateStore,
} from "./private.ts";
import { privateDeleted } from "./private_delete.ts";
import {
  type Found,
  type HistoryEntry,
  type HistoryMessage,
  type HistoryStore,
  MemoryHistory,
} from "./history.ts";
import type { Admission } from "./admission.ts";
import { type Webhook, Webhooks } from "./webhooks.ts";
import { hostOf, type ServerLog } from "../ops/log.ts";
import { ChatMetrics, type DropReason, NO_LISTENER } from "../ops/metrics.ts";
import { deliverTo, Room, type RoomMember } from "./room.ts";
import {
  type Mask,
  matches,
  MemoryRulesStore,
  parseMask,
  RoomRules,
  type RulesData,
  type RulesStore,
  type Subject,
} from "./moderation.ts";
import { type Kline, klineKey, Klines, type KlineStore, MemoryKlineStore } from "./klines.ts";
import { type Connection, HISTORY_BURST, type Session } from "./session.ts";

/** The hub's limits and timings. */
export interface HubOptions {
  /** Longest line a client may send, in bytes, without its newline. */
  maxLine: number;
  /** Rooms that may exist at once. */
  maxRooms: number;
  /** Tokens per second one client gets (a line costs one per started 512 bytes); 0: off. */
  rate: number;
  /** Tokens one client may spend at once before `rate` applies. */
  burst: number;
  /** Milliseconds a new connection has to choose a name. */
  nameTimeout: number;
  /** Milliseconds between two notice lines in a room; what happens meanwhile is merged. */
  noticeInterval: number;
  /** Milliseconds a join waits to be announced; a quicker leave cancels it. */
  joinGrace: number;
  /** Lines of a room's history replayed to whoever enters it. */
  replay: number;
  /** Lines of history kept in memory per room. */
  history: number;
  /** Log every message as well as joins and leaves. */
  verbose: boolean;
  /** Names of the accounts that are server operators (`--admins`), while logged in. */
  admins?: readonly string[];
}

/** Called with every message the hub posts (history and a cluster bus hook in here). */
export type PostHook = (message: ChatMessage) => void;

/**
 * A session got its first name (`named`), came into a room, left it (`parted`:
 * still connected; `quit`: gone), was renamed or set its room's topic; told at
 * once, one change at a time.
 */
export type MemberChange =
  | { kind: "named"; session: Member }
  | { kind: "joined"; session: Member; room: Room<Session> }
  | { kind: "parted"; session: Member; room: Room<Session>; reason?: string; kicked?: boolean }
  /** `rooms`: every room it was in (IRC tells one QUIT per person who shared any). */
  | {
    kind: "quit";
    session: Member;
    room: Room<Session> | null;
    rooms: readonly Room<Session>[];
    reason?: string;
  }
  | {
    kind: "renamed";
    session: Member;
    old: string;
    room: Room<Session> | null;
    rooms: readonly Room<Session>[];
  }
  | { kind: "topic"; session: Member; room: Room<Session> }
  /** One more connection of the member `session` (an account's), in its room if it is in one. */
  | { kind: "attached"; session: Session; connection: Session }
  /** A connection of the member `session` (still here) went; `session` may be new in its place. */
  | { kind: "detached"; session: Session; connection: Session }
  /**
   * The connection `session` logged in or out (its `account` is the new one, `old` the one
   * before), by any front-end; a member's connections change one by one (IRC tells the
   * channel of its lead's change).
   */
  | { kind: "account"; session: Session; old: string | null };

/** A member here (a session) or on another server of the cluster. */
export type Member = Session | RemoteMember;

/**
 * What {@linkcode Hub.move} did: `room` entered, or not (`problem`: why, as the
 * session was told; `null`: it was there already).
 */
export type MoveResult =
  | { readonly ok: true; readonly room: Room<Session> }
  | { readonly ok: false; readonly problem: Problem | null };

/** Called with every {@linkcode MemberChange} (the IRC front-end hooks in here). */
export type ChangeHook = (change: MemberChange) => void;

/** Members, names and rooms, and the rules for moving between them. */
export class Hub implements ClusterHub {
  /** Every session (connection), named or not, attached or not. */
  readonly sessions = new Set<Session>();
  /**
   * Members by {@linkcode nameKey}: each one's lead session (an account's member may have
   * further connections attached to it: see `#attach`, and docs/architecture.md).
   */
  readonly members = new Map<string, Session>();
  /**
   * Names being claimed across the cluster, by {@linkcode nameKey}, and the session
   * waiting for each: held apart from `members` (no one has them yet), so that
   * nothing that lists or looks up members sees them.
   */
  readonly claims = new Map<string, Session>();
  /** Rooms by {@linkcode roomKey}; a room exists while someone is in it. */
  readonly rooms = new Map<string, Room<Session>>();
  /** Called with every posted message, after it is delivered. */
  readonly postHooks: PostHook[] = [];
  /** Called with every change of a member's room, name or topic, after it is made. */
  readonly changeHooks: ChangeHook[] = [];
  /** What `/metrics` counts, bumped where it happens (by the hub and the transports). */
  readonly metrics = new ChatMetrics();
  /** Makes the ids of the messages this instance accepts (see `ids.ts`). */
  readonly ids = new IdMaker();
  /** Messages posted, each counted once. */
  messages = 0;
  /** Messages delivered, counted per recipient, and their bytes (for `/metrics`). */
  deliveries = 0;
  relayedBytes = 0;
  /** Set by shutdown: no one new is let in, and leaving members are not announced. */
  closing = false;
  /** The other instances this one shares rooms and names with (`--redis`), or `null`. */
  cluster: ClusterLink | null = null;
  /** Says which address a session counts under (and which are exempt); `null`: no bound. */
  admission: Admission | null = null;
  /** Registered names and the account commands (in memory unless the server gives a store). */
  accounts: Accounts = new Accounts(this);
  /**
   * Rooms that one address (see {@linkcode Admission.keyOf}) may have made and that exist
   * now: an eighth of `maxRooms`, at least 4. Filling every room takes eight addresses,
   * not one host's connections; a network behind one address is exempted with `--exempt`.
   */
  readonly roomsPerAddress: number;
  /**
   * The rules (roles, modes, bans) of rooms by {@linkcode roomKey}: of every room that
   * exists, and of every founded room even while empty (those are kept in `rulesStore`).
   */
  readonly roomRules = new Map<string, RoomRules>();
  /** Where founded rooms' rules are kept (`--db`), or nowhere; see {@linkcode loadRules}. */
  rulesStore: RulesStore = new MemoryRulesStore();
  /** Server-wide bans (`/kline`): matched at every connection, name and login. */
  readonly klines = new Klines();
  /** Where klines are kept (`--db`), or nowhere (memory; with `--redis`, Redis). */
  klineStore: KlineStore = new MemoryKlineStore();
  /** Incoming webhooks (see `webhooks.ts`); the server gives a store that keeps them. */
  webhooks: Webhooks = new Webhooks();
  /** What a webhook's path follows in the URL it is shown with (`http://host:port`; `""`: none). */
  webhookBase = "";
  /** Private conversations between accounts (in memory unless the server gives a store). */
  privates: PrivateStore;
  /** Accounts' read markers (in memory unless the server gives a store; see `read_markers.ts`). */
  readonly readMarkers = new ReadMarkers();
  /**
   * Private conversations' search, where they are kept: an account's own conversations
   * only (`with`: the other person). `null`: only rooms are searched. The memory store
   * unless the server gives another (it sets both `privates` and this).
   */
  privateSearch: PrivateSearch | null = null;
  /** The member being kicked to the lobby right now: its move out is told as a kick (no PART). */
  #kicked: Session | null = null;
  /** Rooms that exist now by the address that made them. */
  readonly #roomsMade = new Map<string, number>();
  readonly commands: ReadonlyMap<string, Command>;
  /** The {@linkcode nameKey}s of names no member may take. */
  readonly #reserved = new Set(RESERVED_NAMES.map(nameKey));
  /** The keys of the server operators' accounts (`--admins`). */
  readonly #admins: ReadonlySet<string>;

  /**
   * Makes an empty hub; `log` is the operator's log, `history` keeps rooms'
   * recent past (in memory unless given), `commands` replaces the command table.
   */
  constructor(
    readonly options: HubOptions,
    readonly log: ServerLog,
    readonly history: HistoryStore = new MemoryHistory(options.history, options.maxRooms),
    commands: readonly Command[] = COMMANDS,
  ) {
    this.commands = new Map(commands.map((command) => [command.name, command]));
    this.#admins = new Set((options.admins ?? []).map(nameKey));
    this.roomsPerAddress = Math.max(4, Math.floor(options.maxRooms / 8));
    // Searched where kept: a store the server gives instead brings its own (see server.ts).
    this.privates = this.privateSearch = new MemoryPrivates(options.history, options.maxRooms);
  }

  /**
   * Lets a new connection in (the transport has admitted it: see `admission.ts`) as
   * `session`, made by its front-end: greets it and starts its name timer; `null` once
   * the hub is shutting down.
   */
  connect(conn: Connection, session: Session): Session | null {
    if (this.closing) {
      conn.close(false);
      return null;
    }
    this.sessions.add(session);
    // A klined address is refused at the door, with the reason (one size check while none is).
    const kline = this.klines.matchAddress(hostOf(conn.remote));
    if (kline !== null) {
      this.#klineOut([session], kline);
      return null;
    }
    // A front-end with a greeting of its own (IRC) ignores this one.
    session.tell({ type: "greeting", time: Date.now(), maxLine: this.options.maxLine });
    session.nameTimer = setTimeout(nameTimedOut, this.options.nameTimeout, session);
    return session;
  }

  /** Handles one line a session sent: its name while it has none, then messages and commands. */
  handleLine(session: Session, bytes: Uint8Array): void {
    const text = cleanLine(bytes);
    // Asked for a password at the name prompt: this line is it, whatever it looks like.
    if (session.name === null && this.accounts.answer(session, text)) return;
    if (isBlank(text)) return;
    if (text.charCodeAt(0) === SLASH && text.charCodeAt(1) !== SLASH) {
      return dispatch(this, session, text);
    }
    if (session.name === null) return this.chooseName(session, text.trim());
    this.post({
      kind: "message",
      from: session.name,
      room: session.room!.name,
      text: text.charCodeAt(0) === SLASH ? text.slice(1) : text,
      time: Date.now(),
    }, session);
  }

  /**
   * Delivers a chat message: to every member of its room but `sender`, or to its
   * one recipient. Every message passes here, rendered and encoded once for all.
   */
  post(message: ChatMessage, sender: Session | null): void {
    // A message to a room from outside it (IRC, `-n`) was checked by `mayPostFromOutside`.
    if (
      sender !== null && message.kind !== "private" && sender.room !== null &&
      sender.room.name === message.room
    ) {
      // One map lookup per message; a subject is made only in a muted or moderated room.
      const rules = this.roomRules.get(sender.room.key);
      if (rules !== undefined && rules.restricted) {
        const problem = rules.speak(sender.room.name, this.subject(sender));
        if (problem !== null) return this.refuse(sender, problem);
      }
    }
    this.messages++;
    this.metrics.messages.with(sender?.conn.listener ?? NO_LISTENER).inc();
    if (sender !== null && sender.account !== null) {
      message.account = this.accounts.accountName(sender.account) ?? sender.account;
      if (message.kind === "private") message.toAccount ??= this.#accountOf(message.to!);
    } else if (sender !== null && message.kind === "private") {
      // A guest's message to an account is kept in the account's history (one-sided).
      message.toAccount ??= this.#accountOf(message.to!);
    }
    // A private message is kept, and has an id, when one side at least is an account.
    if (
      message.kind !== "private" || message.toAccount !== undefined ||
      message.account !== undefined
    ) {
      message.id = this.ids.next(message.time);
      // A guest's proof of authorship (`/delete`, rooms only).
      if (message.kind !== "private") sender?.member.rememberPosted(message.id);
    }
    const own = sender?.room;
    const key = own && (message.kind === "private" || own.name === message.room)
      ? own.key
      : roomKey(message.room);
    // Queued for the other servers first: their send then goes out before this one's writes.
    this.cluster?.publish({ t: "msg", k: key, m: message });
    const member = sender?.member ?? null;
    const delivery = this.#deliver(message, key, member);
    if (delivery !== null) sender?.posted(delivery);
    // The member's other connections see what this one said (a private line as its receipt).
    if (member?.attached) this.#toSiblings(sender!, delivery ?? new Delivery(chatEvent(message)));
    // Public words only, and only when asked: private messages are never logged.
    if (this.options.verbose && message.kind !== "private") {
      const { kind, from, room, text } = message;
      this.log.event({ event: kind, name: from, room, text });
    }
    for (const hook of this.postHooks) hook(message);
  }

  /**
   * Why `session` may not say something in `room` from outside it, or `null`: a room is
   * `+n` (no messages from outside) unless its operators set `-n`; then its bans, mutes
   * and `+m` apply as to its members.
   */
  mayPostFromOutside(session: Session, room: Room<Session>): Problem | null {
    const rules = this.roomRules.get(room.key);
    if (rules === undefined || rules.modes.has("n")) {
      return { code: "notInRoom", name: session.member.name!, room: room.name };
    }
    const subject = this.subject(session);
    if (rules.banned(subject)) return { code: "banned", room: room.name };
    return rules.speak(room.name, subject);
  }

  /**
   * Posts `text` into the room `room` as the bot `name` (a webhook's post, checked and
   * rated by the caller): kept, relayed to the cluster and delivered like any message.
   */
  postBot(room: string, name: string, text: string): string {
    const message: ChatMessage = {
      kind: "message",
      from: name,
      // As the room is called now (a hook made for `#CI` posts to `ci` if that is its name).
      room: this.rooms.get(roomKey(room))?.name ?? room,
      text,
      time: Date.now(),
      bot: true,
    };
    this.post(message, null);
    return message.id!;
  }

  /** Hands what `sender` said to the other connections of its member. */
  #toSiblings(sender: Session, delivery: Delivery): void {
    for (const connection of sender.connections()) {
      if (connection !== sender) connection.sentBySibling(delivery);
    }
  }

  /** Delivers a message another instance's member sent in the room `key` (see `src/cluster/cluster.ts`). */
  remoteMessage(message: ChatMessage, key: string, sender: RemoteMember | null): void {
    // A server of an older version sent it without an id: it gets one here.
    if (message.kind !== "private" && message.id === undefined) message.id = this.ids.next();
    this.#deliver(message, key, sender);
  }

  /**
   * Delivers `message`, said in the room `key`, to this instance's members, and keeps it;
   * gives back the room's delivery (`null` for a private message).
   */
  #deliver(message: ChatMessage, key: string, sender: RoomMember | null): Delivery | null {
    const delivery = new Delivery(chatEvent(message));
    if (message.kind === "private") {
      if (message.id !== undefined && (message.account !== undefined || message.toAccount)) {
        this.#keepPrivate(message);
      }
      const target = this.members.get(nameKey(message.to!));
      // A private line must not arrive before the sender's join notice.
      if (target?.name) {
        if (sender !== null && target.room?.key === key) target.room.introduce(sender, true);
        deliverTo(target, delivery);
        this.deliveries++;
      }
      return null;
    }
    const room = this.rooms.get(key);
    if (room) {
      room.broadcast(delivery, sender);
      this.deliveries += room.members.size - (room.members.has(sender as Session) ? 1 : 0);
    }
    this.history.add(key, message as HistoryMessage);
    return delivery;
  }

  /**
   * Keeps a private message in its conversation: between two accounts, or one-sided in the
   * account's history with a guest (see {@linkcode guestKey}).
   */
  #keepPrivate(message: ChatMessage): void {
    const { id, from, to, text, time, account, toAccount } = message;
    const entry: PrivateEntry = {
      id: id!,
      kind: "private",
      from,
      to: to!,
      text,
      time,
      account: account ?? "",
      toAccount: toAccount ?? "",
    };
    // Only an account is held for (see `holdPrivate`).
    const held = message.held && entry.toAccount ? nameKey(entry.toAccount) : undefined;
    this.privates.add(entryKey(entry), entry, held);
  }

  /**
   * The key of the account `account`'s conversation with `name`: with that account, or if
   * no account has that name, the one-sided one with a guest of that name.
   */
  privateKeyWith(account: string, name: string): string {
    const key = nameKey(name);
    return this.accounts.accountName(key) !== undefined
      ? pairKey(account, key)
      : guestKey(account, key);
  }

  /** The account (its name as registered) of the member called `name`, if logged in to one. */
  #accountOf(name: string): string | undefined {
    const key = nameKey(name);
    const local = this.members.get(key);
    if (local !== undefined) {
      return local.account === null ? undefined : this.accounts.accountName(local.account);
    }
    // A registered name is held only by a member logged in to its account.
    return this.cluster?.remote.has(key) ? this.accounts.accountName(key) : undefined;
  }

  /**
   * A private message from logged-in `session` to `name`, who is not connected: if `name`
   * is an account, the message is kept for its next login and the sender told so (gives
   * the message; `true`: refused, and told why); `false` if not (no such member). At most
   * {@linkcode HELD_MAX} wait per account.
   */
  holdPrivate(session: Session, name: string, text: string): ChatMessage | boolean {
    if (session.account === null) return false;
    const key = nameKey(name);
    const account = this.accounts.accountName(key);
    if (account === undefined) return false;
    if (key === session.account) {
      session.tell(failed({ code: "thatIsYou" }));
      return true;
    }
    if (this.privates.heldCount(key) >= HELD_MAX) {
      session.tell(failed({ code: "heldFull", name: account }));
      return true;
    }
    const time = Date.now();
    const from = session.name!;
    const room = session.room?.name ?? LOBBY;
    const message: ChatMessage = {
      kind: "private",
      from,
      room,
      to: account,
      toAccount: account,
      held: true,
      text,
      time,
    };
    this.post(message, session);
    session.tell({ type: "heldForLater", time: Date.now(), to: account, id: message.id, text });
    return message;
  }

  /** Tells `session`, just logged in, the private messages that waited for its account. */
  deliverHeld(session: Session): void {
    const key = session.account;
    if (key === null) return;
    const held = this.privates.takeHeld(key);
    if (held.length === 0) return;
    this.cluster?.publish({ t: "held", k: key });
    // One page per conversation, in the order each first wrote.
    const byOther = new Map<string, PrivateEntry[]>();
    for (const entry of held) {
      const other = otherOf(entry, key);
      const entries = byOther.get(other);
      if (entries) entries.push(entry);
      else byOther.set(other, [entry]);
    }
    const time = Date.now();
    for (const [other, entries] of byOther) {
      session.tell({
        type: "privateHistory",
        time,
        with: other,
        earlier: false,
        entries,
        more: false,
        away: true,
      });
    }
  }

  /** Another instance delivered what waited for the account `key`: it waits here no more. */
  remoteHeldTaken(key: string): void {
    this.privates.takeHeld(key);
  }

  /**
   * Tells `session` the private conversations of its account, newest first (bounded), if it
   * has any (none: nothing told).
   */
  conversationsOf(session: Session): void {
    if (session.account === null) return;
    const list = this.privates.conversations(session.account, CONVERSATIONS_LISTED);
    if (list.length > 0) session.tell({ type: "conversations", time: Date.now(), list });
  }

  /**
   * Tells `session` a page of up to `limit` entries before the id `before` (the newest if
   * absent) of its room `room` (another room is refused), with whether older ones are kept.
   */
  roomPage(session: Session, room: string, limit: number, before?: string): void {
    const here = session.room;
    if (here === null || here.key !== roomKey(room)) {
      return session.tell(failed({ code: "notInRoom", name: session.name ?? "", room }));
    }
    const wait = session.historyWait();
    if (wait > 0) return session.tell(historyTooFast(wait));
    const got = this.history.before(here.key, limit + 1, before);
    const entries = fit(got.length > limit ? got.slice(1) : got);
    const more = got.length > entries.length;
    const time = Date.now();
    session.tell({ type: "history", time, room: here.name, earlier: true, entries, more });
  }

  /**
   * Tells logged-in `session` a page of up to `limit` entries before the id `before` (the
   * newest if absent) of its private conversation with the account `name`; gives back the
   * entries sent (`null`: refused).
   */
  privatePage(
    session: Session,
    name: string,
    limit: number,
    before?: string,
  ): readonly PrivateEntry[] | null {
    if (session.account === null) {
      session.tell(failed({ code: "notLoggedIn" }));
      return null;
    }
    const wait = session.historyWait();
    if (wait > 0) {
      session.tell(historyTooFast(wait));
      return null;
    }
    const key = nameKey(name);
    const other = this.accounts.accountName(key) ?? name;
    const got = this.privates.before(this.privateKeyWith(session.account, key), limit + 1, before);
    const entries = fit(got.length > limit ? got.slice(1) : got);
    const more = got.length > entries.length;
    const time = Date.now();
    session.tell({ type: "privateHistory", time, with: other, earlier: true, entries, more });
    return entries;
  }

  /**
   * `/history NAME [N]`: the next `count` older lines of the private conversation with
   * `name` than `session` was last shown of it (its newest, the first time).
   */
  earlierWith(session: Session, name: string, count: number): void {
    const pair = session.account === null ? "" : this.privateKeyWith(session.account, name);
    const cursor = session.privateCursor;
    const before = cursor !== undefined && cursor[0] === pair ? cursor[1] : undefined;
    const entries = this.privatePage(session, name, count, before);
    if (entries !== null && entries.length > 0) session.privateCursor = [pair, entries[0].id];
  }

  /**
   * Keeps `name` (and every spelling that {@linkcode nameKey} folds into it) from
   * members, as {@linkcode RESERVED_NAMES} are: for the IRC server's own name.
   */
  reserve(name: string): void {
    this.#reserved.add(nameKey(name));
  }

  /** Whether `name` is reserved: no member may take it. */
  isReserved(name: string): boolean {
    return this.#reserved.has(nameKey(name));
  }

  /** Whoever is called `name`, here or elsewhere in the cluster (a name claimed, not yet held: no one). */
  findMember(name: string): Member | undefined {
    const key = nameKey(name);
    return this.members.get(key) ?? this.cluster?.remote.get(key);
  }

  /** The name of whoever is called `name` here or elsewhere in the cluster, if anyone is. */
  memberName(name: string): string | undefined {
    return this.findMember(name)?.name ?? undefined;
  }

  /** The session that holds the name key `key`, as a member's or claimed, if any. */
  holderOf(key: string): Session | undefined {
    return this.members.get(key) ?? this.claims.get(key);
  }

  /**
   * Why `name` cannot be `session`'s name (bad, reserved, taken, or registered to an
   * account the session is not logged in to: unless `asOwner`, when the caller checks
   * the password itself), or `null`.
   */
  nameError(name: string, session: Session, asOwner = false): Problem | null {
    const bad = checkName(name);
    if (bad) return { code: "badName", name, reason: bad };
    const key = nameKey(name);
    if (this.#reserved.has(key)) return { code: "nameReserved", name };
    const holder = this.holderOf(key);
    // Held by the session's own member (a claim one of its connections made) is no obstacle.
    if (
      holder && holder.member !== session.member && !this.#joinable(holder, key, session, asOwner)
    ) {
      return { code: "nameTaken", name };
    }
    if (this.cluster?.remoteName(key) !== undefined) {
      // An account's connections share the server its member is on (for now).
      if (this.accounts.isRegistered(name)) return { code: "accountElsewhere", name };
      return { code: "nameTaken", name };
    }
    return asOwner ? null : this.accounts.guard(session, name);
  }

  /**
   * Whether unnamed `session` may become one more connection of `holder`, the member
   * called by the name key `key`: `holder` is logged in to the account of that name, and
   * so is `session` (or, `asOwner`, the caller asks for the account's password next).
   */
  #joinable(holder: Session, key: string, session: Session, asOwner: boolean): boolean {
    return holder.account === key && holder.name !== null && session.name === null &&
      this.members.get(key) === holder && (asOwner || session.account === key);
  }

  /** The member unnamed `session` joins as one more connection under the name key `key`, if any. */
  #accountMember(session: Session, key: string): Session | undefined {
    const holder = this.members.get(key);
    if (holder === undefined || holder === session || session.account !== key) return undefined;
    return this.#joinable(holder, key, session, false) ? holder : undefined;
  }

  /** Gives an unnamed `session` the name `text` if it may have it, or tells it why not. */
  chooseName(session: Session, text: string): void {
    const name = text.normalize("NFC");
    const error = this.nameError(name, session, true);
    if (error) return this.#refuseName(session, error);
    // A registered name asks for its password first (see `accounts.ts`).
    if (this.accounts.challenge(session, name)) return;
    this.takeName(session, name);
  }

  /** Gives unnamed `session` the name `name` (checked already) and lets it into the lobby. */
  takeName(session: Session, name: string): void {
    if (this.#klined(session, name)) return;
    const key = nameKey(name);
    const member = this.#accountMember(session, key);
    if (member !== undefined) return this.#attach(session, member);
    if (this.cluster) {
      return this.claim(session, name, LOBBY, (taken) => {
        if (taken) return this.#refuseName(session, { code: "nameTaken", name });
        this.#admit(session, name);
      });
    }
    this.members.set(key, session);
    this.#admit(session, name);
  }

  #refuseName(session: Session, problem: Problem): void {
    const address = session.conn.remote;
    this.log.repeated({ event: "name-refused", address, reason: problem.code });
    session.tell(failed(problem));
    session.tell({ type: "prompt", time: Date.now() });
  }

  /**
   * Claims `name` across the cluster for `session` (in `room`), which waits
   * meanwhile, the name reserved here in `claims`; once granted the name is the
   * session's in `members`. `then(taken)` runs if the session is still there,
   * and a claim it no longer needs is given back.
   */
  claim(session: Session, name: string, room: string, then: (taken: boolean) => void): void {
    const key = nameKey(name);
    // Held here by the member this session joins: nothing to claim (see `attach`).
    if (this.#accountMember(session, key) !== undefined) return then(false);
    this.claims.set(key, session);
    session.claiming = name;
    session.hold();
    this.cluster!.claim(name, room).then((granted) => {
      session.claiming = null;
      if (this.claims.get(key) === session) this.claims.delete(key);
      if (session.closed) {
        const unused = !this.members.has(key) && !this.claims.has(key);
        if (granted && unused) this.cluster?.publish({ t: "drop", k: key });
        return;
      }
      if (granted) this.members.set(key, session.member); // a member holds names, not a connection
      try {
        then(!granted);
      } catch (error) {
        this.internalError(session, error);
      }
      session.proceed();
    });
  }

  /** Lets a session with a name (reserved in `members` already) into the lobby. */
  #admit(session: Session, name: string): void {
    session.name = name;
    clearTimeout(session.nameTimer);
    session.nameTimer = undefined;
    this.#changed({ kind: "named", session });
    const room = this.#enter(session, LOBBY) as Room<Session>;
    const [others, count] = this.#others(room, session);
    const { topic } = room;
    session.tell({
      type: "welcome",
      time: Date.now(),
      name,
      room: room.name,
      others,
      count,
      topic,
    });
    this.#arrive(session, room);
    if (session.account !== null) this.deliverHeld(session);
    this.log.event({ event: "join", name, room: room.name, address: session.conn.remote });
    this.metrics.joins.with(session.conn.listener ?? NO_LISTENER).inc();
    room.announce(session, "joined");
    this.#changed({ kind: "joined", session, room });
    this.cluster?.publish({ t: "join", k: nameKey(name), name, room: room.name });
  }

  /**
   * Makes unnamed `session`, logged in to the account of `member`, one more connection
   * of that member: the same name, the same room, nothing announced (the room knows the
   * member already). A front-end whose clients are always in a room (text, JSON) takes
   * the member into the lobby first if it is in none, and is welcomed with the room and
   * its replay; an IRC client is shown its channel once registered (see `src/irc/irc.ts`).
   */
  #attach(session: Session, member: Session): void {
    if (member.room === null && session.alwaysInRoom) this.move(member, LOBBY);
    const name = member.name!;
    session.name = name;
    session.lead = member;
    (member.attached ??= []).push(session);
    clearTimeout(session.nameTimer);
    session.nameTimer = undefined;
    const room = session.room = member.room;
    session.rooms = member.rooms; // one set for all of a member's connections
    const connections = member.attached.length + 1;
    this.log.event({ event: "attach", name, address: session.conn.remote, count: connections });
    this.#changed({ kind: "attached", session: member, connection: session });
    if (room === null || !session.alwaysInRoom) return;
    const [others, count] = this.#others(room, member);
    const { topic } = room;
    session.tell({
      type: "welcome",
      time: Date.now(),
      name,
      room: room.name,
      others,
      count,
      topic,
    });
    this.#arrive(session, room);
  }

  /**
   * Takes `session` out of its member, which stays: a connection attached is let go; the
   * lead is replaced by the first connection attached, in `members`, its room and as
   * the others' lead. Nothing is announced: the member is still here.
   */
  #detach(session: Session): void {
    const lead = session.member;
    const attached = lead.attached!;
    if (session !== lead) {
      attached.splice(attached.indexOf(session), 1);
      if (attached.length === 0) lead.attached = null;
      session.lead = null;
      session.rooms = new Set();
      const count = attached.length + 1;
      this.log.event({ event: "detach", name: lead.name!, address: session.conn.remote, count });
      return this.#changed({ kind: "detached", session: lead, connection: session });
    }
    const next = attached.shift()!;
    next.lead = null;
    next.attached = attached.length > 0 ? attached : null;
    for (const other of attached) other.lead = next;
    session.attached = null;
    this.members.set(nameKey(lead.name!), next);
    for (const room of lead.rooms) {
      room.replace(lead, next);
      // A guest role held by the lead goes on with the member (it logged in meanwhile).
      const rules = this.roomRules.get(room.key);
      if (rules !== undefined) {
        if (rules.guestOps.delete(lead)) rules.guestOps.add(next);
        if (rules.guestVoices.delete(lead)) rules.guestVoices.add(next);
      }
    }
    lead.rooms = new Set();
    const count = attached.length + 1;
    this.log.event({ event: "detach", name: lead.name!, address: session.conn.remote, count });
    this.#changed({ kind: "detached", session: next, connection: session });
  }

  /**
   * Gives `session` the name `name` without putting it in a room (an IRC user
   * is in none until it joins one); returns why not (see {@linkcode nameError}), or `null`.
   * `asOwner`: a registered name is not refused (IRC lets one in and asks to identify).
   * A session logged in to the account of a member here becomes one more connection of it.
   */
  register(session: Session, name: string, asOwner = false): Problem | null {
    const error = this.nameError(name, session, asOwner);
    if (error) return error;
    const kline = this.#klineFor(session, name);
    if (kline !== null) {
      this.#klineOut([session], kline);
      return klinedProblem(kline);
    }
    const member = this.#accountMember(session, nameKey(name));
    if (member !== undefined) {
      this.#attach(session, member);
      return null;
    }
    session.name = name;
    this.members.set(nameKey(name), session);
    clearTimeout(session.nameTimer);
    session.nameTimer = undefined;
    this.log.event({ event: "join", name, address: session.conn.remote });
    this.metrics.joins.with(session.conn.listener ?? NO_LISTENER).inc();
    this.#changed({ kind: "named", session });
    this.cluster?.publish({ t: "join", k: nameKey(name), name, room: "" });
    return null;
  }

  /**
   * Takes a member out of `room` (default: its current one) without putting it in another;
   * the room is told. A member in other rooms stays in them (the current one is another then).
   */
  part(connection: Session, reason?: string, kicked = false, room = connection.member.room): void {
    const session = connection.member;
    if (room === null || !session.rooms.has(room)) return;
    // A member with a connection that must be in a room (text, JSON) goes from its current
    // room to the lobby instead (another of its rooms, an IRC connection's, it just leaves).
    if (room === session.room && session.connections().some((other) => other.alwaysInRoom)) {
      if (room.key !== LOBBY_KEY) {
        this.#kicked = kicked ? session : null;
        try {
          this.move(session, LOBBY);
        } finally {
          this.#kicked = null;
        }
      }
      return;
    }
    this.#exit(session, room);
    if (session.room === room) this.#placeIn(session, lastOf(session.rooms));
    this.log.event({ event: "part", name: session.name!, room: room.name });
    if (room.members.size > 0) room.announce(session, "left", reason);
    this.#changed({ kind: "parted", session, room, reason, kicked });
    const name = session.name!;
    const rs = RemoteMember.roomList(session.rooms); // the rooms it stays in
    const moved = {
      t: "move" as const,
      k: nameKey(name),
      name,
      from: room.name,
      room: "",
      rs,
      reason,
    };
    this.cluster?.publish(kicked ? { ...moved, kicked } : moved);
  }

  /** `session` logged in or out (see {@linkcode Session.account}): the change hooks are told. */
  accountChanged(session: Session, old: string | null): void {
    this.#changed({ kind: "account", session, old });
    // A login to a klined account ends the connection, once the login's own work is done;
    // one logged in while named is told what waited for it (at the prompt: once admitted).
    if (session.account !== null && session.name !== null) {
      queueMicrotask(() => {
        if (session.closed || session.account === null) return;
        if (this.klines.size > 0 && this.#klined(session, session.name!)) return;
        this.deliverHeld(session);
      });
    }
  }

  /** Tells the change hooks; one that fails is logged, and the change stands. */
  #changed(change: MemberChange): void {
    for (const hook of this.changeHooks) {
      try {
        hook(change);
      } catch (error) {
        this.internalError(null, error);
      }
    }
  }

  /**
   * What someone entering `room` is told after the welcome (which shows its topic):
   * its last `--replay` lines, before any live line can come.
   */
  #arrive(session: Session, room: Room<Session>): void {
    // What was said before now is "earlier": /history starts there, not at live lines.
    const latest = this.history.before(room.key, 1)[0]?.id;
    const now = idBound(Date.now());
    session.historyCursor = latest === undefined || latest + "~" < now ? now : latest + "~";
    const since = session.since;
    if (since !== undefined) return this.#replayAfter(session, room, since);
    if (this.options.replay <= 0) return;
    const wait = session.historyWait();
    if (wait > 0) return session.tell(historyTooFast(wait));
    const entries = fit(this.history.before(room.key, this.options.replay));
    if (entries.length === 0) return;
    session.historyCursor = entries[0].id;
    session.tell({ type: "history", time: Date.now(), room: room.name, earlier: false, entries });
  }

  /**
   * Replays to a client that reconnected exactly what `room` kept after the id `since`
   * it saw last (once: a later move replays as usual), or all it has and a gap.
   */
  #replayAfter(session: Session, room: Room<Session>, since: string): void {
    session.since = undefined;
    const wait = session.historyWait();
    if (wait > 0) return session.tell(historyTooFast(wait));
    const after = this.history.after(room.key, since);
    const entries = fit(after.entries);
    const gap = after.gap || entries.length < after.entries.length;
    if (entries.length === 0 && !gap) return;
    if (entries.length > 0) session.historyCursor = entries[0].id;
    const time = Date.now();
    session.tell({ type: "history", time, room: room.name, earlier: false, entries, gap });
  }

  /** Sends `session` up to `count` lines of its room's history older than it has seen. */
  earlier(session: Session, count: number): void {
    const room = session.room!;
    const wait = session.historyWait();
    if (wait > 0) return session.tell(historyTooFast(wait));
    const entries = fit(this.history.before(room.key, count, session.historyCursor));
    const time = Date.now();
    if (entries.length === 0) return session.tell({ type: "noEarlier", time, room: room.name });
    session.historyCursor = entries[0].id;
    session.tell({ type: "history", time, room: room.name, earlier: true, entries });
  }

  /**
   * Renames a member, every connection of it; the room sees the rename (`asOwner`: as
   * for {@linkcode register}).
   */
  rename(connection: Session, name: string, asOwner = false): void {
    const session = connection.member; // every connection of it is renamed
    const problem = this.nameError(name, session, asOwner);
    if (problem) return connection.tell(failed(problem));
    const old = session.name!;
    if (name === old) return connection.tell({ type: "alreadyNamed", time: Date.now(), name });
    if (this.#klined(session, name)) return;
    // A change of case or form keeps the key, which is held already; so does a name this
    // session has claimed already (an IRC NICK claims first, to answer 433 itself).
    const key = nameKey(name);
    if (!this.cluster || key === nameKey(old) || this.members.get(key) === session) {
      return this.#renamed(session, name);
    }
    this.claim(session, name, session.room?.name ?? "", (taken) => {
      if (taken) return connection.tell(failed({ code: "nameTaken", name }));
      this.#renamed(session, name);
    });
  }

  #renamed(session: Session, name: string): void {
    const old = session.name!;
    const room = session.room; // none for an IRC user in no channel
    const rooms = [...session.rooms];
    for (const each of rooms) each.introduce(session); // announced under the name the room will know
    const oldKey = nameKey(old);
    const key = nameKey(name);
    this.members.delete(oldKey);
    this.members.set(key, session);
    this.log.event({ event: "rename", old, name });
    const time = Date.now();
    for (const each of session.connections()) {
      each.name = name;
      each.tell({ type: "rename", time, old, name, self: true });
    }
    for (const each of rooms) each.tell({ type: "rename", time, old, name, self: false }, session);
    this.#changed({ kind: "renamed", session, old, room, rooms });
    const renamed = { t: "rename" as const, k: key, ok: oldKey, old, name, room: room?.name ?? "" };
    this.cluster?.publish(
      rooms.length > 1 ? { ...renamed, rs: RemoteMember.roomList(rooms) } : renamed,
    );
  }

  /**
   * Moves a member to the room called `name`, creating it if needed; the member is
   * told where it is now (or why not), and the result says so to the caller.
   */
  move(connection: Session, name: string, key?: string): MoveResult {
    name = name.normalize("NFC");
    const bad = checkRoomName(name);
    if (bad) return this.#refused(connection, { code: "badName", name, reason: bad });
    name = roomName(name); // `#dev` is the room `dev`: one name space with IRC
    const session = connection.member; // all its connections move
    const from = session.room; // none for an IRC user that has not joined any
    if (roomKey(name) === from?.key) {
      connection.tell({ type: "alreadyIn", time: Date.now(), room: from.name });
      return { ok: false, problem: null };
    }
    const room = this.#enter(session, name, from, key);
    if (!(room instanceof Room)) return this.#refused(connection, room);
    if (from) {
      this.#exit(session, from);
      // A kick was told already (the moderation notice): no "went to lobby" after it.
      if (from.members.size > 0 && this.#kicked !== session) {
        from.announce(session, "moved", room.name);
      }
      this.#changed({ kind: "parted", session, room: from, kicked: this.#kicked === session });
    }
    const member = this.#entered(session, room);
    const moved = { t: "move" as const, k: nameKey(member), name: member };
    // A kick was told everywhere already: the others' rooms say no "went to lobby" after it.
    this.cluster?.publish(
      this.#kicked === session
        ? { ...moved, from: from?.name ?? "", room: room.name, kicked: true }
        : { ...moved, from: from?.name ?? "", room: room.name },
    );
    return { ok: true, room };
  }

  /** Tells the room and the member's connections that it entered `room`; its name. */
  #entered(session: Session, room: Room<Session>): string {
    const member = session.name!;
    this.log.event({ event: "move", name: member, room: room.name });
    // The room (and an IRC member's JOIN line) first, then the member's answer and replay.
    room.announce(session, "joined");
    this.#changed({ kind: "joined", session, room });
    const [others, count] = this.#others(room, session);
    const { topic } = room;
    for (const each of session.connections()) {
      each.tell({ type: "entered", time: Date.now(), room: room.name, others, count, topic });
      this.#arrive(each, room);
    }
    return member;
  }

  /**
   * Adds the room called `name` to the rooms of the member (IRC's JOIN), without leaving
   * the others, and makes it the current one; a member with a connection that is always
   * in one room (text, JSON) moves instead. At most {@linkcode ROOMS_PER_MEMBER} rooms.
   * A room the member is in already is made current, and nothing is told.
   */
  join(connection: Session, name: string, key?: string): MoveResult {
    const session = connection.member;
    if (session.connections().some((other) => other.alwaysInRoom)) {
      return this.move(connection, name, key);
    }
    name = name.normalize("NFC");
    const bad = checkRoomName(name);
    if (bad) return this.#refused(connection, { code: "badName", name, reason: bad });
    name = roomName(name);
    const wanted = roomKey(name);
    for (const room of session.rooms) {
      if (room.key !== wanted) continue;
      this.#placeIn(session, room);
      return { ok: false, problem: null };
    }
    if (session.rooms.size >= ROOMS_PER_MEMBER) {
      return this.#refused(connection, {
        code: "tooManyJoined",
        max: ROOMS_PER_MEMBER,
        room: name,
      });
    }
    const room = this.#enter(session, name, null, key);
    if (!(room instanceof Room)) return this.#refused(connection, room);
    const member = this.#entered(session, room);
    const rs = RemoteMember.roomList(session.rooms);
    this.cluster?.publish({ t: "enter", k: nameKey(member), name: member, room: room.name, rs });
    return { ok: true, room };
  }

  /**
   * Makes `room`, one of the rooms of `connection`'s member, its current one: a front-end
   * whose clients name the room of each command (IRC) focuses it before the hub acts there.
   * Returns whether the member is in it.
   */
  focus(connection: Session, room: Room<Session>): boolean {
    const session = connection.member;
    if (!session.rooms.has(room)) return false;
    if (session.room !== room) this.#placeIn(session, room);
    return true;
  }

  #refused(session: Session, problem: Problem): MoveResult {
    this.refuse(session, problem);
    return { ok: false, problem };
  }

  /** Tells `session` why what it asked for is refused (a room rule's refusal is counted). */
  refuse(session: Session, problem: Problem): void {
    if (RULE_CODES.has(problem.code)) this.metrics.moderationRefused.with(problem.code).inc();
    session.tell(failed(problem));
  }

  /** What bans and mutes see of the member of `session`: its name, account and address. */
  subject(session: Session): Subject {
    const member = session.member;
    return {
      name: member.name!,
      account: member.account,
      address: hostOf(member.conn.remote),
      user: member.maskUser(),
      host: member.maskHost(),
      member,
    };
  }

  /**
   * Takes every role of the deleted account `key` away: the rooms it founded are no one's
   * (their rules forgotten once empty), and it is no room's operator or voiced member.
   */
  forgetAccount(key: string): void {
    this.readMarkers.store.forget(key);
    for (const [roomKey, rules] of this.roomRules) {
      const founded = rules.founder === key;
      if (!founded && !rules.ops.has(key) && !rules.voices.has(key)) continue;
      rules.ops.delete(key);
      rules.voices.delete(key);
      if (founded) {
        rules.founder = null;
        if (!this.rooms.has(roomKey)) this.roomRules.delete(roomKey);
      }
      this.saveRules(roomKey);
    }
    // Its private conversations too: a new account of the name must not read them.
    this.privates.forgetAccount(key);
  }

  /** Loads the kept rules of founded rooms from `store`, which keeps them from now on. */
  loadRules(store: RulesStore): void {
    this.rulesStore = store;
    for (const [key, data] of store.load()) this.roomRules.set(key, RoomRules.from(data));
  }

  /**
   * Keeps the rules of the room `key` if it is founded (or forgets them if it no longer is),
   * and shares them with the cluster, with the moderation (`notice`) that changed them.
   */
  saveRules(key: string, notice?: RemoteNotice): void {
    this.shareRules(key, notice);
    const rules = this.roomRules.get(key);
    try {
      this.rulesStore.save(key, rules?.held ? rules.data() : null);
    } catch (error) {
      this.internalError(null, error);
    }
  }

  /**
   * Searches what `session` may read for `text`: the room its member is in now, and its
   * account's own private conversations (if they are kept), newest first, at most `limit`
   * (1..{@linkcode SEARCH_LIMIT_MAX}); rated as history is, each search costing
   * {@linkcode SEARCH_COST} bytes besides what it sends.
   */
  search(session: Session, text: string, limit: number = SEARCH_LIMIT_DEFAULT): void {
    text = text.trim();
    if ([...text].length > SEARCH_TEXT_MAX) {
      return this.refuse(session, { code: "searchTooLong", max: SEARCH_TEXT_MAX });
    }
    const wait = session.historyWait();
    if (wait > 0) return session.tell(historyTooFast(wait));
    limit = Math.max(1, Math.min(SEARCH_LIMIT_MAX, Math.floor(limit) || SEARCH_LIMIT_DEFAULT));
    // Never a room the member is not in, secret or not: only those it is in now.
    const names = new Map<string, string>();
    for (const room of session.member.rooms) names.set(room.key, room.name);
    const found: Found = names.size > 0
      ? this.history.search([...names.keys()], text, limit)
      : { entries: [], more: false };
    const results: SearchResult[] = found.entries.map(({ room, entry }) => ({
      ...entry,
      room: names.get(room) ?? room,
    }));
    let more = found.more;
    const account = session.member.account;
    if (account !== null && this.privateSearch !== null) {
      const own = this.privateSearch.search(account, text, limit);
      for (const { with: other, entry } of own.entries) results.push({ ...entry, with: other });
      results.sort((a, b) => a.id < b.id ? 1 : a.id > b.id ? -1 : 0);
      more ||= own.more || results.length > limit;
      if (results.length > limit) results.length = limit;
    }
    let bytes = SEARCH_COST;
    for (const { from, text } of results) bytes += from.length + text.length * 3 + 64;
    session.historySent(bytes);
    session.tell({ type: "searchResults", time: Date.now(), text, results, more });
  }

  /**
   * Another server of the cluster moved `marker` of `account` forward: kept here too (a
   * store shared through Redis has it already), and told to the account's connections here.
   */
  remoteMarker(account: string, marker: Marker): void {
    const kept = this.readMarkers.store.set(account, marker);
    if (kept.id !== marker.id) return;
    const member = this.members.get(account);
    if (member !== undefined) this.readMarkers.tellAccount(member.connections(), account, kept);
  }

  /** Sets the topic of `session`'s room and tells everyone in it. */
  setTopic(connection: Session, topic: string): void {
    const session = connection.member;
    const room = session.room!;
    const rules = this.roomRules.get(room.key);
    if (
      rules?.topicLocked() && !rules.isOperator(session.account, session) &&
      !this.isServerOperator(session)
    ) {
      return this.refuse(connection, { code: "notOperator", room: room.name });
    }
    room.topic = topic;
    this.history.setTopic(room.key, topic);
    room.introduce(session);
    room.tell({ type: "topic", time: Date.now(), room: room.name, topic, by: session.name! }, null);
    this.#changed({ kind: "topic", session, room });
    this.cluster?.publish({ t: "topic", k: room.key, room: room.name, topic, by: session.name! });
  }

  /** Ends a session: tells its room if it was named, then closes its connection. */
  leave(session: Session, reason: string | undefined, drain: boolean): void {
    if (session.closed) return;
    session.dispose();
    this.sessions.delete(session);
    const drop = dropReason(reason);
    if (drop !== null) this.metrics.dropped.with(session.conn.listener ?? NO_LISTENER, drop).inc();
    const { name, room, claiming } = session;
    const rooms = [...session.rooms];
    if (claiming !== null && this.claims.get(nameKey(claiming)) === session) {
      this.claims.delete(nameKey(claiming));
    }
    // One connection of several: the member stays, and nobody is told.
    if (session.member.attached !== null) {
      this.#detach(session);
    } else if (name !== null) {
      this.members.delete(nameKey(name));
      for (const each of rooms) this.#exit(session, each);
      // Other instances announce it even while this one shuts down: their rooms go on.
      this.cluster?.publish({
        t: "leave",
        k: nameKey(name),
        name,
        room: room?.name ?? "",
        reason: this.closing ? reasons.serverStopped : reason,
      });
      if (!this.closing) {
        this.log.event({
          event: "leave",
          name,
          room: room?.name,
          address: session.conn.remote,
          reason,
        });
        for (const each of rooms) {
          if (each.members.size > 0) each.announce(session, "left", reason);
        }
      }
      this.#changed({ kind: "quit", session, room, rooms, reason });
    }
    session.conn.close(drain);
  }

  /**
   * Frees at least `bytes` of queued output by dropping the sessions with the
   * largest backlogs (those that do not read), never one that keeps up.
   */
  shed(bytes: number): void {
    const backlogged = [...this.sessions].filter((session) => session.conn.queuedBytes > 0);
    backlogged.sort((a, b) => b.conn.queuedBytes - a.conn.queuedBytes);
    let freed = 0;
    let dropped = 0;
    for (const session of backlogged) {
      if (freed >= bytes) break;
      freed += session.conn.queuedBytes;
      dropped++;
      // Shedding runs inside a delivery, maybe in the middle of a broadcast or of this
      // very session's command: cut the connection now (its bytes are freed at once),
      // and take the member out of its room once the current work is done.
      session.conn.close(false);
      queueMicrotask(() => this.leave(session, reasons.tooSlow, false));
    }
    const mib = (freed / (1 << 20)).toFixed(1);
    this.log.event({ event: "shed", count: dropped, text: `${mib} MiB` });
  }

  /** Whether `session`'s member is a server operator: logged in to an account of `--admins`. */
  isServerOperator(session: Session): boolean {
    const account = session.member.account;
    return account !== null && this.#admins.has(account);
  }

  /** Whether the account `key` is named by `--admins` (a server operator once logged in to it). */
  isAdmin(key: string): boolean {
    return this.#admins.has(key);
  }

  /** Tells every session `reason`, closes them all (draining) and stops notices. */
  shutdown(reason: string = reasons.serverStopped): void {
    this.closing = true;
    for (const room of this.rooms.values()) room.quiet();
    const event: Event = { type: "shutdown", time: Date.now(), reason };
    for (const session of [...this.sessions]) {
      session.tell(event);
      this.leave(session, undefined, true);
    }
  }

  /** Who is in the room called `name` (default: `session`'s), here and elsewhere, or `null`. */
  who(session: Session, name?: string): { room: string; names: string[]; count: number } | null {
    const key = name ? roomKey(name) : session.room!.key;
    const room = this.rooms.get(key);
    // The first WHO_LISTED to have joined, sorted: a big room costs no more than that.
    const names: string[] = [];
    for (const member of room?.members ?? []) {
      if (names.push(member.name!) === WHO_LISTED) break;
    }
    const remote = this.cluster?.membersIn(key, WHO_LISTED - names.length);
    const count = (room?.members.size ?? 0) + (remote?.count ?? 0);
    if (count === 0) return null;
    names.push(...remote?.names ?? []);
    return { room: room?.name ?? remote!.room!, names: names.sort(), count };
  }

  /** Every room, here and elsewhere in the cluster, with its member count and topic. */
  roomList(): { name: string; members: number; topic: string }[] {
    const rooms = new Map<string, { name: string; members: number; topic: string }>();
    for (const room of this.rooms.values()) {
      rooms.set(room.key, { name: room.name, members: room.members.size, topic: room.topic });
    }
    for (const [key, { name, members }] of this.cluster?.rooms() ?? []) {
      const room = rooms.get(key);
      if (room) room.members += members;
      else rooms.set(key, { name, members, topic: this.history.topic(key) });
    }
    return [...rooms.values()];
  }

  // What other instances of the cluster tell (see `src/cluster/cluster.ts`): their members come,
  // go, move, rename and set topics; rooms here announce it as for their own members.

  remoteEntered(member: RemoteMember): void {
    this.#changed({ kind: "named", session: member });
    this.#remoteJoined(member);
  }

  /** `member` (another server's) is gone from the chat, out of every room it was in (`rooms`: keys). */
  remoteLeft(member: RemoteMember, rooms: Iterable<string>, reason?: string): void {
    const left: Room<Session>[] = [];
    for (const key of rooms) {
      const room = this.rooms.get(key);
      if (room === undefined) continue;
      room.announce(member, "left", reason);
      left.push(room);
    }
    const room = this.rooms.get(member.roomKey) ?? left[0] ?? null;
    this.#changed({ kind: "quit", session: member, room, rooms: left, reason });
  }

  remoteMoved(member: RemoteMember, from: string, reason?: string, kicked = false, to = ""): void {
    const left = this.rooms.get(roomKey(from));
    if (!left) return;
    // Into no room (an IRC user's PART) is a leave, as the room sees it; a kick was told.
    if (kicked) left.introduce(member);
    else if (to) left.announce(member, "moved", to);
    else left.announce(member, "left", reason);
    this.#changed({ kind: "parted", session: member, room: left, reason, kicked });
  }

  remoteJoined(member: RemoteMember, name: string): void {
    const room = name ? this.rooms.get(roomKey(name)) : undefined;
    if (!room) return;
    room.announce(member, "joined");
    this.#changed({ kind: "joined", session: member, room });
  }

  #remoteJoined(member: RemoteMember): void {
    for (const name of member.rooms.values()) this.remoteJoined(member, name);
  }

  remoteRenamed(member: RemoteMember, old: string): void {
    const rooms: Room<Session>[] = [];
    for (const key of member.rooms.keys()) {
      const room = this.rooms.get(key);
      if (room) rooms.push(room);
    }
    for (const room of rooms) {
      room.introduce(member);
      room.tell({ type: "rename", time: Date.now(), old, name: member.name, self: false }, null);
    }
    const room = this.rooms.get(member.roomKey) ?? null;
    this.#changed({ kind: "renamed", session: member, old, room, rooms });
  }

  remoteTopic(key: string, topic: string, by: RemoteMember): void {
    this.history.setTopic(key, topic);
    const room = this.rooms.get(key);
    if (!room) return;
    room.topic = topic;
    room.tell({ type: "topic", time: Date.now(), room: room.name, topic, by: by.name }, null);
    this.#changed({ kind: "topic", session: by, room });
  }

  /**
   * Takes the kept message `id` out of the room `key`'s history and tells the room that
   * `by` deleted it (the permission was checked: see `deleteMessage` in `moderate.ts`).
   */
  messageDeleted(key: string, id: string, by: string, reason?: string): void {
    const from = this.history.entry(key, id)?.from;
    this.history.delete(key, id);
    const room = this.rooms.get(key);
    if (!room) return;
    // Fields left out rather than undefined: the JSON and the tests see only what is said.
    const event: DeletedEvent = { type: "deleted", time: Date.now(), room: room.name, id, by };
    room.tell(
      from === undefined && reason === undefined ? event : {
        ...event,
        ...(from !== undefined && { from }),
        ...(reason !== undefined && { reason }),
      },
      null,
    );
  }

  remoteDeleted(key: string, id: string, by: string, reason?: string): void {
    this.messageDeleted(key, id, by, reason);
  }

  remotePrivateDeleted(pair: string, id: string, by: string, author: string, to: string): void {
    privateDeleted(this, pair, id, by, author, to);
  }

  remoteHook(hook: Webhook): void {
    this.webhooks.adopt(hook);
  }

  remoteUnhook(id: string): void {
    this.webhooks.forget(id);
  }

  nameLost(key: string): void {
    const session = this.members.get(key);
    if (!session?.name) return;
    this.log.event({ event: "name-lost", name: session.name, address: session.conn.remote });
    for (const each of session.connections().reverse()) {
      each.tell(failed({ code: "nameLost", name: session.name }));
      this.leave(each, reasons.nameLost, true);
    }
  }

  remoteAccount(key: string, name: string | null): void {
    this.accounts.remoteChanged(key, name);
    if (name === null) this.privates.forgetAccount(key); // Redis forgot them too (PUBLISH)
  }

  localMembers(): { k: string; name: string; room: string; rs?: string }[] {
    const members = [];
    for (const [k, session] of this.members) {
      // A name claimed is in `claims` until granted; a session holds one name.
      if (session.name === null || nameKey(session.name) !== k) continue;
      const room = session.room?.name ?? "";
      // Several rooms (IRC): all of them, so that the others see it in each.
      members.push(
        session.rooms.size > 1
          ? { k, name: session.name, room, rs: RemoteMember.roomList(session.rooms) }
          : { k, name: session.name, room },
      );
    }
    return members;
  }

  localTopics(): [string, string][] {
    return [...this.rooms.values()].filter((room) => room.topic).map((
      room,
    ) => [room.key, room.topic]);
  }

  // Klines (see `klines.ts` and the `/kline` command in `moderate.ts`).

  /** Loads the kept klines from `store`, which keeps them from now on. */
  loadKlines(store: KlineStore): void {
    this.klineStore = store;
    for (const kline of store.load()) this.klines.add(kline);
  }

  /** The kline that `session` (by `name`, its account and its own address) falls under, or `null`. */
  #klineFor(session: Session, name: string): Kline | null {
    if (this.klines.size === 0) return null;
    const account = session.member.account ?? session.account;
    return this.klines.match({ name, account, address: hostOf(session.conn.remote) });
  }

  /** Whether a kline ends `session` (every connection of its member) as `name`: then ended. */
  #klined(session: Session, name: string): boolean {
    const kline = this.#klineFor(session, name);
    if (kline === null) return false;
    this.#klineOut(session.name === null ? [session] : session.connections(), kline);
    return true;
  }

  /** Tells `sessions` why, and ends them (attached connections first, the lead last). */
  #klineOut(sessions: Session[], kline: Kline): void {
    const problem = klinedProblem(kline);
    const why = kline.reason ? `banned from the server: ${kline.reason}` : "banned from the server";
    for (const each of [...sessions].reverse()) {
      this.refuse(each, problem);
      this.log.repeated({ event: "refused", address: each.conn.remote, reason: "klined" });
      this.leave(each, why, true);
    }
  }

  /**
   * Puts `kline` in force (set here, or by another server: `local` false): every connection
   * it matches ends; gives how many did (`null`: the list is full). Kept in the store
   * when set here.
   */
  applyKline(kline: Kline, local: boolean): number | null {
    if (local) {
      // Ended klines leave the store and Redis too: what is kept stays bounded.
      for (const key of this.klines.sweep()) {
        this.cluster?.publish({ t: "unkline", k: key });
        this.#keepKline(null, key);
      }
    }
    if (!this.klines.add(kline)) return null;
    if (local) this.#keepKline(kline, klineKey(kline.mask));
    let ended = 0;
    for (const session of [...this.sessions]) {
      if (session.closed || session.lead !== null) continue; // a member's, with its lead
      const name = session.name ?? "";
      // Each connection by its own address, the member by its name and account.
      const hit = session.connections().some((each) =>
        this.klines.match({
          name,
          account: session.account,
          address: hostOf(each.conn.remote),
        }) === kline
      );
      if (!hit) continue;
      const connections = session.name === null ? [session] : session.connections();
      ended += connections.length;
      this.#klineOut(connections, kline);
    }
    return ended;
  }

  /** Lifts the kline of `mask` (here, or by another server: `local` false); the one lifted. */
  liftKline(mask: string, local: boolean): Kline | undefined {
    const kline = this.klines.remove(mask);
    if (kline !== undefined && local) this.#keepKline(null, klineKey(mask));
    return kline;
  }

  /** Keeps `kline` under `key` in the store (`null`: forgets it); a failure is logged. */
  #keepKline(kline: Kline | null, key: string): void {
    try {
      if (kline === null) this.klineStore.remove(key);
      else this.klineStore.save(kline);
    } catch (error) {
      this.internalError(null, error);
    }
  }

  remoteKline(kline: Kline): void {
    this.applyKline(kline, false);
  }

  remoteUnkline(mask: string): void {
    this.liftKline(mask, false);
  }

  // Room rules, kicks, bans and kills across a cluster (see `moderate.ts`).

  /**
   * Another server changed the rules of the room `key` (`data` null: no one holds it now),
   * by `notice`'s action if any: they apply here, the room here is told, and members here
   * that its bans now match go to the lobby.
   */
  remoteRules(key: string, data: RulesData | null, notice?: RemoteNotice): void {
    const old = this.roomRules.get(key);
    if (data === null) {
      if (old !== undefined) old.founder = null;
      if (old !== undefined && !this.rooms.has(key)) this.roomRules.delete(key);
    } else {
      const rules = RoomRules.from(data);
      for (const invited of old?.invited ?? []) rules.invited.add(invited);
      this.roomRules.set(key, rules);
    }
    const room = this.rooms.get(key);
    if (!room || !notice) return;
    const rules = this.roomRules.get(key);
    if (notice.action !== "invite") {
      room.tell(moderationEvent(room.name, notice), null);
    }
    if (!rules || rules.bans.length === 0 || notice.action !== "ban") return;
    let added = false;
    for (const member of [...room.members]) {
      const subject = this.subject(member);
      if (rules.isOperator(subject.account)) continue;
      const ban = rules.bans.find((ban) => matches(ban, subject));
      if (ban === undefined) continue;
      // Banned by name on another server, which knows neither its account nor its address:
      // those are banned too, from here, so that a rename or reconnect does not let it back.
      if (ban.kind === "name" && ban.for === undefined) {
        const also = this.companionMask(member, ban.mask, ban.by);
        if (also && !rules.bans.some((old) => old.kind === also.kind && old.mask === also.mask)) {
          rules.bans.push(also);
          added = true;
        }
      }
      this.kickOut(notice.by, room, member, "banned");
    }
    if (added && rules.held) this.saveRules(key);
  }

  /**
   * The mask that goes with a ban of the name `text` on the member `member`: its account,
   * or (a guest's) its address.
   */
  companionMask(member: Session, text: string, by: string): Mask | null {
    const subject = this.subject(member);
    const also = subject.account !== null
      ? parseMask(`account:${this.accounts.accountName(subject.account) ?? subject.account}`, by)
      : parseMask(`address:${subject.address}`, by);
    return "code" in also ? null : { ...also, for: text };
  }

  /** Publishes the rules of the room `key` to the cluster, with what changed them. */
  shareRules(key: string, notice?: RemoteNotice): void {
    if (!this.cluster) return;
    const rules = this.roomRules.get(key);
    const j = rules?.held ? JSON.stringify(rules.data()) : "";
    this.cluster.publish(notice ? { t: "rules", k: key, j, n: notice } : { t: "rules", k: key, j });
  }

  /** Takes `target` out of `room` (to the lobby, or out of any) and tells it `by` did. */
  kickOut(by: string, room: Room<Session>, target: Session, reason?: string): void {
    const time = Date.now();
    for (const each of target.connections()) {
      each.tell(
        reason === undefined
          ? { type: "kicked", time, room: room.name, by }
          : { type: "kicked", time, room: room.name, by, reason },
      );
    }
    const why = reason === undefined ? `kicked by ${by}` : `kicked by ${by}: ${reason}`;
    this.part(target, why, true, room);
  }

  /** Another server's operator `by` kicked the member `key` (here, in the room `roomKey`). */
  remoteKick(key: string, roomKey: string, by: string, reason?: string): void {
    const target = this.members.get(key);
    const room = target && [...target.rooms].find((each) => each.key === roomKey);
    if (!target?.name || !room) return;
    const rules = this.roomRules.get(roomKey);
    if (target.account !== null && target.account === rules?.founder) return; // never its founder
    room.introduce(target);
    const notice = { by, action: "kick" as const, target: target.name, reason };
    room.tell(moderationEvent(room.name, notice), target);
    this.kickOut(by, room, target, reason);
  }

  /** Another server's operator `by` killed the member `key` (here): every connection ends. */
  remoteKill(key: string, by: string, reason?: string): void {
    const target = this.members.get(key);
    if (!target?.name) return;
    this.kill(target, by, reason);
  }

  /** Ends every connection of the member `target`, told that `by` disconnected it. */
  kill(target: Session, by: string, reason?: string): void {
    const time = Date.now();
    const event = reason === undefined
      ? { type: "killed" as const, time, by }
      : { type: "killed" as const, time, by, reason };
    const connections = target.connections();
    for (const each of connections) each.tell(event);
    const leaving = reason === undefined ? `killed by ${by}` : `killed by ${by}: ${reason}`;
    // The attached connections first, the lead last: only its leave is told, with the reason.
    for (const each of connections.reverse()) this.leave(each, leaving, true);
  }

  /** Another server's member `by` invited the member `key` (here) to the room `room`. */
  remoteInvite(key: string, room: string, by: string): void {
    const target = this.members.get(key);
    const rules = this.roomRules.get(roomKey(room));
    if (!target?.name || !rules) return;
    rules.invite(this.subject(target));
    for (const each of target.connections()) {
      each.tell({ type: "invited", time: Date.now(), room, by });
    }
  }

  /** Logs an internal error with its stack; the user sees only that something failed. */
  internalError(session: Session | null, error: unknown): void {
    const text = error instanceof Error ? error.stack ?? error.message : String(error);
    this.log.event({ event: "internal-error", name: session?.name ?? undefined, text });
    if (session && !session.closed) session.tell(failed({ code: "internal" }));
  }

  /**
   * The room called `name`, made if needed; if that would pass `maxRooms` rooms
   * besides the lobby, or `roomsPerAddress` made by the session's address, why not
   * (a problem to tell). The room `from`, about to be left, counts as gone if the
   * session is alone in it. The lobby is always there for a newcomer.
   */
  #enter(
    session: Session,
    name: string,
    from: Room<Session> | null = null,
    password?: string,
  ): Room<Session> | Problem {
    const key = roomKey(name);
    let room = this.rooms.get(key);
    const rules = this.roomRules.get(key);
    if (rules !== undefined && session.name !== null) {
      const refusal = rules.admit(
        room?.name ?? name,
        this.subject(session),
        password,
        room?.members.size ?? 0,
      );
      if (refusal !== null) return refusal;
    }
    if (!room) {
      const owner = key === LOBBY_KEY ? null : this.#ownerOf(session);
      // Leaving a room one is alone in frees its place.
      const freed = from?.members.size === 1 && from.key !== LOBBY_KEY ? from : null;
      const made = this.rooms.size - (this.rooms.has(LOBBY_KEY) ? 1 : 0) - (freed ? 1 : 0);
      if (made >= this.options.maxRooms && key !== LOBBY_KEY) {
        return { code: "tooManyRooms", max: this.options.maxRooms, room: name };
      }
      if (owner !== null) {
        const byOwner = (this.#roomsMade.get(owner) ?? 0) - (freed?.owner === owner ? 1 : 0);
        if (byOwner >= this.roomsPerAddress) {
          return { code: "tooManyRoomsFromAddress", max: this.roomsPerAddress, room: name };
        }
        this.#roomsMade.set(owner, (this.#roomsMade.get(owner) ?? 0) + 1);
      }
      room = new Room<Session>(name, this.options);
      room.owner = owner;
      room.topic = this.history.topic(key);
      this.rooms.set(key, room);
      if (rules === undefined && key !== LOBBY_KEY) {
        // A room with members on other servers is not new: whoever comes first here founds nothing.
        const elsewhere = (this.cluster?.membersIn(key, 0).count ?? 0) > 0;
        const account = elsewhere ? null : session.member.account;
        const made = RoomRules.made(
          account,
          account === null && !elsewhere ? session.member : undefined,
        );
        this.roomRules.set(key, made);
        if (made.held) this.saveRules(key);
      }
    }
    room.members.add(session);
    session.rooms.add(room);
    this.#placeIn(session, room);
    return room;
  }

  /** Puts the member `session` (every connection of it) in `room`, or in none. */
  #placeIn(session: Session, room: Room<Session> | null): void {
    session.room = room;
    if (session.attached !== null) { for (const other of session.attached) other.room = room; }
  }

  /** The address `session`'s rooms count against, or `null` if none (exempt, or no bound). */
  #ownerOf(session: Session): string | null {
    return this.admission?.keyOf(hostOf(session.conn.remote)) ?? null;
  }

  /** Takes a session out of `room`; an empty room disappears. */
  #exit(session: Session, room: Room<Session>): void {
    room.members.delete(session);
    session.rooms.delete(room);
    // A guest's role in the room ends as it leaves.
    this.roomRules.get(room.key)?.forgetGuest(session.member);
    if (room.members.size === 0) {
      room.quiet();
      this.rooms.delete(room.key);
      // A room no one holds is forgotten with its rules; a founded one's stay.
      if (this.roomRules.get(room.key)?.held === false) this.roomRules.delete(room.key);
      const owner = room.owner;
      if (owner !== null) {
        const made = this.#roomsMade.get(owner)! - 1;
        if (made > 0) this.#roomsMade.set(owner, made);
        else this.#roomsMade.delete(owner);
      }
    }
  }

  /** A few of the others in `room` (N joins must not cost O(N²) bytes), and how many there are. */
  #others(room: Room<Session>, self: Session): [string[], number] {
    const others: string[] = [];
    for (const member of room.members) {
      if (others.length === NAMES_IN_NOTICE) break;
      if (member !== self) others.push(member.name!);
    }
    const remote = this.cluster?.membersIn(room.key, NAMES_IN_NOTICE - others.length);
    if (remote) others.push(...remote.names);
    return [others, room.members.size - 1 + (remote?.count ?? 0)];
  }
}

/** The refusal a kline makes. */
function klinedProblem(kline: Kline): Problem {
  return { code: "klined", reason: kline.reason, expires: kline.expires };
}

/** The moderation event of `notice` in `room`, now. */
function moderationEvent(room: string, notice: RemoteNotice): Event {
  const { by, action, target, reason } = notice;
  const event = { type: "moderation" as const, time: Date.now(), room, by, action };
  return {
    ...event,
    ...(target !== undefined && { target }),
    ...(reason !== undefined && { reason }),
  };
}

/** A search over an account's own private conversations (see {@linkcode Hub.privateSearch}). */
export interface PrivateSearch {
  /** Up to `limit` entries of `account`'s private conversations with every word of `text`, newest first. */
  search(account: string, text: string, limit: number): {
    entries: { with: string; entry: HistoryEntry }[];
    more: boolean;
  };
}

/** The longest search, in characters. */
export const SEARCH_TEXT_MAX = 200;
/** The most results one search gives, and how many without a limit asked. */
export const SEARCH_LIMIT_MAX = 50;
export const SEARCH_LIMIT_DEFAULT = 20;
/** What a search costs of the history budget besides the bytes it sends (see `session.ts`). */
const SEARCH_COST = 4096;

/** The event of a chat message. */
function chatEvent(message: ChatMessage): Event {
  return { type: "chat", time: message.time, message };
}

/** The most bytes of history sent at once: well inside a client's `--max-queue`. */
const HISTORY_BYTES = HISTORY_BURST;

/** The newest of `entries` that fit in {@linkcode HISTORY_BYTES} (at least one). */
function fit<T extends { from: string; text: string }>(entries: T[]): T[] {
  let bytes = 0;
  for (let i = entries.length - 1; i >= 0; i--) {
    bytes += entries[i].from.length + entries[i].text.length * 3 + 32; // UTF-8 at most 3× UTF-16
    if (bytes > HISTORY_BYTES && i < entries.length - 1) return entries.slice(i + 1);
  }
  return entries;
}

/** The refusal of history to a session that must wait `wait` ms more. */
function historyTooFast(wait: number): Event {
  return failed({ code: "historyTooFast", seconds: Math.ceil(wait / 1000) });
}

/** Closes a session that has not chosen a name in time (a shared function, not a closure each). */
function nameTimedOut(session: Session): void {
  session.nameTimer = undefined;
  if (session.name !== null) return;
  session.hub.log.repeated({ event: "name-timeout", address: session.conn.remote });
  session.hub.metrics.dropped.with(session.conn.listener ?? NO_LISTENER, "name_timeout").inc();
  session.tell(failed({ code: "noNameInTime" }));
  session.hub.leave(session, undefined, true);
}

/** Why a session ended as `/metrics` counts it, or `null` if it was no drop (`/quit`, EOF). */
function dropReason(reason: string | undefined): DropReason | null {
  switch (reason) {
    case undefined:
      return null;
    case reasons.tooSlow:
      return "too_slow";
    case reasons.tooFast:
      return "too_fast";
    case reasons.longLines:
      return "long_lines";
    case reasons.reset:
      return "reset";
    case reasons.timedOut:
      return "timed_out";
    case reasons.internal:
      return "internal_error";
    default:
      return reason.startsWith(reasons.failed) ? "failed" : null;
  }
}

/** Refusals by room rules and roles, counted in `/metrics`. */
const RULE_CODES: ReadonlySet<string> = new Set([
  "notOperator",
  "notServerOperator",
  "banned",
  "inviteOnly",
  "badKey",
  "roomFull",
  "moderated",
  "muted",
  "needsAccount",
  "roomHeld",
  "klined",
  "moderationTooFast",
  "deleteForbidden",
]);

/** Names listed by `/who` before the rest are only counted: its cost stays bounded. */
const WHO_LISTED = 100;
const SLASH = 47;
const LOBBY_KEY = roomKey(LOBBY);
/** Rooms one member may be in at once (IRC's `CHANLIMIT`; text and JSON are in one). */
export const ROOMS_PER_MEMBER = 20;

/** The room joined last of `rooms` (a Set keeps insertion order), or `null`. */
function lastOf(rooms: Set<Room<Session>>): Room<Session> | null {
  let last: Room<Session> | null = null;
  for (const room of rooms) last = room;
  return last;
}
const BLANK = /^\s*$/;

function isBlank(text: string): boolean {
  return BLANK.test(text);
}
