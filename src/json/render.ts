/**
 * The JSON protocol's rendering of events (`chat.v1.json` on the WebSocket, see
 * docs/protocol.md): one JSON object per event, with `type`, `time` as ISO 8601
 * UTC, and the event's own fields; kept messages carry their `id`. The one place
 * that words the JSON protocol, its own error codes included.
 *
 * @module
 */

import type { Event, SearchResult } from "../core/events.ts";
import type { HistoryEntry } from "../core/history.ts";
import type { PrivateEntry } from "../core/private.ts";

/** The subprotocol a WebSocket client asks for to speak JSON. */
export const JSON_PROTOCOL = "chat.v1.json";

/** The longest `ref` a request may carry, in characters. */
export const REF_MAX = 64;

/** Refusals of the JSON protocol's own, for a frame that is no request. */
export type JsonProblem =
  /** The frame is not a JSON object. */
  | { readonly code: "badJson" }
  /** Its `type` is none the server knows. */
  | { readonly code: "unknownType"; readonly got: string }
  /** A field is missing, or of the wrong type. */
  | { readonly code: "badRequest"; readonly field: string }
  /** The frame is over the limit (`max` bytes). */
  | { readonly code: "tooBig"; readonly max: number }
  /** A `password` request when no `passwordPrompt` is waiting for one. */
  | { readonly code: "noPasswordAsked" };

/** The JSON object that shows `event` (with `ref` if it answers a request that had one). */
export function toJson(event: Event, ref?: string): Record<string, unknown> {
  const time = new Date(event.time).toISOString();
  let out: Record<string, unknown>;
  switch (event.type) {
    case "chat": {
      const { kind, id, room, from, to, text, account } = event.message;
      out = kind !== "private"
        ? { type: kind, id, time, room, from, text }
        : id === undefined
        ? { type: kind, time, from, to, text }
        : { type: kind, id, time, from, to, text }; // kept: between two accounts
      if (account !== undefined) out.account = account;
      if (event.message.bot) out.bot = true;
      break;
    }
    case "history": {
      const { room, earlier, entries, gap } = event;
      out = { type: "history", time, room, earlier, entries: entries.map(entryJson) };
      if (gap) out.gap = true;
      if (event.more !== undefined) out.more = event.more;
      break;
    }
    case "deleted": {
      // As the protocol names it: the author (`from`) is the text protocol's wording only.
      const { id, room, by, reason } = event;
      out = { type: "deleted", time, id, room, by };
      if (reason !== undefined) out.reason = reason;
      break;
    }
    case "privateDeleted": {
      // As a room's: `with` (the other person, for each side) names the conversation.
      const { id, by } = event;
      out = { type: "deleted", time, id, with: event.with, by };
      break;
    }
    case "privateHistory": {
      const { earlier, entries, more, away } = event;
      out = { type: "history", time, with: event.with, earlier, entries: entries.map(privateJson) };
      out.more = more;
      if (away) out.away = true;
      break;
    }
    case "conversations":
      out = {
        type: "conversations",
        time,
        list: event.list.map((each) => ({ with: each.with, last: privateJson(each.last) })),
      };
      break;
    case "searchResults": {
      const { text, results, more } = event;
      out = { type: "searchResults", time, text, results: results.map(resultJson), more };
      break;
    }
    case "readMarker": {
      const { room, id, read } = event;
      out = room !== undefined
        ? { type: "readMarker", time, room, id, read: new Date(read).toISOString() }
        : { type: "readMarker", time, with: event.with, id, read: new Date(read).toISOString() };
      break;
    }
    default:
      // Every other event is its fields as they are (an absent `reason` is left out).
      out = { ...event, time };
  }
  if (ref !== undefined) out.ref = ref;
  return out;
}

/**
 * One entry of a history page: a message's has no `type` (absent means `message`; an
 * action keeps its own), which keeps paging through a room under twice the bytes of its
 * lines (see `bench/history_pages.ts`).
 */
function entryJson(
  { id, kind, from, text, time, account, bot }: HistoryEntry,
): Record<string, unknown> {
  const out: Record<string, unknown> = kind === "message"
    ? { id, from, text, time: new Date(time).toISOString() }
    : { id, type: kind, from, text, time: new Date(time).toISOString() };
  if (account !== undefined) out.account = account; // a guest's entry has none, as live
  if (bot) out.bot = true;
  return out;
}

/** One entry of a private conversation's page. */
function privateJson(
  { id, from, to, text, time, account }: PrivateEntry,
): Record<string, unknown> {
  const out: Record<string, unknown> = {
    id,
    type: "private",
    from,
    to,
    text,
    time: new Date(time).toISOString(),
  };
  if (account) out.account = account; // a guest's (kept on the account's side) has none
  return out;
}

/** One search result: an entry, with the room (or the other person, `with`) it is in. */
function resultJson(result: SearchResult): Record<string, unknown> {
  // A result says its `type` always (a search gives few, where history pages give many).
  const out: Record<string, unknown> = { type: result.kind, ...entryJson(result) };
  if (result.room !== undefined) out.room = result.room;
  else out.with = result.with;
  return out;
}

/** The error object of a JSON protocol refusal (`ref`: the request's, if it had a usable one). */
export function jsonError(problem: JsonProblem, ref?: string): Record<string, unknown> {
  const out: Record<string, unknown> = {
    type: "error",
    time: new Date().toISOString(),
    ...problem,
  };
  if (ref !== undefined) out.ref = ref;
  return out;
}

/**
 * The one-time ticket a page trades (`POST /session`, header `X-Chat-Ticket`) for its
 * login cookie, sent after a login by password.
 */
export function ticketJson(ticket: string): Record<string, unknown> {
  return { type: "sessionTicket", time: new Date().toISOString(), ticket };
}

/** The answer to a JSON `part` (the member left `room`) or `focus` (`room` is current now). */
export function roomReplyJson(
  type: "parted" | "focused",
  room: string,
  ref: string | undefined,
): Record<string, unknown> {
  const out: Record<string, unknown> = { type, time: new Date().toISOString(), room };
  if (ref !== undefined) out.ref = ref;
  return out;
}
