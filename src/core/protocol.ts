/**
 * The chat's model, shared by every front-end and the client: the message,
 * cleaning of untrusted text, the rules for names and room names, and the
 * reasons a member left. No wording of any protocol lives here: the text
 * protocol's is in `src/text/protocol.ts`, IRC's in `src/irc/`.
 *
 * @module
 */

// ---------------------------------------------------------------------------
// The message model
// ---------------------------------------------------------------------------

/** What a chat message is: said to a room, acted in a room, or whispered to one member. */
export type MessageKind = "message" | "action" | "private";

/** One chat message, as it passes through the hub (and, later, history and the cluster). */
export interface ChatMessage {
  readonly kind: MessageKind;
  /** The sender's name. */
  readonly from: string;
  /** The room it was said in (for a private message: the sender's room). */
  readonly room: string;
  /** The recipient's name, for a private message. */
  readonly to?: string;
  readonly text: string;
  /** When the server accepted it, in milliseconds since the epoch. */
  readonly time: number;
  /**
   * Its event id (see `ids.ts`), given by the hub that accepted it (a private message
   * has one only if kept: between two accounts): the same in history, on every front-end and server.
   */
  id?: string;
  /** The account its sender was logged in to (its name as registered), set by the hub. */
  account?: string;
  /** Posted by a webhook (`from` is the bot's name, no member's): shown as a bot everywhere. */
  bot?: true;
  /**
   * A private message's recipient's account (its name as registered): with `account`, the
   * message is kept in their conversation (see `private.ts`) and has an id.
   */
  toAccount?: string;
  /** A private message kept for its recipient's next login (it is not connected). */
  held?: boolean;
}

/** A name, as a regular expression source (the `u` flag). */
export const NAME_SOURCE = String.raw`[\p{L}\p{N}][\p{L}\p{M}\p{N}_.\-]*`;

// ---------------------------------------------------------------------------
// Cleaning untrusted text
// ---------------------------------------------------------------------------

// C0 and C1 controls (but the tab, which is whitespace) and DEL.
// deno-lint-ignore no-control-regex
const CONTROLS = /[\x00-\x08\x0a-\x1f\x7f-\x9f]/g;
// Invisible characters, removed: every format character (Cf: bidi marks, embeddings,
// overrides and isolates, LRM, RLM, ALM, zero-width space, word joiner, BOM, soft hyphen,
// tags …), the line and paragraph separators, and a Hangul choseong or jungseong filler
// that fills no syllable. What is kept is captured: an emoji tag sequence (a subdivision
// flag), and a zero-width joiner or non-joiner between letters or marks (Persian, Arabic
// and Indic writing need them there) or a joiner between emoji (👨‍👩‍👧).
const FLAG = String.raw`\u{1F3F4}[\u{E0020}-\u{E007E}]+\u{E007F}`;
const EMOJI = String.raw`[\p{Extended_Pictographic}\p{Emoji_Modifier}\uFE0F]`;
const INVISIBLE = new RegExp(
  [
    `(${FLAG})`,
    String.raw`(?<=[\p{L}\p{M}])([\u200C\u200D])(?=[\p{L}\p{M}])`,
    String.raw`(?<=${EMOJI})(\u200D)(?=\p{Extended_Pictographic})`,
    String.raw`[\p{Cf}\u2028\u2029]`,
    String.raw`\u115F(?![\u1160-\u11A7\uD7B0-\uD7C6])|(?<![\u1100-\u115F\uA960-\uA97C])\u1160`,
  ].join("|"),
  "gu",
);
const keepCaptured = (_: string, flag?: string, joiner?: string, emojiJoiner?: string) =>
  flag ?? joiner ?? emojiJoiner ?? "";
// Whitespace to show as one space each: the tab, the space separators (no-break, em,
// ideographic …) and the Hangul fillers, letters that show as a blank.
const SPACES = /[\t\p{Zs}\u3164\uFFA0]/gu;
const SPACE_RUNS = /[\t\p{Zs}\u3164\uFFA0]+/gu;
// A text that is printable ASCII with no leading, trailing or doubled space needs nothing.
const NEEDS_CLEANING = /[^\x21-\x7e ]|^ | $| {2}/;
const NEEDS_SANITIZING = /[^\x20-\x7e]/;
const decoder = new TextDecoder(); // not fatal: bad bytes become U+FFFD

/**
 * Makes `text` safe to show on one line: drops control characters and the invisible
 * characters (format characters such as bidi marks and overrides, line separators),
 * keeping joiners where writing and emoji need them, and turns tabs and other
 * whitespace into plain spaces. The client cleans every line from the server with it.
 */
