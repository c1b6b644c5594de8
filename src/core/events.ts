/**
 * What happens, as data: every greeting, answer, refusal and room change the hub
 * tells a session is one {@linkcode Event}, never a sentence. Each front-end renders
 * events itself: the text protocol (nc, telnet, `client.ts`, the page) with
 * `renderText` (`src/text/render.ts`), IRC with numerics (`src/irc/irc.ts`).
 *
 * What many members are told at once (a chat message, a room's notice) travels as a
 * `Delivery` (`delivery.ts`), encoded once per wire format, not per recipient.
 *
 * This module knows no front-end: it imports types only, and none of a transport's.
 *
 * @module
 */

import type { ChatMessage } from "./protocol.ts";
import type { HistoryEntry } from "./history.ts";
import type { Conversation, PrivateEntry } from "./private.ts";

/** Why something a client asked for was refused, with what its wording needs. */
export type Problem =
  | { readonly code: "badName"; readonly name: string; readonly reason: string }
  | { readonly code: "nameTaken"; readonly name: string }
  | { readonly code: "nameReserved"; readonly name: string }
  | { readonly code: "nameFirst" }
  | { readonly code: "noNameInTime" }
  | { readonly code: "nameLost"; readonly name: string }
  | { readonly code: "lineTooLong"; readonly max: number }
  | { readonly code: "tooManyLongLines" }
  /** Input came faster than flood control lets it wait (a WebSocket's inbox overflowed). */
  | { readonly code: "tooFast" }
  | { readonly code: "usage"; readonly usage: string }
  | { readonly code: "unknownCommand"; readonly command: string }
  | { readonly code: "noSuchMember"; readonly name: string }
  | { readonly code: "noSuchRoom"; readonly room: string }
  | { readonly code: "thatIsYou" }
  | { readonly code: "topicTooLong"; readonly max: number }
  | { readonly code: "historyTooFast"; readonly seconds: number }
  | { readonly code: "tooManyRooms"; readonly max: number; readonly room: string }
  | { readonly code: "tooManyRoomsFromAddress"; readonly max: number; readonly room: string }
  /** A member (IRC) is in `max` rooms already: it parts one before joining `room`. */
  | { readonly code: "tooManyJoined"; readonly max: number; readonly room: string }
  | { readonly code: "nameRegistered"; readonly name: string }
  /** The account `name` is connected on another server of the cluster (its connections share one). */
  | { readonly code: "accountElsewhere"; readonly name: string }
  | { readonly code: "accountRequired"; readonly name: string }
  | { readonly code: "registrationClosed" }
  /** Too many accounts made from the client's address lately. */
  | { readonly code: "registerThrottled"; readonly seconds: number }
  | { readonly code: "alreadyLoggedIn"; readonly account: string }
  | { readonly code: "notLoggedIn" }
  | { readonly code: "noSuchAccount"; readonly name: string }
  | { readonly code: "badPassword"; readonly reason: string }
  | { readonly code: "wrongPassword"; readonly name: string }
  | { readonly code: "loginThrottled"; readonly seconds: number }
  | { readonly code: "loginBusy" }
  | { readonly code: "notOperator"; readonly room: string }
  /** Only a server operator (an account of `--admins`, logged in) may do that. */
  | { readonly code: "notServerOperator" }
  | { readonly code: "banned"; readonly room: string }
  | { readonly code: "inviteOnly"; readonly room: string }
  | { readonly code: "badKey"; readonly room: string }
  | { readonly code: "roomFull"; readonly room: string; readonly max: number }
  | { readonly code: "moderated"; readonly room: string }
  | { readonly code: "muted"; readonly room: string }
  | { readonly code: "badMask"; readonly mask: string }
  | { readonly code: "noSuchMask"; readonly mask: string }
  | { readonly code: "badMode"; readonly mode: string }
  /** Roles belong to accounts: `name` is not logged in to one. */
  | { readonly code: "needsAccount"; readonly name: string }
  | { readonly code: "notInRoom"; readonly name: string; readonly room: string }
  /** `room` is held (by `founder`), or, `founder` null, can be held by no one (the lobby). */
  | { readonly code: "roomHeld"; readonly room: string; readonly founder: string | null }
  | { readonly code: "internal" }
  /**
   * A server operator's kline matches this connection (its address, account or name): it
   * is refused, or disconnected; `expires` is when the kline ends (`null`: never).
   */
  | { readonly code: "klined"; readonly reason: string; readonly expires: number | null }
  /** The kline list is full (`max` klines). */
  | { readonly code: "tooManyKlines"; readonly max: number }
  /** `text` is no duration (`30m`, `2h`, `7d`, `perm`). */
  | { readonly code: "badDuration"; readonly text: string }
  /** The room's bans (or mutes: `list`) are full (`max`): lift some first. */
  | {
    readonly code: "tooManyMasks";
    readonly room: string;
    readonly list: "bans" | "mutes";
    readonly max: number;
  }
  /** Moderation actions came faster than flood control allows: again in `seconds`. */
  | { readonly code: "moderationTooFast"; readonly seconds: number }
  /** No message with id `id` is kept in `room` (unknown, trimmed, or another room's). */
  | { readonly code: "noSuchMessage"; readonly room: string; readonly id: string }
  /** Only its author, an operator of `room` or a server operator may delete message `id`. */
  | { readonly code: "deleteForbidden"; readonly room: string; readonly id: string }
  /** No private message `id` is kept in the caller's conversations (with `with`, if named). */
  | { readonly code: "noSuchMessage"; readonly with: string; readonly id: string }
  /** Only its author may delete the private message `id` of the conversation with `with`. */
  | { readonly code: "deleteForbidden"; readonly with: string; readonly id: string }
  /** A room has as many webhooks as it may (`max`), or the server has. */
  | { readonly code: "tooManyHooks"; readonly max: number }
  | { readonly code: "noSuchHook"; readonly id: string }
  /** `name` (an account not connected) has too many messages waiting for it already. */
  | { readonly code: "heldFull"; readonly name: string }
  /** A search's text is over `max` characters. */
  | { readonly code: "searchTooLong"; readonly max: number };

