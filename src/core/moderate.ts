/**
 * The moderation commands of the command table (`/op`, `/kick`, `/ban`, `/mode` …):
 * each finds its room's rules, asks {@linkcode RoomRules.check} whether the member may,
 * does it, tells the room a `moderation` event, logs it and counts it. Front-ends only
 * render what comes of it.
 *
 * @module
 */

import type { Command } from "./commands.ts";
import type { Hub } from "./hub.ts";
import type { ModerationAction, Problem } from "./events.ts";
import {
  checkDelete,
  FLAG_MODES,
  matches,
  parseMask,
  type Power,
  RoomRules,
  type Subject,
} from "./moderation.ts";
import type { HistoryEntry } from "./history.ts";
import { isId } from "./ids.ts";
import { deletePrivate, findOwn } from "./private_delete.ts";
import { LOBBY, nameKey, roomKey } from "./protocol.ts";
import type { Session } from "./session.ts";
import type { Room } from "./room.ts";
import type { RemoteMember } from "./remote.ts";
import {
  type Kline,
  KLINE_MASK_MAX,
  klineKey,
  Klines,
  KLINES_MAX,
  makeKline,
  parseDuration,
} from "./klines.ts";

/** The most characters of a kick's reason. */
const REASON_MAX = 200;
/**
 * The most bans (and mutes) a room keeps: each is matched at every join (and every line of
 * a restricted room), and a founded room's rules travel whole on every change in a cluster.
 */
export const MASKS_MAX = 100;
/** The longest room key (`+k`). */
const KEY_MAX = 32;

/** The room of `session` and its rules, if `session` may use `power` there; else refused (`null`). */
function authorize(
  hub: Hub,
  session: Session,
  power: Power = "operate",
  acts = true,
): { room: Room<Session>; rules: RoomRules } | null {
  const room = session.member.room;
  const serverOperator = hub.isServerOperator(session);
  // A server operator operates the lobby too: its rules there are made for the command, not kept.
  const rules = room
    ? hub.roomRules.get(room.key) ?? (serverOperator ? new RoomRules() : undefined)
    : undefined;
  if (!room || !rules) {
    hub.refuse(session, { code: "notOperator", room: room?.name ?? LOBBY });
    return null;
  }
  const problem = rules.check(
    room.name,
    session.member.account,
    power,
    serverOperator,
    session.member,
  );
  if (problem !== null) {
    hub.refuse(session, problem);
    return null;
  }
  if (acts && !paced(hub, session)) return null;
  return { room, rules };
}

/**
 * Whether `session`'s member may take one more moderation action now (its own bucket, as
 * lines have theirs: see `Session.moderationWait`); else refused, with when to try again.
 */
function paced(hub: Hub, session: Session): boolean {
  const wait = session.member.moderationWait();
  if (wait <= 0) return true;
  hub.refuse(session, { code: "moderationTooFast", seconds: Math.ceil(wait / 1000) });
  return false;
}

/** Whether `session` is an operator of its room (for `/help`). */
function isOperator(hub: Hub, session: Session): boolean {
  const room = session.member.room;
  if (room !== null && hub.isServerOperator(session)) return true;
  const rules = room === null ? undefined : hub.roomRules.get(room.key);
  return rules?.isOperator(session.member.account, session.member) === true;
}

/** Whether `session` is a server operator (for `/help`). */
function isServerOperator(hub: Hub, session: Session): boolean {
  return hub.isServerOperator(session);
}

/** Whether `session` may use a server operator's command; else refused. */
function authorizeServer(hub: Hub, session: Session, acts = true): boolean {
  if (!hub.isServerOperator(session)) {
    hub.refuse(session, { code: "notServerOperator" });
    return false;
  }
  return !acts || paced(hub, session);
}

/** Logs and counts a server operator's `action` (it has no room: told as it is done). */
function serverDone(
  hub: Hub,
  by: Session,
  action: "kill" | "announce" | "kline" | "unkline",
  target: string,
  reason?: string,
): void {
  const name = by.member.name!;
  hub.log.event({ event: "moderation", name, text: action, target, reason });
  hub.metrics.moderation.with(action).inc();
}

/** Whether `session` is in a room with rules (any but the lobby), for `/help`. */
function inRoomWithRules(hub: Hub, session: Session): boolean {
  const room = session.member.room;
  return room !== null && hub.roomRules.has(room.key);
}

