/**
 * The command table: each command's name, usage, summary, whether it works
 * before a name is chosen, and its handler. `/help` is generated from it.
 *
 * @module
 */

import type { Hub } from "./hub.ts";
import { failed, type Problem } from "./events.ts";
import { nameKey, reasons, roomKey } from "./protocol.ts";
import type { Session } from "./session.ts";
import { MODERATION_COMMANDS } from "./moderate.ts";
import { HOOK_COMMAND } from "./webhooks.ts";

/** One slash command. */
export interface Command {
  /** What the user types, with its slash and in lower case: `/who`. */
  readonly name: string;
  /** How to call it, for `/help` and usage errors: `/msg NAME TEXT`. */
  readonly usage: string;
  /** What it does, for `/help`. */
  readonly summary: string;
  /** Whether it works before the session has a name. */
  readonly beforeName?: boolean;
  /** Whether it needs an argument; without one the user gets its usage. */
  readonly needsArgument?: boolean;
  /** Whether `/help` lists it to `session` (default: always). */
  mayUse?(hub: Hub, session: Session): boolean;
  /** Does it; `rest` is what follows the command, trimmed. */
  run(hub: Hub, session: Session, rest: string): void;
}

/** Rooms listed by `/rooms` before the rest are only counted. */
export const ROOMS_LISTED = 50;
/** The most lines one `/history` sends. */
const HISTORY_MAX = 500;
/** The longest topic, in characters. */
export const TOPIC_MAX = 300;

