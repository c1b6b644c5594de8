/**
 * The text protocol's rendering of events (nc, telnet, `client.ts`, the page): the
 * one place that turns an {@linkcode Event} into the server's lines, made of the
 * wording in `protocol.ts` (`say`).
 *
 * @module
 */

import type { Event, PresenceGroup, Problem } from "../core/events.ts";
import { nameKey } from "../core/protocol.ts";
import {
  error,
  happened,
  historyLine,
  limitsLine,
  listNames,
  NAME_PROMPT,
  notice,
  privateHistoryLine,
  renderMessage,
  say,
  searchLine,
  WELCOME,
} from "./protocol.ts";

/** The lines (joined by newlines, without the last newline) that show `event`. */
export function renderText(event: Event): string {
  switch (event.type) {
    case "chat":
      return renderMessage(event.message);
    case "presence":
      return say.happenings(event.groups.map(phrase));
    case "rename":
      return event.self ? say.renamed(event.name) : say.othersRenamed(event.old, event.name);
    case "topic":
      return say.topicSet(event.by, event.topic);
    case "moderation":
      return say.moderation(event.by, event.action, event.target ?? event.room, event.reason);
    case "deleted":
      return say.deleted(event.by, event.from, event.reason);
    case "privateDeleted":
      return say.privateDeleted(event.by, event.with);
    case "hookCreated":
      return say.hookCreated(event.room, event.id, event.url || event.path);
    case "hookDeleted":
      return say.hookDeleted(event.room, event.id);
    case "hooks": {
      const lines = [say.hooksHeader(event.hooks.length)];
      for (const { id, room, name, by } of event.hooks) {
        lines.push(say.hookEntry(id, room, name, by));
      }
      return lines.join("\n");
    }
    case "kicked":
      return say.kicked(event.room, event.by, event.reason);
    case "invited":
      return say.invited(event.room, event.by);
    case "killed":
      return say.killed(event.by, event.reason);
    case "announcement":
      return say.announcement(event.by, event.text);
    case "bans": {
      const lines = [say.masksHeader(event.room, event.list, event.masks.length)];
      for (const { mask, by } of event.masks) lines.push(say.maskEntry(mask, by));
      return lines.join("\n");
    }
    case "kline": {
      const { mask, expires, reason } = event.kline;
      return event.removed
        ? say.klineLifted(mask)
        : say.klineSet(mask, expires, reason, event.disconnected);
    }
    case "klines": {
      const lines = [say.klinesHeader(event.klines.length)];
      for (const { mask, by, time, expires, reason } of event.klines) {
        lines.push(say.klineEntry(mask, by, time, expires, reason));
      }
      return lines.join("\n");
    }
    case "modes":
      return say.modes(event.room, event.modes, event.founder, event.ops);
    case "greeting":
      return `${WELCOME}\n${limitsLine(event.maxLine)}\n${NAME_PROMPT}`;
    case "prompt":
      return NAME_PROMPT;
    case "welcome":
      return withTopic(say.hello(event.name, event.others, event.count), event.room, event.topic);
    case "entered":
      return withTopic(say.nowIn(event.room, event.others, event.count), event.room, event.topic);
    case "alreadyIn":
      return say.alreadyIn(event.room);
    case "alreadyNamed":
      return say.alreadyNamed(event.name);
    case "topicIs":
      return event.topic ? say.topicIs(event.room, event.topic) : say.noTopic(event.room);
    case "who": {
      const marked = event.loggedIn?.length ? new Set(event.loggedIn) : null;
      const names = marked
        ? event.names.map((name) => marked.has(name) ? name + say.loggedInMark : name)
        : event.names;
      return say.online(event.room, names, event.count);
    }
    case "whois":
      return say.whois(event.name, event.room, event.account, event.connections);
    case "passwordPrompt":
      return say.passwordPrompt(event.name);
    case "registered":
      return say.registered(event.name, event.persistent);
    case "loggedIn":
      return say.loggedIn(event.account);
    case "loggedOut":
      return say.loggedOut(event.account);
    case "passwordChanged":
      return say.passwordChanged(event.account);
    case "unregistered":
      return say.unregistered(event.account);
    case "rooms": {
      const lines = [say.roomsHeader(event.count)];
      for (const room of event.rooms) {
        lines.push(say.roomEntry(room.name, room.members, room.topic));
      }
      if (event.count > event.rooms.length) {
        lines.push(say.moreRooms(event.count - event.rooms.length));
      }
      return lines.join("\n");
    }
    case "history": {
      const { room, entries } = event;
      const header = event.earlier ? say.earlierHeader : say.historyHeader;
      const lines = [header(room, entries.length)];
      for (const entry of entries) lines.push(historyLine(entry));
      lines.push(say.historyEnd);
      return lines.join("\n");
    }
    case "noEarlier":
      return say.noEarlier(event.room);
    case "privateHistory": {
      const { entries } = event;
      if (entries.length === 0) return say.noEarlierWith(event.with);
      const header = event.away ? say.awayHeader : say.privateHeader;
      const lines = [header(event.with, entries.length)];
      for (const entry of entries) {
        // From the other side: its account, or a guest's name (kept one-sided).
        const theirs = nameKey(entry.account || entry.from) === nameKey(event.with);
        lines.push(privateHistoryLine(entry, theirs ? null : entry.to));
      }
      lines.push(say.historyEnd);
      return lines.join("\n");
    }
    case "heldForLater":
      return say.heldForLater(event.to);
    case "conversations":
      return ""; // the page's (JSON); a text client lists nothing
    case "searchResults": {
      const lines = [say.searchHeader(event.text, event.results.length)];
      for (const result of event.results) lines.push(searchLine(result));
      lines.push(say.searchEnd(event.more));
      return lines.join("\n");
    }
    case "readMarker":
      return say.readMarker(event.room ?? `with ${event.with}`, event.id);
    case "help": {
      const lines = [say.helpHeader];
      for (const { usage, summary } of event.commands) lines.push(say.helpEntry(usage, summary));
      return lines.join("\n");
    }
    case "privateSent":
      return say.privateSent(event.to, event.text);
    case "bye":
      return say.bye;
    case "shutdown":
      return notice(event.reason);
    case "error":
      return problemText(event);
  }
}