/**
 * The member called `name` in `room` on another server of the cluster, if there is one
 * there (and none here).
 */
function remoteIn(hub: Hub, room: Room<Session>, name: string): RemoteMember | null {
  const key = nameKey(name);
  if (hub.members.has(key)) return null;
  const remote = hub.cluster?.remote.get(key);
  return remote !== undefined && remote.rooms.has(room.key) ? remote : null;
}

/** The member called `name` in `room`, or refused (`null`). */
function memberIn(hub: Hub, session: Session, room: Room<Session>, name: string): Session | null {
  const target = hub.members.get(nameKey(name));
  if (!target?.name) {
    hub.refuse(session, { code: "noSuchMember", name });
    return null;
  }
  if (!target.rooms.has(room)) {
    hub.refuse(session, { code: "notInRoom", name: target.name, room: room.name });
    return null;
  }
  return target;
}

/** Tells `room` (and the log, and `/metrics`) that `by` did `action` to `target`. */
function done(
  hub: Hub,
  by: Session,
  room: Room<Session>,
  action: ModerationAction,
  target: string,
  reason?: string,
  except: Session | null = null,
): void {
  const name = by.member.name!;
  const event = reason === undefined
    ? { type: "moderation" as const, time: Date.now(), room: room.name, by: name, action, target }
    : {
      type: "moderation" as const,
      time: Date.now(),
      room: room.name,
      by: name,
      action,
      target,
      reason,
    };
  if (action === "invite") {
    // An invitation is between the two (IRC tells no other member): the inviter is told.
    for (const each of by.connections()) each.tell(event);
  } else {
    room.introduce(by.member);
    room.tell(event, except);
  }
  hub.log.event({ event: "moderation", name, text: action, target, room: room.name, reason });
  hub.metrics.moderation.with(action).inc();
  // Kept, and shared with the cluster with the notice its rooms are told.
  if (hub.roomRules.get(room.key)?.held && action !== "kick" && action !== "invite") {
    hub.saveRules(
      room.key,
      reason === undefined ? { by: name, action, target } : {
        by: name,
        action,
        target,
        reason,
      },
    );
  }
}

/** The names of the guests in `set` (the members holding a guest role). */
function guestNames(set: ReadonlySet<object> | undefined): string[] {
  const names: string[] = [];
  for (const member of set ?? []) {
    const name = (member as Session).name;
    if (name !== null) names.push(name);
  }
  return names;
}

/** The first word of `rest` and what follows it, trimmed. */
function split(rest: string): [string, string] {
  const gap = rest.search(/\s/);
  return gap === -1 ? [rest, ""] : [rest.slice(0, gap), rest.slice(gap + 1).trim()];
}

/** A command that grants or takes a role (`/op`, `/voice` …) from a logged-in member. */
function roleCommand(
  name: "op" | "deop" | "voice" | "devoice",
  summary: string,
): Command {
  return {
    name: "/" + name,
    usage: `/${name} NAME`,
    summary,
    needsArgument: true,
    mayUse: isOperator,
    run(hub, session, rest) {
      const held = authorize(hub, session);
      if (!held) return;
      const { room, rules } = held;
      const target = memberIn(hub, session, room, split(rest)[0]);
      if (!target) return;
      const account = target.member.account;
      if (name === "deop" && account !== null && account === rules.founder) {
        return hub.refuse(session, { code: "roomHeld", room: room.name, founder: target.name! });
      }
      const giving = name === "op" || name === "voice";
      if (account === null) {
        // A guest holds the role while it stays in the room (it is never kept).
        const set = name === "op" || name === "deop" ? rules.guestOps : rules.guestVoices;
        if (giving) set.add(target.member);
        else set.delete(target.member);
      } else {
        const set = name === "op" || name === "deop" ? rules.ops : rules.voices;
        if (giving) set.add(account);
        else set.delete(account);
      }
      done(hub, session, room, name, target.name!);
    },
  };
}