/** Every command, in the order `/help` lists them. */
export const COMMANDS: readonly Command[] = [
  {
    name: "/who",
    usage: "/who [ROOM]",
    summary: "who is in your room, or in ROOM",
    run(hub, session, rest) {
      const who = hub.who(session, rest || undefined);
      if (!who) return refuse(session, { code: "noSuchRoom", room: rest });
      // Marked: those logged in to an account (members of other servers are not known).
      const loggedIn = who.names.filter((name) => hub.members.get(nameKey(name))?.account);
      session.tell(
        loggedIn.length > 0
          ? { type: "who", time: Date.now(), ...who, loggedIn }
          : { type: "who", time: Date.now(), ...who },
      );
    },
  },
  {
    name: "/rooms",
    usage: "/rooms",
    summary: "the rooms, with member counts and topics",
    run(hub, session) {
      const own = session.member.room?.key;
      // A secret room (+s) is listed to those in it only.
      const visible = hub.roomList().filter(({ name }) =>
        roomKey(name) === own || !hub.roomRules.get(roomKey(name))?.modes.has("s")
      );
      const rooms = visible.sort((a, b) => b.members - a.members || (a.name < b.name ? -1 : 1));
      const listed = rooms.slice(0, ROOMS_LISTED);
      session.tell({ type: "rooms", time: Date.now(), rooms: listed, count: rooms.length });
    },
  },
  {
    name: "/join",
    usage: "/join ROOM [KEY]",
    summary: "go to ROOM (made if it does not exist); KEY for a room with one",
    needsArgument: true,
    run(hub, session, rest) {
      const gap = rest.search(/\s/);
      if (gap === -1) return void hub.move(session, rest);
      hub.move(session, rest.slice(0, gap), rest.slice(gap + 1).trim());
    },
  },
  {
    name: "/topic",
    usage: "/topic [TEXT]",
    summary: "show or set your room's topic",
    run(hub, session, rest) {
      const room = session.room!;
      if ([...rest].length > TOPIC_MAX) {
        return refuse(session, { code: "topicTooLong", max: TOPIC_MAX });
      }
      if (rest) return hub.setTopic(session, rest);
      session.tell({ type: "topicIs", time: Date.now(), room: room.name, topic: room.topic });
    },
  },
  {
    name: "/history",
    usage: "/history [NAME] [N]",
    summary:
      `earlier lines of your room, or of your private conversation with NAME, N at a time (default 20, at most ${HISTORY_MAX})`,
    run(hub, session, rest) {
      const words = /^(\S+)(?: +(\d+))?$/.exec(rest);
      // A lone number is a count; a name of digits pages with its count: `/history 42 20`.
      if (words !== null && (words[2] !== undefined || !/^\d+$/.test(words[1]))) {
        const count = words[2] === undefined ? 20 : Number(words[2]);
        if (!(count >= 1)) return refuse(session, { code: "usage", usage: this.usage });
        return hub.earlierWith(session, words[1], Math.min(count, HISTORY_MAX));
      }
      const count = rest === "" ? 20 : Number(rest);
      if (!/^\d*$/.test(rest) || !(count >= 1)) {
        return refuse(session, { code: "usage", usage: this.usage });
      }
      hub.earlier(session, Math.min(count, HISTORY_MAX));
    },
  },
  {
    name: "/search",
    usage: "/search TEXT",
    summary:
      "the newest lines of your room (and your private conversations) with every word of TEXT",
    needsArgument: true,
    run: (hub, session, rest) => hub.search(session, rest),
  },
  {
    name: "/nick",
    usage: "/nick NEW",
    summary: "change your name",
    needsArgument: true,
    run: (hub, session, rest) => hub.rename(session, rest.normalize("NFC")),
  },
  {
    name: "/whois",
    usage: "/whois NAME",
    summary: "where NAME is, and whether NAME is logged in",
    needsArgument: true,
    run(hub, session, rest) {
      const member = hub.findMember(rest);
      if (!member?.name) return refuse(session, { code: "noSuchMember", name: rest });
      // Whether a member of another server is logged in is not known here.
      const here = hub.members.get(nameKey(member.name));
      const key = here === member ? here.account : undefined;
      const room = typeof member.room === "string" ? member.room : member.room?.name;
      const time = Date.now();
      const account = key ? hub.accounts.accountName(key) ?? null : key;
      const whois = {
        type: "whois",
        time,
        name: member.name,
        room: room || null,
        account,
      } as const;
      // Several connections of one account (see `Hub`): said only then.
      const connections = here === member && here.attached ? here.attached.length + 1 : 1;
      session.tell(connections > 1 ? { ...whois, connections } : whois);
    },
  },
  {
    name: "/register",
    usage: "/register PASSWORD",
    summary: "make the name you hold your account (before a name: /register NAME PASSWORD)",
    beforeName: true,
    needsArgument: true,
    run: (hub, session, rest) => hub.accounts.register(session, rest),
  },
  {
    name: "/login",
    usage: "/login NAME PASSWORD",
    summary: "log in to the account NAME, and take its name",
    beforeName: true,
    needsArgument: true,
    run: (hub, session, rest) => hub.accounts.login(session, rest),
  },
  {
    name: "/logout",
    usage: "/logout",
    summary: "log out of your account",
    run: (hub, session) => hub.accounts.logout(session),
  },
  {
    name: "/password",
    usage: "/password OLD NEW",
    summary: "change your account's password",
    needsArgument: true,
    run: (hub, session, rest) => hub.accounts.changePassword(session, rest),
  },
  {
    name: "/unregister",
    usage: "/unregister PASSWORD",
    summary: "delete your account (its name is then free for anyone)",
    needsArgument: true,
    run: (hub, session, rest) => hub.accounts.unregister(session, rest),
  },
  {
    name: "/me",
    usage: "/me TEXT",
    summary: "an action: * you TEXT",
    needsArgument: true,
    run(hub, session, rest) {
      hub.post({
        kind: "action",
        from: session.name!,
        room: session.room!.name,
        text: rest,
        time: Date.now(),
      }, session);
    },
  },
  {
    name: "/msg",
    usage: "/msg NAME TEXT",
    summary: "a private message to NAME, in any room",
    needsArgument: true,
    run(hub, session, rest) {
      const gap = rest.indexOf(" ");
      const text = gap === -1 ? "" : rest.slice(gap + 1).trim();
      if (text === "") return refuse(session, { code: "usage", usage: this.usage });
      const to = rest.slice(0, gap);
      const target = hub.memberName(to);
      if (target === undefined) {
        // An account not connected: kept for its next login, if the sender has one too.
        if (hub.holdPrivate(session, to, text)) return;
        return refuse(session, { code: "noSuchMember", name: to });
      }
      if (target === session.name) return refuse(session, { code: "thatIsYou" });
      hub.post({
        kind: "private",
        from: session.name!,
        room: session.room!.name,
        to: target,
        text,
        time: Date.now(),
      }, session);
      session.tell({ type: "privateSent", time: Date.now(), to: target, text });
    },
  },
  {
    name: "/quit",
    usage: "/quit [REASON]",
    summary: "leave",
    beforeName: true,
    run(hub, session, rest) {
      session.tell({ type: "bye", time: Date.now() });
      hub.leave(session, rest ? reasons.quit(rest) : undefined, true);
    },
  },
  ...MODERATION_COMMANDS,
  HOOK_COMMAND,
  {
    name: "/help",
    usage: "/help",
    summary: "this list",
    beforeName: true,
    run(hub, session) {
      const usable = [...hub.commands.values()].filter((command) =>
        session.name === null ? !command.mayUse : command.mayUse?.(hub, session) ?? true
      );
      const commands = [...usable, DOUBLE_SLASH].map(({ usage, summary }) => ({ usage, summary }));
      session.tell({ type: "help", time: Date.now(), commands });
    },
  },
];

/** Not a command: how to say what starts with a slash; `/help` lists it last. */
const DOUBLE_SLASH = { usage: "//TEXT", summary: "send a message that starts with /" };

/** Tells `session` that what it asked for is refused. */
function refuse(session: Session, problem: Problem): void {
  session.tell(failed(problem));
}

/** Runs the command in `text` (a line starting with one `/`) for `session`. */
export function dispatch(hub: Hub, session: Session, text: string): void {
  const space = text.indexOf(" ");
  const name = (space === -1 ? text : text.slice(0, space)).toLowerCase();
  const rest = space === -1 ? "" : text.slice(space + 1).trim();
  const command = hub.commands.get(name);
  if (!command) {
    refuse(session, { code: "unknownCommand", command: name });
  } else if (session.name === null && !command.beforeName) {
    refuse(session, { code: "nameFirst" });
  } else if (command.needsArgument && rest === "") {
    refuse(session, { code: "usage", usage: command.usage });
  } else {
    command.run(hub, session, rest);
  }
  // Account work under way (a password being checked) asks again itself if it must.
  if (session.name === null && !session.closed && !hub.accounts.busy(session)) {
    session.tell({ type: "prompt", time: Date.now() });
  }
}
