/**
 * Room moderation: who holds a room (its founder, an account), its operators and
 * voiced members (accounts too), its modes, bans and mutes, and the one place that
 * decides who may do what ({@linkcode RoomRules.check}). Front-ends never check
 * permissions: they render the {@linkcode Problem} a refusal is.
 *
 * A room made by a logged-in member is founded by its account and starts `+nt`; a
 * room made by a guest starts `+nt` too, its maker its operator while it stays (as on
 * IRC without services: not kept, no founder), and is no one's once it leaves, until
 * a logged-in member `/claim`s it. The lobby belongs to no one.
 *
 * @module
 */

import type { Problem } from "./events.ts";
import { isGlob, matchGlob } from "./glob.ts";
import { parseCidr, parseIp } from "./admission.ts";
import { nameKey } from "./protocol.ts";

/** What a ban or mute matches: a name (glob), an account (glob), or an address (glob or CIDR). */
export type MaskKind = "name" | "account" | "address";

/** One ban or mute: what it matches, who set it and when. */
export interface Mask {
  readonly kind: MaskKind;
  /** As written (`bob`, `account:bob`, `192.0.2.0/24`). */
  readonly mask: string;
  readonly by: string;
  readonly time: number;
  /** The name mask this one was added with (`/ban NAME` bans its account or address too). */
  readonly for?: string;
}

/**
 * What a member is, as masks see it: its name, its account key (if any), its address;
 * as IRC shows it (`nick!user@host`: `user` and `host`, a cloak); and the member itself,
 * for the roles a guest holds while it stays (see {@linkcode RoomRules.guestOps}).
 */
export interface Subject {
  readonly name: string;
  readonly account: string | null;
  readonly address: string;
  readonly user?: string;
  readonly host?: string;
  readonly member?: object;
}

/** The modes without a parameter; `k` (key) and `l` (limit) take one. */
export const FLAG_MODES = "tnmis";

/** A room's rules as kept (JSON in the `--db` file). */
export interface RulesData {
  founder: string | null;
  ops: string[];
  voices: string[];
  modes: string;
  key: string | null;
  limit: number | null;
  bans: Mask[];
  mutes: Mask[];
  /** Ban exceptions (`+e`); absent in rules kept before they existed. */
  excepts?: Mask[];
  /** Invite exceptions (`+I`); absent in rules kept before they existed. */
  invexes?: Mask[];
}

/** Who may do what in a room that a moderation command needs (see {@linkcode RoomRules.check}). */
export type Power = "operate" | "founder";

/** The roles, modes, bans and mutes of one room (it may be empty: a founded room's rules stay). */
export class RoomRules {
  /** The account key of the room's founder, or `null` (no one holds it). */
  founder: string | null = null;
  /** Account keys of the room's operators (the founder is one without being listed). */
  readonly ops = new Set<string>();
  /** Account keys of voiced members. */
  readonly voices = new Set<string>();
  /** The flag modes set, as letters of {@linkcode FLAG_MODES}. */
  readonly modes = new Set<string>();
  key: string | null = null;
  limit: number | null = null;
  bans: Mask[] = [];
  mutes: Mask[] = [];
  /** Ban exceptions (`+e`): whom they match comes in despite a ban. */
  excepts: Mask[] = [];
  /** Invite exceptions (`+I`): whom they match comes in despite `+i`. */
  invexes: Mask[] = [];
  /**
   * Guests operating the room while they stay in it (its guest maker, or made so by an
   * operator): their members, never kept; the hub takes them off when they leave.
   */
  readonly guestOps = new Set<object>();
  /** Guests voiced while they stay, as {@linkcode guestOps}. */
  readonly guestVoices = new Set<object>();
  /** Invited members by name key and account key (for `+i`); used once, never kept. */
  readonly invited = new Set<string>();

  /**
   * The rules of a new room (`+nt`): founded by `founder`, or else operated by the guest
   * `maker` while it stays.
   */
  static made(founder: string | null, maker?: object): RoomRules {
    const rules = new RoomRules();
    rules.founder = founder;
    if (founder === null && maker !== undefined) rules.guestOps.add(maker);
    rules.modes.add("n");
    rules.modes.add("t");
    return rules;
  }

  /** Rules as kept by {@linkcode data}. */
  static from(data: RulesData): RoomRules {
    const rules = new RoomRules();
    rules.founder = data.founder;
    for (const op of data.ops) rules.ops.add(op);
    for (const voice of data.voices) rules.voices.add(voice);
    for (const mode of data.modes) if (FLAG_MODES.includes(mode)) rules.modes.add(mode);
    rules.key = data.key;
    rules.limit = data.limit;
    rules.bans = [...data.bans];
    rules.mutes = [...data.mutes];
    rules.excepts = [...data.excepts ?? []];
    rules.invexes = [...data.invexes ?? []];
    return rules;
  }