/** A command that adds a ban or mute (`list`) to the member's room. */
function maskCommand(name: "ban" | "mute", summary: string): Command {
  return {
    name: "/" + name,
    usage: `/${name} MASK`,
    summary,
    needsArgument: true,
    mayUse: isOperator,
    run(hub, session, rest) {
      const held = authorize(hub, session);
      if (!held) return;
      const { room, rules } = held;
      const text = split(rest)[0];
      const by = session.member.name!;
      const mask = parseMask(text, by);
      if ("code" in mask) return hub.refuse(session, mask);
      const list = name === "ban" ? rules.bans : rules.mutes;
      if (list.length >= MASKS_MAX) {
        const which = name === "ban" ? "bans" : "mutes";
        return hub.refuse(session, {
          code: "tooManyMasks",
          room: room.name,
          list: which,
          max: MASKS_MAX,
        });
      }
      const added = [mask];
      // A member here by that very name: its account (or, a guest's, its address) too, so
      // that a rename, a reconnect or another connection does not let it back.
      const present = mask.kind === "name" ? hub.members.get(nameKey(text)) : undefined;
      const also = present?.name ? hub.companionMask(present, text, by) : null;
      if (also !== null) added.push(also);
      for (const each of added) {
        if (!list.some((old) => old.kind === each.kind && old.mask === each.mask)) list.push(each);
      }
      done(hub, session, room, name, text);
      if (name !== "ban") return;
      // Whoever the ban matches leaves the room (an operator is never banned from it).
      for (const member of [...room.members]) {
        const subject = hub.subject(member);
        if (rules.isOperator(subject.account, subject.member)) continue;
        if (!list.some((ban) => matches(ban, subject)) || rules.banned(subject) === false) continue;
        room.introduce(member);
        hub.kickOut(session.member.name!, room, member, "banned");
      }
    },
  };
}

/** A command that takes a mask off the room's bans or mutes. */
function unmaskCommand(name: "unban" | "unmute", summary: string): Command {
  return {
    name: "/" + name,
    usage: `/${name} MASK`,
    summary,
    needsArgument: true,
    mayUse: isOperator,
    run(hub, session, rest) {
      const held = authorize(hub, session);
      if (!held) return;
      const { room, rules } = held;
      const text = split(rest)[0];
      const key = name === "unban" ? "bans" : "mutes";
      // Lifting a name's ban lifts what banning it added (its account or address).
      const kept = rules[key].filter((mask) => mask.mask !== text && mask.for !== text);
      if (kept.length === rules[key].length) {
        return hub.refuse(session, { code: "noSuchMask", mask: text });
      }
      rules[key] = kept;
      done(hub, session, room, name, text);
    },
  };
}

/** The most ban or invite exceptions a room keeps (each is matched at every join). */
const EXCEPTIONS_MAX = 100;

/**
 * Applies the mode changes `spec` (`+mi-t`, then `+k`'s key, `+l`'s limit and `±e`/`±I`'s
 * masks from `params`); `by` sets the exceptions.
 */
function applyModes(
  rules: RoomRules,
  spec: string,
  params: string[],
  by: string,
): Problem | string {
  if (!/^[+-]/.test(spec)) return { code: "badMode", mode: spec };
  let adding = true;
  let changed = "";
  let lastSign = "";
  const used: string[] = [];
  for (const letter of spec) {
    if (letter === "+" || letter === "-") {
      adding = letter === "+";
      continue;
    }
    const sign = adding ? "+" : "-";
    const mark = sign === lastSign ? letter : sign + letter;
    if (FLAG_MODES.includes(letter)) {
      if (adding) rules.modes.add(letter);
      else rules.modes.delete(letter);
    } else if (letter === "k") {
      if (adding) {
        const key = params.shift();
        if (!key || key.length > KEY_MAX || /[\s,]/.test(key)) {
          return { code: "badMode", mode: "+k" };
        }
        rules.key = key;
        used.push(key);
      } else {
        rules.key = null;
      }
    } else if (letter === "e" || letter === "I") {
      // Ban exceptions (+e) and invite exceptions (+I): a mask each, added or taken off.
      const text = params.shift();
      if (!text) return { code: "badMode", mode: sign + letter };
      const field = letter === "e" ? "excepts" : "invexes";
      const list = rules[field];
      if (adding) {
        const mask = parseMask(text, by);
        if ("code" in mask) return mask;
        if (!list.some((old) => old.mask === mask.mask)) {
          if (list.length >= EXCEPTIONS_MAX) return { code: "badMode", mode: sign + letter };
          rules[field] = [...list, mask];
        }
      } else {
        const folded = text.toLowerCase();
        const kept = list.filter((old) => old.mask.toLowerCase() !== folded);
        if (kept.length === list.length) return { code: "noSuchMask", mask: text };
        rules[field] = kept;
      }
      used.push(text);
    } else if (letter === "l") {
      if (adding) {
        const limit = Number(params.shift());
        if (!Number.isInteger(limit) || limit < 1 || limit > 1_000_000) {
          return { code: "badMode", mode: "+l" };
        }
        rules.limit = limit;
        used.push(String(limit));
      } else {
        rules.limit = null;
      }
    } else {
      return { code: "badMode", mode: sign + letter };
    }
    changed += mark;
    lastSign = sign;
  }
  if (changed === "") return { code: "badMode", mode: spec };
  return [changed, ...used].join(" ");
}

