// @ts-check
/**
 * Readers of the text protocol's lines, for the page while it still speaks it: a
 * copy of the readers in `src/core/protocol.ts` (which the page cannot import),
 * checked against them by `src/web/page_test.ts`. They go when the page speaks
 * the JSON protocol.
 *
 * @module
 */

/** The room everyone starts in. */
export const LOBBY = "lobby";
/** Rooms listed in an answer to `/rooms` before the rest are only counted. */
export const ROOMS_LISTED = 50;
/** The line that asks for a name. */
export const NAME_PROMPT = "-- What should we call you?";
/** The first line of the greeting. */
export const WELCOME = "-- Welcome to the chat room! Type /help for commands.";

const NAME_SOURCE = String.raw`[\p{L}\p{N}][\p{L}\p{M}\p{N}_.\-]*`;
const PRIVATE_LINE = new RegExp(`^(${NAME_SOURCE}) \\(private\\): (.*)$`, "u");
const MESSAGE_LINE = new RegExp(`^(${NAME_SOURCE}): (.*)$`, "u");
const ACTION_LINE = new RegExp(`^\\* (${NAME_SOURCE}) (.*)$`, "u");

/**
 * @typedef {object} ParsedLine
 * @property {"message" | "action" | "private" | "notice" | "error" | "other"} kind
 * @property {string} [name]
 * @property {string} text
 */

/**
 * Classifies one line from the server by its prefix.
 * @param {string} line
 * @returns {ParsedLine}
 */
export function parseLine(line) {
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

/**
 * The time and the line of a replayed history line, or `null` for any other line.
 * @param {string} line
 * @returns {{ time: Date, line: string } | null}
 */
export function parseHistoryLine(line) {
  const match = /^\[(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)\] (.*)$/.exec(line);
  return match ? { time: new Date(match[1]), line: match[2] } : null;
}

/**
 * The most bytes a line may have, from the greeting's limits line, or `null`.
 * @param {string} line
 * @returns {number | null}
 */
export function lineLimit(line) {
  const match = /^-- Lines are at most (\d+) bytes\.$/.exec(line);
  return match ? Number(match[1]) : null;
}

/**
 * The recipient and text of a private message the server confirms to its sender, or `null`.
 * @param {string} line
 * @returns {{ to: string, text: string } | null}
 */
export function privateReceipt(line) {
  const match = new RegExp(`^-- to (${NAME_SOURCE}) \\(private\\): (.*)$`, "u").exec(line);
  return match ? { to: match[1], text: match[2] } : null;
}

/**
 * @typedef {{ kind: "online", room: string, total: number, names: string[] }
 *   | { kind: "rooms", count: number }
 *   | { kind: "roomEntry", room: string, members: number, topic: string }
 *   | { kind: "moreRooms", count: number }
 *   | { kind: "topicIs", room: string, topic: string }
 *   | { kind: "noTopic", room: string }
 *   | { kind: "topicSet", name: string, topic: string }
 *   | { kind: "historyHeader", room: string, earlier: boolean, count: number }
 *   | { kind: "historyEnd" }
 *   | { kind: "noEarlier", room: string }
 *   | { kind: "presence" }
 *   | { kind: "bye" }} Notice
 */

/**
 * Reads the text of a notice (the line without its `-- `) back into what it says.
 * @param {string} text
 * @returns {Notice | null}
 */
export function readNotice(text) {
  let m = /^Online in (\S+) \((\d+)\): (.*?)(?: and (\d+) more)?$/u.exec(text);
  if (m) {
    return { kind: "online", room: m[1], total: Number(m[2]), names: m[3] ? m[3].split(", ") : [] };
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

/**
 * The room named in a `/join` answer (`-- You are now in ROOM. …`), or `null`.
 * @param {string} line
 * @returns {string | null}
 */
export function roomChange(line) {
  return /^-- You are now in (\S+)\. /u.exec(line)?.[1] ?? null;
}

/**
 * The name greeted in the answer to a chosen name (`-- Hello, NAME! …`), or `null`.
 * @param {string} line
 * @returns {string | null}
 */
export function helloName(line) {
  return /^-- Hello, ([^\s!]+)! /u.exec(line)?.[1] ?? null;
}

/**
 * The new name in the answer to `/nick` (`-- You are now known as NAME`), or `null`.
 * @param {string} line
 * @returns {string | null}
 */
export function nameChange(line) {
  return /^-- You are now known as (\S+)$/u.exec(line)?.[1] ?? null;
}