  /** The rules as kept. */
  data(): RulesData {
    return {
      founder: this.founder,
      ops: [...this.ops],
      voices: [...this.voices],
      modes: [...this.modes].join(""),
      key: this.key,
      limit: this.limit,
      bans: this.bans,
      mutes: this.mutes,
      excepts: this.excepts,
      invexes: this.invexes,
    };
  }

  /** Whether someone holds the room (only then is anything enforced beyond bans). */
  get held(): boolean {
    return this.founder !== null;
  }

  /** Whether the account `account` (or the guest `member`) is an operator (the founder is). */
  isOperator(account: string | null, member?: object): boolean {
    if (member !== undefined && this.guestOps.size > 0 && this.guestOps.has(member)) return true;
    return account !== null && (account === this.founder || this.ops.has(account));
  }

  /** Whether the account `account` (or the guest `member`) is voiced (operators speak anyway). */
  isVoiced(account: string | null, member?: object): boolean {
    if (member !== undefined && this.guestVoices.size > 0 && this.guestVoices.has(member)) {
      return true;
    }
    return account !== null && this.voices.has(account);
  }

  /** Takes the guest roles of `member` (it left the room); whether it had one. */
  forgetGuest(member: object): boolean {
    return this.guestOps.delete(member) || this.guestVoices.delete(member);
  }

  /** Whether anyone operates the room now (its founder, an operator, a guest operator). */
  get operated(): boolean {
    return this.founder !== null || this.ops.size > 0 || this.guestOps.size > 0;
  }

  /** The modes as IRC writes them: `+imnt`, then key and limit (`+klnt KEY 10`). */
  modeString(showKey: boolean): string {
    let letters = [...this.modes].sort().join("");
    const params: string[] = [];
    if (this.key !== null) {
      letters += "k";
      params.push(showKey ? this.key : "*");
    }
    if (this.limit !== null) {
      letters += "l";
      params.push(String(this.limit));
    }
    return ["+" + letters, ...params].join(" ");
  }

  /**
   * Whether a member with `account` may use a moderation command here (`power`), or why
   * not: the one permission check of every moderation command, on every front-end. A
   * server operator (`serverOperator`) operates every room, founder's powers included.
   */
  check(
    room: string,
    account: string | null,
    power: Power,
    serverOperator = false,
    member?: object,
  ): Problem | null {
    if (serverOperator) return null;
    if (
      power === "founder"
        ? account !== null && account === this.founder
        : this.isOperator(account, member)
    ) {
      return null;
    }
    return { code: "notOperator", room };
  }

  /**
   * Why `subject` cannot come in (banned; invite-only and not invited; without the key;
   * the room full with `members` in it), or `null`; an invitation is used up here.
   */
  admit(room: string, subject: Subject, key: string | undefined, members: number): Problem | null {
    // Its own ops are never locked out.
    if (this.isOperator(subject.account, subject.member)) return null;
    const invitedBy = this.#invitation(subject);
    if (this.banned(subject)) return { code: "banned", room }; // an invitation does not lift it
    // An invitation lets one in past +i, the key and the limit (an operator chose to).
    if (this.modes.has("i") && invitedBy === null && !matchAny(this.invexes, subject)) {
      return { code: "inviteOnly", room };
    }
    if (this.key !== null && key !== this.key && invitedBy === null) {
      return { code: "badKey", room };
    }
    if (this.limit !== null && members >= this.limit && invitedBy === null) {
      return { code: "roomFull", room, max: this.limit };
    }
    if (invitedBy !== null) this.invited.delete(invitedBy);
    return null;
  }

  /** Whether a ban (and no ban exception) matches `subject`. */
  banned(subject: Subject): boolean {
    return this.bans.length > 0 && matchAny(this.bans, subject) &&
      !(this.excepts.length > 0 && matchAny(this.excepts, subject));
  }

  /** The invitation `subject` has (the key it is kept under), or `null`. */
  #invitation(subject: Subject): string | null {
    const name = "n:" + nameKey(subject.name);
    if (this.invited.has(name)) return name;
    const account = subject.account === null ? null : "a:" + subject.account;
    return account !== null && this.invited.has(account) ? account : null;
  }

  /** Invites `subject` (once, by its name and its account if it has one). */
  invite(subject: Subject): void {
    this.invited.add(
      subject.account !== null ? "a:" + subject.account : "n:" + nameKey(subject.name),
    );
  }

  /** Why `subject` may not speak here (muted, or `+m` without voice), or `null`. */
  speak(room: string, subject: Subject): Problem | null {
    if (this.isOperator(subject.account, subject.member)) return null;
    if (this.mutes.length > 0 && matchAny(this.mutes, subject)) return { code: "muted", room };
    if (this.modes.has("m") && !this.isVoiced(subject.account, subject.member)) {
      return { code: "moderated", room };
    }
    return null;
  }

  /**
   * Whether anyone may be refused speech here (mutes, or `+m`); bans are not checked per
   * message: a ban takes whom it matches out of the room.
   */
  get restricted(): boolean {
    return this.mutes.length > 0 || this.modes.has("m");
  }

  /**
   * Whether the topic is for operators only here (`+t` in a room someone operates: in
   * one no one does any more, anyone may set it).
   */
  topicLocked(): boolean {
    return this.modes.has("t") && this.operated;
  }
}