/** The moderation commands, in the order `/help` lists them. */
export const MODERATION_COMMANDS: readonly Command[] = [
  {
    name: "/claim",
    usage: "/claim",
    summary: "hold your room (one no one holds) with your account: you are its founder",
    mayUse: (hub, session) => {
      const room = session.member.room;
      return session.member.account !== null && room !== null &&
        hub.roomRules.get(room.key)?.held === false;
    },
    run(hub, session) {
      const member = session.member;
      const room = member.room;
      const rules = room ? hub.roomRules.get(room.key) : undefined;
      if (!room || !rules) {
        return hub.refuse(session, { code: "roomHeld", room: LOBBY, founder: null });
      }
      if (member.account === null) {
        return hub.refuse(session, { code: "needsAccount", name: member.name! });
      }
      if (rules.founder !== null) {
        const founder = hub.accounts.accountName(rules.founder) ?? rules.founder;
        return hub.refuse(session, { code: "roomHeld", room: room.name, founder });
      }
      // A room its guest maker (or another) operates is claimed by one of its operators only.
      if (rules.operated && !hub.isServerOperator(session)) {
        const problem = rules.check(room.name, member.account, "operate", false, member);
        if (problem !== null) return hub.refuse(session, problem);
      }
      rules.guestOps.delete(member);
      rules.founder = member.account;
      rules.modes.add("t");
      done(hub, session, room, "claim", room.name);
    },
  },
  roleCommand("op", "make NAME (logged in) an operator of your room"),
  roleCommand("deop", "take operator from NAME"),
  roleCommand("voice", "let NAME (logged in) speak in your moderated room"),
  roleCommand("devoice", "take voice from NAME"),
  {
    name: "/kick",
    usage: "/kick NAME [REASON]",
    summary: "send NAME out of your room, to the lobby",
    needsArgument: true,
    mayUse: isOperator,
    run(hub, session, rest) {
      const held = authorize(hub, session);
      if (!held) return;
      const { room, rules } = held;
      const [name, why] = split(rest);
      const reason = why === "" ? undefined : [...why].slice(0, REASON_MAX).join("");
      const remote = remoteIn(hub, room, name);
      if (remote !== null) {
        // Held by another server: it takes the member out (and checks it is not the founder).
        const by = session.member.name!;
        done(hub, session, room, "kick", remote.name, reason);
        hub.cluster!.publish(
          reason === undefined
            ? { t: "kick", k: nameKey(remote.name), r: room.key, by }
            : { t: "kick", k: nameKey(remote.name), r: room.key, by, reason },
        );
        return;
      }
      const target = memberIn(hub, session, room, name);
      if (!target) return;
      if (target.member === session.member) return hub.refuse(session, { code: "thatIsYou" });
      if (target.member.account !== null && target.member.account === rules.founder) {
        return hub.refuse(session, { code: "notOperator", room: room.name });
      }
      // Its join, if still unannounced, is settled first: none is told after it has gone.
      room.introduce(target.member);
      done(hub, session, room, "kick", target.name!, reason, target.member);
      hub.kickOut(session.member.name!, room, target, reason);
    },
  },
  maskCommand("ban", "ban MASK from your room: NAME, account:NAME, an address or CIDR"),
  unmaskCommand("unban", "lift the ban MASK"),
  {
    name: "/bans",
    usage: "/bans",
    summary: "your room's bans and mutes",
    mayUse: isOperator,
    run(hub, session) {
      const held = authorize(hub, session, "operate", false);
      if (!held) return;
      const { room, rules } = held;
      const time = Date.now();
      for (const list of ["bans", "mutes", "excepts", "invexes"] as const) {
        // The exceptions only when there are some (most rooms have none).
        if (rules[list].length === 0 && (list === "excepts" || list === "invexes")) continue;
        const masks = rules[list].map(({ mask, by }) => ({ mask, by }));
        session.tell({ type: "bans", time, room: room.name, list, masks });
      }
    },
  },
  maskCommand("mute", "silence MASK in your room (NAME, account:NAME, an address)"),
  unmaskCommand("unmute", "let MASK speak again"),
  {
    name: "/invite",
    usage: "/invite NAME",
    summary: "let NAME into your room even while it is invite-only",
    needsArgument: true,
    mayUse: inRoomWithRules,
    run(hub, session, rest) {
      const member = session.member;
      const room = member.room;
      const rules = room ? hub.roomRules.get(room.key) : undefined;
      if (!room || !rules) return hub.refuse(session, { code: "notOperator", room: LOBBY });
      // Anyone in a room may invite to it; to an invite-only one, its operators.
      if (rules.modes.has("i")) {
        const problem = rules.check(
          room.name,
          member.account,
          "operate",
          hub.isServerOperator(session),
          member,
        );
        if (problem !== null && rules.modes.has("i")) return hub.refuse(session, problem);
      }
      const name = split(rest)[0];
      const target = hub.members.get(nameKey(name));
      const remote = target ? undefined : hub.cluster?.remote.get(nameKey(name));
      if (!target?.name && !remote) return hub.refuse(session, { code: "noSuchMember", name });
      if (target?.member === member) return hub.refuse(session, { code: "thatIsYou" });
      if (!paced(hub, session)) return;
      if (remote) {
        // Its own server keeps the invitation, by what it knows of it (its account).
        const by = member.name!;
        hub.cluster!.publish({ t: "invite", k: nameKey(remote.name), room: room.name, by });
        return done(hub, session, room, "invite", remote.name);
      }
      if (!target?.name) return;
      rules.invite(hub.subject(target));
      const time = Date.now();
      for (const each of target.connections()) {
        each.tell({ type: "invited", time, room: room.name, by: member.name! });
      }
      done(hub, session, room, "invite", target.name);
    },
  },
  {
    name: "/mode",
    usage: "/mode [ROOM] [+tnmis-… [KEY] [N] [MASK]]",
    mayUse: inRoomWithRules,
    summary:
      "show a room's modes, or set yours: +t topic by operators, +m moderated, +i invite-only, +k KEY, +l N, +s secret, +n, +e MASK ban exception, +I MASK invite exception",
    run(hub, session, rest) {
      const words = rest === "" ? [] : rest.split(/\s+/);
      const member = session.member;
      let room = member.room;
      if (words.length > 0 && !/^[+-]/.test(words[0])) {
        const named = hub.rooms.get(roomKey(words.shift()!));
        if (!named) return hub.refuse(session, { code: "noSuchRoom", room: rest.split(/\s+/)[0] });
        room = named;
      }
      if (!room) return hub.refuse(session, { code: "usage", usage: this.usage });
      const rules = hub.roomRules.get(room.key);
      if (words.length === 0) {
        const name = (key: string) => hub.accounts.accountName(key) ?? key;
        return session.tell({
          type: "modes",
          time: Date.now(),
          room: room.name,
          modes: rules?.modeString(room === member.room) ?? "+",
          founder: rules?.founder ? name(rules.founder) : null,
          ops: [...rules?.ops ?? []].map(name).concat(guestNames(rules?.guestOps)),
          voices: [...rules?.voices ?? []].map(name).concat(guestNames(rules?.guestVoices)),
        });
      }
      if (room !== member.room) {
        return hub.refuse(session, { code: "notInRoom", name: member.name!, room: room.name });
      }
      const held = authorize(hub, session);
      if (!held) return;
      // Tried on a copy first: a bad change in the middle leaves the modes as they were.
      const by = member.name!;
      const trial = applyModes(RoomRules.from(held.rules.data()), words[0], words.slice(1), by);
      if (typeof trial !== "string") return hub.refuse(session, trial);
      const changed = applyModes(held.rules, words[0], words.slice(1), by) as string;
      done(hub, session, room, "mode", changed);
    },
  },
  {
    name: "/kill",
    usage: "/kill NAME [REASON]",
    summary: "disconnect a member (all its connections), its room told why (server operators)",
    needsArgument: true,
    mayUse: isServerOperator,
    run(hub, session, rest) {
      if (!authorizeServer(hub, session)) return;
      const [name, why] = split(rest);
      const target = hub.members.get(nameKey(name));
      const remote = target ? undefined : hub.cluster?.remote.get(nameKey(name));
      if (!target?.name && !remote) return hub.refuse(session, { code: "noSuchMember", name });
      const by = session.member.name!;
      const reason = why === "" ? undefined : why.slice(0, REASON_MAX);
      if (remote) {
        // Its own server disconnects it; its rooms everywhere see it leave with the reason.
        serverDone(hub, session, "kill", remote.name, reason);
        const k = nameKey(remote.name);
        hub.cluster!.publish(
          reason === undefined ? { t: "kill", k, by } : { t: "kill", k, by, reason },
        );
        return;
      }
      serverDone(hub, session, "kill", target!.name!, reason);
      hub.kill(target!, by, reason);
    },
  },
  {
    name: "/kline",
    usage: "/kline MASK DURATION [REASON]",
    summary:
      "ban an address, CIDR, account:NAME or name glob from the server for 30m, 2h, 7d … or perm (server operators)",
    needsArgument: true,
    mayUse: isServerOperator,
    run(hub, session, rest) {
      if (!authorizeServer(hub, session, false)) return;
      const [mask, more] = split(rest);
      const [when, why] = split(more);
      if (when === "") return hub.refuse(session, { code: "usage", usage: this.usage });
      const duration = parseDuration(when);
      if (duration === undefined) return hub.refuse(session, { code: "badDuration", text: when });
      const by = session.member.name!;
      const kline = makeKline(mask, by, duration, why);
      if ("code" in kline) return hub.refuse(session, kline);
      // Never oneself: an operator's own address, account or name would end its own session.
      if (wouldMatch(kline, hub.subject(session))) {
        return hub.refuse(session, { code: "thatIsYou" });
      }
      if (!paced(hub, session)) return;
      const ended = hub.applyKline(kline, true);
      if (ended === null) return hub.refuse(session, { code: "tooManyKlines", max: KLINES_MAX });
      hub.cluster?.publish({ t: "kline", k: klineKey(kline.mask), j: JSON.stringify(kline) });
      serverDone(hub, session, "kline", kline.mask, why || undefined);
      session.tell({ type: "kline", time: Date.now(), kline, removed: false, disconnected: ended });
    },
  },
  {
    name: "/unkline",
    usage: "/unkline MASK",
    summary: "lift a server ban (server operators)",
    needsArgument: true,
    mayUse: isServerOperator,
    run(hub, session, rest) {
      if (!authorizeServer(hub, session)) return;
      const mask = split(rest)[0];
      if (mask.length > KLINE_MASK_MAX) return hub.refuse(session, { code: "noSuchMask", mask });
      const kline = hub.liftKline(mask, true);
      if (kline === undefined) return hub.refuse(session, { code: "noSuchMask", mask });
      hub.cluster?.publish({ t: "unkline", k: klineKey(mask) });
      serverDone(hub, session, "unkline", kline.mask);
      session.tell({ type: "kline", time: Date.now(), kline, removed: true, disconnected: 0 });
    },
  },
  {
    name: "/klines",
    usage: "/klines",
    summary: "the server bans in force: who set each, when, until when, why (server operators)",
    mayUse: isServerOperator,
    run(hub, session) {
      if (!authorizeServer(hub, session, false)) return;
      session.tell({ type: "klines", time: Date.now(), klines: hub.klines.list() });
    },
  },
  announceCommand("/announce"),
  announceCommand("/wallops"),
  deleteCommand(),
];