export function sanitize(text: string): string {
  if (!NEEDS_SANITIZING.test(text)) return text;
  return text.replace(CONTROLS, "").replace(INVISIBLE, keepCaptured).replace(SPACES, " ");
}

/**
 * Decodes a line from a client (bad bytes become U+FFFD), {@linkcode sanitize}s it, and
 * squeezes every run of whitespace to one space, trimming both ends: no padding can push
 * part of a message to where a line of its own would start.
 */
export function cleanLine(bytes: Uint8Array): string {
  return cleanText(decoder.decode(bytes));
}

/** {@linkcode cleanLine} for text already decoded. */
export function cleanText(text: string): string {
  if (!NEEDS_CLEANING.test(text)) return text;
  return text.replace(CONTROLS, "").replace(INVISIBLE, keepCaptured).replace(SPACE_RUNS, " ")
    .trim();
}

// ---------------------------------------------------------------------------
// Names and room names
// ---------------------------------------------------------------------------

import { hasInvisible, lookalikeKey, mixedScripts } from "./names.ts";

/** The longest name, in characters. */
export const NAME_MAX = 24;
/** The most characters in a room name (IRC clients and irctest make channels of 28 and more). */
export const ROOM_NAME_MAX = 32;
const NAME_PATTERN = new RegExp(`^${NAME_SOURCE}$`, "u");

/**
 * The key that makes names unique: case, compatibility forms and look-alikes
 * folded (the confusable skeleton of Unicode TS #39; see `src/core/names.ts`), so
 * that neither `ALICE`, a fullwidth `ａｌｉｃｅ` nor a Cyrillic `аlice` can pass
 * for `alice`.
 */
export function nameKey(name: string): string {
  return lookalikeKey(name);
}

/** Why `name` cannot be a name, or `null` if it can. */
export function checkName(name: string): string | null {
  return nameProblem(name, "a name");
}

/** Why `name` cannot be called `what` ("a name", "a room name"), or `null`. */
function nameProblem(name: string, what: string, max = NAME_MAX): string | null {
  if (name.length === 0) return `${what} cannot be empty`;
  if ([...name].length > max) return `${what} is at most ${max} characters`;
  if (hasInvisible(name)) return `${what} may not contain invisible characters`;
  if (!NAME_PATTERN.test(name)) {
    return `${what} is letters and digits, with _ - . allowed after the first`;
  }
  const mixed = mixedScripts(name);
  if (mixed) return `${what} may not mix scripts (${mixed[0]} and ${mixed[1]})`;
  return null;
}

/**
 * Names no member may take, in any case or look-alike spelling: the services' (so that
 * `/msg NickServ IDENTIFY …` can never reach an impostor) and their short aliases. The
 * hub adds the IRC server's own name (see `Hub.reserve`).
 */
export const RESERVED_NAMES: readonly string[] = [
  "NickServ",
  "ChanServ",
  "HistServ",
  "OperServ",
  "Global",
  "NS",
  "CS",
  "HS",
  "OS",
];

/** The room everyone starts in. */
export const LOBBY = "lobby";

/**
 * A room's name as every front-end shows it: without the optional leading `#`
 * (`/join #dev` is the room `dev`, which IRC shows as `#dev`), so that the chat
 * and IRC share one name space.
 */
export function roomName(room: string): string {
  return room.startsWith("#") ? room.slice(1) : room;
}

/** The key that makes room names unique: a leading `#`, case, compatibility forms and look-alikes ignored. */
export function roomKey(room: string): string {
  return nameKey(roomName(room));
}

/** Why `room` cannot be a room name, or `null` if it can (the name rules, after an optional `#`). */
export function checkRoomName(room: string): string | null {
  const problem = nameProblem(
    room.startsWith("#") ? room.slice(1) : room,
    "a room name",
    ROOM_NAME_MAX,
  );
  return problem?.endsWith(" after the first") ? `${problem}, and may start with #` : problem;
}

/** Names listed in one notice before the rest are only counted. */
export const NAMES_IN_NOTICE = 20;

/** Why a member left, as shown in parentheses; `quit:` marks the member's own words. */
export const reasons = {
  quit: (words: string) => `quit: ${words}`,
  tooSlow: "too slow: output queue full",
  tooFast: "too fast: input queue full",
  longLines: "too many over-long lines",
  reset: "connection reset",
  timedOut: "connection timed out",
  failed: "connection failed",
  internal: "internal error",
  /** A member of another instance whose instance stopped answering (see `src/cluster/cluster.ts`). */
  serverLost: "its server went away",
  /** Members of an instance that shuts down, as other instances announce them. */
  serverStopped: "server shutting down",
  /** A member whose name was given away elsewhere while its instance was cut off. */
  nameLost: "name taken elsewhere",
} as const;