/** The stable code of a {@linkcode Problem}. */
export type ErrorCode = Problem["code"];

/** Every event says when it happened (milliseconds since the epoch). */
interface Timed {
  readonly time: number;
}

/** A refusal or failure, told to the session it concerns. */
export type ErrorEvent = Problem & Timed & { readonly type: "error" };

/** A chat message (its `kind`: message, action or private; its `id` if it is kept). */
export interface ChatEvent extends Timed {
  readonly type: "chat";
  readonly message: ChatMessage;
}

/** One group of a room's merged notice: who joined, who left (and why), who went where. */
export type PresenceGroup =
  | { readonly change: "joined"; readonly names: readonly string[]; readonly count: number }
  | {
    readonly change: "left";
    readonly names: readonly string[];
    readonly count: number;
    /** Why, for a lone leave (a merged group keeps no reasons). */
    readonly reason?: string;
  }
  | {
    readonly change: "moved";
    readonly names: readonly string[];
    readonly count: number;
    /** The room they went to. */
    readonly to: string;
  };

/**
 * A room's merged notice of joins, leaves and moves, in the order first seen.
 * `names` may list fewer than `count` (a big group is listed in part).
 */
export interface PresenceEvent extends Timed {
  readonly type: "presence";
  readonly room: string;
  readonly groups: readonly PresenceGroup[];
}

/** A member's new name, as its room sees it (`self`: as the member itself is told). */
export interface RenameEvent extends Timed {
  readonly type: "rename";
  readonly old: string;
  readonly name: string;
  readonly self: boolean;
}

/** A room's topic, set by `by`. */
export interface TopicEvent extends Timed {
  readonly type: "topic";
  readonly room: string;
  readonly topic: string;
  readonly by: string;
}

/** What a moderation action did; every member of `room` is told. */
export type ModerationAction =
  | "op"
  | "deop"
  | "voice"
  | "devoice"
  | "kick"
  | "ban"
  | "unban"
  | "mute"
  | "unmute"
  | "invite"
  | "mode"
  | "claim"
  /** A server operator's: a member disconnected (`/kill`), a notice to everyone (`/announce`). */
  | "kill"
  | "announce"
  /** A server operator's server-wide ban (`/kline`), and its lifting. */
  | "kline"
  | "unkline";

/** A kline as listed (`/klines`) and told when set. */
export interface KlineInfo {
  readonly mask: string;
  readonly by: string;
  /** When it was set (ms since the epoch). */
  readonly time: number;
  /** When it ends (ms since the epoch), or `null`: for good. */
  readonly expires: number | null;
  readonly reason: string;
}