/** Whether `kline` would match `subject` (checked on a list of its own). */
function wouldMatch(kline: Kline, subject: Subject): boolean {
  const one = new Klines();
  one.add(kline);
  return one.match(subject) !== null;
}

/** `/announce TEXT` (or `/wallops`): a server operator's notice to everyone connected. */
function announceCommand(name: "/announce" | "/wallops"): Command {
  return {
    name,
    usage: `${name} TEXT`,
    summary: "a notice to everyone connected (server operators)",
    needsArgument: true,
    mayUse: isServerOperator,
    run(hub, session, rest) {
      if (!authorizeServer(hub, session)) return;
      const by = session.member.name!;
      const event = { type: "announcement" as const, time: Date.now(), by, text: rest };
      serverDone(hub, session, "announce", "*", rest);
      for (const each of hub.sessions) if (each.name !== null) each.tell(event);
    },
  };
}

/** Messages of the room `/delete` (no id) looks back through for an account's last one. */
const OWN_LOOKBACK = 200;

/**
 * Deletes the kept message `id` of `session`'s room (`undefined`: the member's own last
 * one there) if it may (see {@linkcode checkDelete}), someone else's only within the
 * moderation pace (see {@linkcode paced}): history forgets it here and, through the
 * cluster, everywhere; the room is told; it is logged and counted. Else refused.
 */