/**
 * Whether a member may delete the kept message `id` of `room`, or why not: its author
 * (`author`: the caller checked its account, or a guest's own recent post) may, and so
 * may an operator of the room (`rules`: none in the lobby) and a server operator.
 */
export function checkDelete(
  rules: RoomRules | undefined,
  room: string,
  id: string,
  account: string | null,
  author: boolean,
  serverOperator: boolean,
  member?: object,
): Problem | null {
  if (author || serverOperator || rules?.isOperator(account, member) === true) return null;
  return { code: "deleteForbidden", room, id };
}

/**
 * The mask `text` (`account:NAME`, `address:MASK`, an address or CIDR, or else a name
 * glob), or why it is none.
 */
export function parseMask(text: string, by: string, time = Date.now()): Mask | Problem {
  const colon = text.indexOf(":");
  const prefix = colon > 0 ? text.slice(0, colon).toLowerCase() : "";
  let kind: MaskKind;
  let mask = text;
  if (prefix === "account" || prefix === "~a") {
    kind = "account";
    mask = text.slice(colon + 1);
  } else if (prefix === "address") {
    kind = "address";
    mask = text.slice(colon + 1);
  } else if (isNetwork(text)) {
    kind = "address";
  } else if (/^[^\s:]+$/.test(text)) {
    kind = "name";
  } else {
    return { code: "badMask", mask: text };
  }
  if (mask === "" || /\s/.test(mask) || mask.length > 200) return { code: "badMask", mask: text };
  return { kind, mask: kind === "address" ? mask : mask, by, time };
}

/** Whether `text` is an address or a CIDR. */
function isNetwork(text: string): boolean {
  if (parseIp(text) !== null) return true;
  if (!text.includes("/")) return false;
  try {
    parseCidr(text);
    return true;
  } catch {
    return false;
  }
}

/** Whether one of `masks` matches `subject`. */
export function matchAny(masks: readonly Mask[], subject: Subject): boolean {
  for (const mask of masks) if (matches(mask, subject)) return true;
  return false;
}

/** Whether `mask` matches `subject` (names and accounts folded as names are, no regex). */
export function matches(mask: Mask, subject: Subject): boolean {
  switch (mask.kind) {
    case "name":
      return /[!@]/.test(mask.mask)
        ? matchesIrcMask(mask.mask, subject)
        : foldedMatch(mask.mask, subject.name);
    case "account":
      return subject.account !== null && foldedMatch(mask.mask, subject.account);
    case "address": {
      if (isNetwork(mask.mask)) {
        const bytes = parseIp(subject.address);
        return bytes !== null && parseCidr(mask.mask).contains(bytes);
      }
      return matchGlob(mask.mask.toLowerCase(), subject.address.toLowerCase());
    }
  }
}

/**
 * An IRC mask (`nick!user@host`, each part a glob, a missing part `*`) against `subject`:
 * the nick as names compare, the user as IRC shows it (a chat member's is its name), the
 * host against the cloak IRC shows and the real address.
 */
function matchesIrcMask(mask: string, subject: Subject): boolean {
  const bang = mask.indexOf("!");
  const at = mask.indexOf("@", bang + 1);
  const nick = bang === -1 ? (at === -1 ? mask : mask.slice(0, at)) : mask.slice(0, bang);
  const user = bang === -1 ? "*" : mask.slice(bang + 1, at === -1 ? undefined : at);
  const host = (at === -1 ? "*" : mask.slice(at + 1)).toLowerCase();
  if (!foldedMatch(nick || "*", subject.name)) return false;
  if (
    user !== "*" && !matchGlob(user.toLowerCase(), (subject.user ?? subject.name).toLowerCase())
  ) {
    return false;
  }
  if (host === "*") return true;
  if (subject.host !== undefined && matchGlob(host, subject.host.toLowerCase())) return true;
  if (isNetwork(host)) {
    const bytes = parseIp(subject.address);
    return bytes !== null && parseCidr(host).contains(bytes);
  }
  return matchGlob(host, subject.address.toLowerCase());
}

/** A name or account mask against a name: exact masks by their name key, globs folded to lower case. */
function foldedMatch(mask: string, name: string): boolean {
  if (!isGlob(mask)) return nameKey(mask) === nameKey(name);
  return matchGlob(mask.toLowerCase(), nameKey(name).toLowerCase()) ||
    matchGlob(mask.toLowerCase(), name.toLowerCase());
}

/** Where the rules of founded rooms are kept (`--db`), or nowhere (in memory). */
export interface RulesStore {
  /** Every founded room's rules, by room key. */
  load(): [string, RulesData][];
  /** Keeps `data` for the room `key` (`null`: forgets it). */
  save(key: string, data: RulesData | null): void;
}

/** Keeps nothing: rules last while the server runs. */
export class MemoryRulesStore implements RulesStore {
  load(): [string, RulesData][] {
    return [];
  }
  save(): void {}
}