/** The `!!` line of a refusal. */
export function problemText(problem: Problem): string {
  switch (problem.code) {
    case "badName":
      return say.badName(problem.reason);
    case "nameTaken":
      return say.nameTaken(problem.name);
    case "nameReserved":
      return say.nameReserved(problem.name);
    case "nameFirst":
      return say.nameFirst;
    case "noNameInTime":
      return say.noNameInTime;
    case "nameLost":
      return say.nameLost(problem.name);
    case "lineTooLong":
      return say.lineTooLong(problem.max);
    case "tooManyLongLines":
      return say.tooManyLongLines;
    case "tooFast":
      return say.tooFast;
    case "usage":
      return say.usage(problem.usage);
    case "unknownCommand":
      return say.unknownCommand(problem.command);
    case "noSuchMember":
      return say.noSuchMember(problem.name);
    case "noSuchRoom":
      return say.noSuchRoom(problem.room);
    case "thatIsYou":
      return say.thatIsYou;
    case "topicTooLong":
      return say.topicTooLong(problem.max);
    case "historyTooFast":
      return say.historyTooFast(problem.seconds);
    case "heldFull":
      return say.heldFull(problem.name);
    case "tooManyRooms":
      return say.tooManyRooms(problem.max);
    case "tooManyRoomsFromAddress":
      return say.tooManyRoomsFromAddress(problem.max);
    case "tooManyJoined":
      return say.tooManyJoined(problem.max);
    case "nameRegistered":
      return say.nameRegistered(problem.name);
    case "accountElsewhere":
      return say.accountElsewhere(problem.name);
    case "accountRequired":
      return say.accountRequired(problem.name);
    case "registrationClosed":
      return say.registrationClosed;
    case "registerThrottled":
      return say.registerThrottled(problem.seconds);
    case "alreadyLoggedIn":
      return say.alreadyLoggedIn(problem.account);
    case "notLoggedIn":
      return say.notLoggedIn;
    case "noSuchAccount":
      return say.noSuchAccount(problem.name);
    case "badPassword":
      return say.badPassword(problem.reason);
    case "wrongPassword":
      return say.wrongPassword(problem.name);
    case "loginThrottled":
      return say.loginThrottled(problem.seconds);
    case "loginBusy":
      return say.loginBusy;
    case "notOperator":
      return say.notOperator(problem.room);
    case "notServerOperator":
      return say.notServerOperator;
    case "banned":
      return say.banned(problem.room);
    case "inviteOnly":
      return say.inviteOnly(problem.room);
    case "badKey":
      return say.badKey(problem.room);
    case "roomFull":
      return say.roomFull(problem.room, problem.max);
    case "moderated":
      return say.moderated(problem.room);
    case "muted":
      return say.muted(problem.room);
    case "badMask":
      return say.badMask(problem.mask);
    case "noSuchMask":
      return say.noSuchMask(problem.mask);
    case "badMode":
      return say.badMode(problem.mode);
    case "needsAccount":
      return say.needsAccount(problem.name);
    case "notInRoom":
      return say.notInRoom(problem.name, problem.room);
    case "roomHeld":
      return say.roomHeld(problem.room, problem.founder);
    case "noSuchMessage":
      return say.noSuchMessage(problem.id);
    case "deleteForbidden":
      return say.deleteForbidden;
    case "tooManyHooks":
      return say.tooManyHooks(problem.max);
    case "noSuchHook":
      return say.noSuchHook(problem.id);
    case "searchTooLong":
      return say.searchTooLong(problem.max);
    case "internal":
      return say.internalError;
    case "klined":
      return say.klined(problem.reason, problem.expires);
    case "tooManyKlines":
      return say.tooManyKlines(problem.max);
    case "badDuration":
      return say.badDuration(problem.text);
    case "moderationTooFast":
      return say.moderationTooFast(problem.seconds);
    case "tooManyMasks":
      return say.tooManyMasks(problem.room, problem.list, problem.max);
  }
}

/** The words of a refusal, without the `!! ` that marks its line. */
export function problemWords(problem: Problem): string {
  return problemText(problem).slice(ERROR_MARK.length);
}

const ERROR_MARK = error("");

/** A greeting or move answer, and the topic of the room entered (if it has one). */
function withTopic(line: string, room: string, topic: string): string {
  return topic ? `${line}\n${say.topicIs(room, topic)}` : line;
}

/** One group's phrase: `a and b joined`, `c left (quit: bye)`, `d went to dev`. */
function phrase(group: PresenceGroup): string {
  const names = listNames(group.names, group.count);
  switch (group.change) {
    case "joined":
      return happened.joined(names);
    case "left":
      return happened.left(names, group.reason);
    case "moved":
      return happened.moved(names, group.to);
  }
}