export function deleteMessage(
  hub: Hub,
  session: Session,
  id: string | undefined,
  why?: string,
): void {
  const member = session.member;
  const room = member.room;
  if (room === null) {
    return hub.refuse(session, { code: "noSuchMessage", room: LOBBY, id: id ?? "" });
  }
  const account = member.account;
  const posted = member.recentlyPosted();
  const own = (entry: HistoryEntry) =>
    entry.account !== undefined
      ? account !== null && nameKey(entry.account) === account
      : posted.includes(entry.id);
  let entry: HistoryEntry | undefined;
  if (id === undefined) {
    for (const each of posted) if ((entry = hub.history.entry(room.key, each)) !== undefined) break;
    if (entry === undefined && account !== null) {
      entry = hub.history.before(room.key, OWN_LOOKBACK).findLast(own);
    }
  } else if (isId(id)) {
    entry = hub.history.entry(room.key, id);
  }
  if (entry === undefined) {
    // What the client sent is said back to it only, and not at any length.
    return hub.refuse(session, {
      code: "noSuchMessage",
      room: room.name,
      id: id?.slice(0, 32) ?? "",
    });
  }
  const rules = hub.roomRules.get(room.key);
  const serverOperator = hub.isServerOperator(session);
  const mine = own(entry);
  const problem = checkDelete(
    rules,
    room.name,
    entry.id,
    account,
    mine,
    serverOperator,
    member, // a guest operator (who made the room) holds its role by member
  );
  if (problem !== null) return hub.refuse(session, problem);
  // Someone else's message is a moderation action, paced as kicks are. One's own stays free:
  // each can be deleted once, so it is bounded by what one may post (the flood bucket).
  if (!mine && !paced(hub, session)) return;
  const by = member.name!;
  const reason = why ? [...why].slice(0, REASON_MAX).join("") : undefined;
  hub.messageDeleted(room.key, entry.id, by, reason);
  hub.cluster?.publish(
    reason === undefined
      ? { t: "delete", k: room.key, id: entry.id, by }
      : { t: "delete", k: room.key, id: entry.id, by, reason },
  );
  // The log says whose it was (never its text: the point was to take it back).
  const target = `${entry.id} (${entry.from === by ? "own" : `by ${entry.from}`})`;
  hub.log.event({ event: "moderation", name: by, text: "delete", target, room: room.name, reason });
  hub.metrics.moderation.with("delete").inc();
}

/**
 * `/delete ID` of no message of the room (looked in first) but of one of the caller's own
 * private conversations: deleted there (see `private_delete.ts`); whether it was one.
 */
function deletesPrivate(hub: Hub, session: Session, id: string): boolean {
  const room = session.member.room;
  if (room !== null && isId(id) && hub.history.entry(room.key, id) !== undefined) return false;
  const found = findOwn(hub, session, id);
  if (found === undefined) return false;
  deletePrivate(hub, session, id, undefined, found);
  return true;
}

/** `/delete [ID]`: a kept message of your room, by id, or your own last one. */
function deleteCommand(): Command {
  return {
    name: "/delete",
    usage: "/delete [ID [REASON]]",
    summary:
      "delete your last message here, or message ID (yours, or as an operator; or a private one of yours)",
    run(hub, session, rest) {
      const [id, reason] = split(rest);
      if (id !== "" && deletesPrivate(hub, session, id)) return;
      deleteMessage(hub, session, id === "" ? undefined : id, reason || undefined);
    },
  };
}
