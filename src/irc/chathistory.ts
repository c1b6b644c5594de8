/**
 * IRCv3 `draft/chathistory`: `CHATHISTORY LATEST|BEFORE|AFTER|BETWEEN|AROUND target …`
 * pages a channel the client is in, or its private conversation with a nick (between
 * accounts: see `src/core/private.ts`), by `msgid=` or `timestamp=`; `CHATHISTORY TARGETS`
 * lists where it has history. Replies come in a `chathistory` batch; refusals as `FAIL`.
 *
 * @module
 */

import type { IrcSession } from "./irc.ts";
import { type Bound, type PageQuery, selectPage } from "../core/pages.ts";
import { CONVERSATIONS_LISTED } from "../core/private.ts";
import { roomKey } from "../core/protocol.ts";
import { isId } from "../core/ids.ts";
import { ircLine } from "./format.ts";

/** The most messages one CHATHISTORY request gets (ISUPPORT `CHATHISTORY`). */
export const CHATHISTORY_MAX = 100;

const SUBCOMMANDS = new Set(["LATEST", "BEFORE", "AFTER", "BETWEEN", "AROUND", "TARGETS"]);

/** `msgid=ID` or `timestamp=ISO` as a bound, or `null` if it is neither. */
function boundOf(selector: string | undefined): Bound | null {
  if (selector === undefined) return null;
  if (selector.startsWith("msgid=")) {
    const id = selector.slice(6);
    return isId(id) ? { id } : null;
  }
  if (selector.startsWith("timestamp=")) {
    const time = Date.parse(selector.slice(10));
    return Number.isFinite(time) ? { time } : null;
  }
  return null;
}

/** The limit parameter: a whole number from 1, at most {@linkcode CHATHISTORY_MAX}. */
function limitOf(text: string | undefined): number | null {
  if (text === undefined || !/^\d{1,9}$/.test(text)) return null;
  const limit = Number(text);
  return limit >= 1 ? Math.min(limit, CHATHISTORY_MAX) : null;
}

/** Handles `CHATHISTORY` (its parameters after the command). */
export function chathistory(session: IrcSession, params: string[]): void {
  const sub = (params[0] ?? "").toUpperCase();
  const fail = (code: string, ...rest: string[]) =>
    session.fromServer("FAIL", "CHATHISTORY", code, ...rest);
  if (!SUBCOMMANDS.has(sub)) {
    return fail("INVALID_PARAMS", params[0] ?? "*", "Unknown subcommand");
  }
  if (sub === "TARGETS") return targets(session, params, fail);
  const target = params[1];
  let query: PageQuery | null = null;
  if (sub === "LATEST") {
    const limit = limitOf(params[3]);
    const after = params[2] === "*" ? undefined : boundOf(params[2]);
    if (limit !== null && after !== null) query = { kind: "latest", after, limit };
  } else if (sub === "BETWEEN") {
    const [from, to, limit] = [boundOf(params[2]), boundOf(params[3]), limitOf(params[4])];
    if (from && to && limit !== null) query = { kind: "between", from, to, limit };
  } else {
    const [at, limit] = [boundOf(params[2]), limitOf(params[3])];
    const kind = sub === "BEFORE" ? "before" : sub === "AFTER" ? "after" : "around";
    if (at && limit !== null) query = { kind, at, limit };
  }
  if (target === undefined || target === "" || query === null) {
    return fail("INVALID_PARAMS", sub, "Bad parameters");
  }
  const wait = session.historyWait();
  if (wait > 0) {
    return fail(
      "MESSAGE_ERROR",
      sub,
      target,
      `Too much history lately; wait ${Math.ceil(wait / 1000)} s`,
    );
  }
  const { hub } = session;
  const max = hub.options.history;
  if (target.startsWith("#")) {
    const wanted = roomKey(target.slice(1));
    const room = [...session.member.rooms].find((each) => each.key === wanted);
    if (room === undefined) {
      return fail("INVALID_TARGET", sub, target, "You are not in that channel");
    }
    const entries = selectPage(hub.history.before(room.key, max), query);
    const name = room.name;
    return session.replayEntries(target, entries.map((e) => ({ ...e, room: name })), "chathistory");
  }
  // A nick: this account's conversation with that account, or with a guest of that name
  // (kept one-sided); a guest keeps none.
  const account = session.account;
  const entries = account === null || hub.isReserved(target)
    ? []
    : selectPage(hub.privates.before(hub.privateKeyWith(account, target), max), query);
  session.replayEntries(target, entries, "chathistory");
}

/**
 * `CHATHISTORY TARGETS timestamp=A timestamp=B LIMIT`: the client's channel and the nicks
 * it has private history with, whose latest message falls between A and B, oldest first.
 */
function targets(
  session: IrcSession,
  params: string[],
  fail: (code: string, ...rest: string[]) => void,
): void {
  const [a, b, limit] = [boundOf(params[1]), boundOf(params[2]), limitOf(params[3])];
  if (!a || !b || "id" in a || "id" in b || limit === null) {
    return fail("INVALID_PARAMS", "TARGETS", "Bad parameters");
  }
  const [low, high] = a.time <= b.time ? [a.time, b.time] : [b.time, a.time];
  const { hub } = session;
  const found: [string, number][] = [];
  for (const room of session.member.rooms) {
    const last = hub.history.before(room.key, 1)[0];
    if (last) found.push([`#${room.name}`, last.time]);
  }
  if (session.account !== null) {
    for (
      const { with: other, last } of hub.privates.conversations(
        session.account,
        CONVERSATIONS_LISTED,
      )
    ) {
      found.push([other, last.time]);
    }
  }
  const listed = found.filter(([, time]) => time > low && time < high)
    .sort((x, y) => x[1] - y[1])
    .slice(0, limit);
  const { serverName } = session.front.options;
  const batch = session.caps.has("batch") ? `t${Date.now().toString(36)}` : null;
  const lines: string[] = [];
  if (batch) lines.push(ircLine(serverName, "BATCH", `+${batch}`, "draft/chathistory-targets"));
  for (const [name, time] of listed) {
    const line = ircLine(serverName, "CHATHISTORY", "TARGETS", name, new Date(time).toISOString());
    lines.push(batch ? `@batch=${batch} ${line}` : line);
  }
  if (batch) lines.push(ircLine(serverName, "BATCH", `-${batch}`));
  session.raw(lines.join(""));
}