/** A moderation action in `room` by `by` on `target` (a name, a mask, or the modes changed). */
export interface ModerationEvent extends Timed {
  readonly type: "moderation";
  readonly room: string;
  readonly by: string;
  readonly action: ModerationAction;
  readonly target?: string;
  readonly reason?: string;
}

/**
 * The kept message `id` of `room` was deleted by `by` (its author, an operator): every
 * member is told, so that front-ends that can take a line back do (`from`: its author,
 * if the server still knew the message).
 */
export interface DeletedEvent extends Timed {
  readonly type: "deleted";
  readonly room: string;
  readonly id: string;
  readonly by: string;
  readonly from?: string;
  /** Why, if the one who deleted it said (IRC's REDACT reason, `/delete ID REASON`). */
  readonly reason?: string;
}

/** A room as `/rooms` lists it. */
export interface RoomInfo {
  readonly name: string;
  readonly members: number;
  readonly topic: string;
}

/** Answers to one session: what it asked for, or where it is now. */
export type Reply =
  & Timed
  & (
    /** A new connection's greeting: welcome, its line limit, and the question of its name. */
    | { readonly type: "greeting"; readonly maxLine: number }
    /** The name is still wanted (after a refusal, or a command before it). */
    | { readonly type: "prompt" }
    /** Named, and in `room` with `others` (a few of `count`), whose topic is `topic`. */
    | {
      readonly type: "welcome";
      readonly name: string;
      readonly room: string;
      readonly others: readonly string[];
      readonly count: number;
      readonly topic: string;
    }
    /** Now in `room` (after a move), as for {@linkcode welcome}. */
    | {
      readonly type: "entered";
      readonly room: string;
      readonly others: readonly string[];
      readonly count: number;
      readonly topic: string;
    }
    | { readonly type: "alreadyIn"; readonly room: string }
    | { readonly type: "alreadyNamed"; readonly name: string }
    /** A room's topic, asked for (`""`: it has none). */
    | { readonly type: "topicIs"; readonly room: string; readonly topic: string }
    | {
      readonly type: "who";
      readonly room: string;
      readonly names: readonly string[];
      readonly count: number;
      /** Those of `names` logged in to an account. */
      readonly loggedIn?: readonly string[];
    }
    /** Where `name` is, and the account it is logged in to (`null`: a guest; `undefined`: not known). */
    | {
      readonly type: "whois";
      readonly name: string;
      readonly room: string | null;
      readonly account: string | null | undefined;
      /** How many connections the member has, when more than one (an account's). */
      readonly connections?: number;
    }
    /** `name` is registered: its password, please (on the next line). */
    | { readonly type: "passwordPrompt"; readonly name: string }
    /** `name` is now an account (`persistent`: it outlives the server). */
    | { readonly type: "registered"; readonly name: string; readonly persistent: boolean }
    | { readonly type: "loggedIn"; readonly account: string }
    | { readonly type: "loggedOut"; readonly account: string }
    | { readonly type: "passwordChanged"; readonly account: string }
    | { readonly type: "unregistered"; readonly account: string }
    /** The first of `count` rooms. */
    | { readonly type: "rooms"; readonly rooms: readonly RoomInfo[]; readonly count: number }
    /** A page of a room's history, oldest first (`earlier`: asked for, not replayed). */
    | {
      readonly type: "history";
      readonly room: string;
      readonly earlier: boolean;
      readonly entries: readonly HistoryEntry[];
      /** Asked for what followed an id not kept (unknown, or trimmed), or more than fits: not all. */
      readonly gap?: boolean;
      /** A page asked for by id (JSON `history`): whether older entries are kept before these. */
      readonly more?: boolean;
    }
    /**
     * A page of the private conversation with the account `with`, oldest first (none: no
     * earlier); `away`: the messages that waited for this account while it was not connected.
     */
    | {
      readonly type: "privateHistory";
      readonly with: string;
      readonly earlier: boolean;
      readonly entries: readonly PrivateEntry[];
      readonly more: boolean;
      readonly away?: boolean;
    }
    /**
     * `to` is not connected: the private message waits for its next login (`id`, `text`: the
     * message kept, for a client that shows it in the conversation).
     */
    | {
      readonly type: "heldForLater";
      readonly to: string;
      readonly id?: string;
      readonly text?: string;
    }
    /** The private conversations of this session's account, newest first (JSON only). */
    | { readonly type: "conversations"; readonly list: readonly Conversation[] }
    | { readonly type: "noEarlier"; readonly room: string }
    | {
      readonly type: "help";
      readonly commands: readonly { readonly usage: string; readonly summary: string }[];
    }
    /** A private message was sent (the sender's receipt). */
    | { readonly type: "privateSent"; readonly to: string; readonly text: string }
    /** This member was kicked out of `room` by `by` (now in the lobby). */
    | {
      readonly type: "kicked";
      readonly room: string;
      readonly by: string;
      readonly reason?: string;
    }
    /** `by` invites this member to `room`. */
    | { readonly type: "invited"; readonly room: string; readonly by: string }
    /** The bans (or, `list` "mutes", the mutes) of `room`. */
    | {
      readonly type: "bans";
      readonly room: string;
      /** Ban exceptions (`excepts`, +e) and invite exceptions (`invexes`, +I) come when set. */
      readonly list: "bans" | "mutes" | "excepts" | "invexes";
      readonly masks: readonly { readonly mask: string; readonly by: string }[];
    }
    /** The modes of `room` (`+nt`), its founder, operators and voiced members (names of accounts). */
    | {
      readonly type: "modes";
      readonly room: string;
      readonly modes: string;
      readonly founder: string | null;
      readonly ops: readonly string[];
      readonly voices: readonly string[];
    }
    /** A server operator (`by`) disconnected this member (`/kill`); the connection ends. */
    | { readonly type: "killed"; readonly by: string; readonly reason?: string }
    /** A server operator's notice to everyone connected (`/announce`, IRC's WALLOPS). */
    | { readonly type: "announcement"; readonly by: string; readonly text: string }
    /** A kline was set (`disconnected`: connections it ended here) or lifted (`removed`). */
    | {
      readonly type: "kline";
      readonly kline: KlineInfo;
      readonly removed: boolean;
      readonly disconnected: number;
    }
    /** The klines in force, oldest first. */
    | { readonly type: "klines"; readonly klines: readonly KlineInfo[] }
    /** A webhook was made: `url` (or, without a web listener, `path`) posts into `room`, once shown. */
    | {
      readonly type: "hookCreated";
      readonly id: string;
      readonly room: string;
      readonly name: string;
      readonly path: string;
      readonly url: string;
    }
    | { readonly type: "hookDeleted"; readonly id: string; readonly room: string }
    /** Webhooks (never their tokens). */
    | {
      readonly type: "hooks";
      readonly hooks: readonly {
        readonly id: string;
        readonly room: string;
        readonly name: string;
        readonly by: string;
        readonly created: number;
      }[];
    }
    | { readonly type: "bye" }
    /** How far this account has read a conversation (see `read_markers.ts`): up to `id`, sent at `read`. */
    | ReadMarkerBody
    /** The answer to a search: newest first; `more`: further results were left out. */
    | {
      readonly type: "searchResults";
      readonly text: string;
      readonly results: readonly SearchResult[];
      readonly more: boolean;
    }
    | { readonly type: "shutdown"; readonly reason: string }
  );

/** A read marker's conversation (a room's name, or a person's), the last id read and its time. */
export type ReadMarkerBody =
  & { readonly type: "readMarker"; readonly id: string; readonly read: number }
  & ({ readonly room: string; readonly with?: undefined } | {
    readonly with: string;
    readonly room?: undefined;
  });

/** A read marker told to a client. */
export type ReadMarkerEvent = ReadMarkerBody & Timed;

/** One message a search found: a kept entry, and the room (or private conversation) it is in. */
export type SearchResult =
  & HistoryEntry
  & ({ readonly room: string; readonly with?: undefined } | {
    readonly with: string;
    readonly room?: undefined;
  });

/**
 * The kept private message `id` of the conversation with the account `with` was deleted
 * by `by` (see `private_delete.ts`): told to every session of both accounts; `sent`: the
 * account told is the one who wrote it.
 */
export interface PrivateDeletedEvent extends Timed {
  readonly type: "privateDeleted";
  readonly id: string;
  readonly with: string;
  readonly by: string;
  readonly sent: boolean;
}

/** Everything the hub tells a session. */
export type Event =
  | ChatEvent
  | PresenceEvent
  | RenameEvent
  | TopicEvent
  | ModerationEvent
  | DeletedEvent
  | PrivateDeletedEvent
  | Reply
  | ErrorEvent;

/** The error event of `problem`, now. */
export function failed(problem: Problem): ErrorEvent {
  return { type: "error", time: Date.now(), ...problem };
}
