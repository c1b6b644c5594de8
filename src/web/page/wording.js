// @ts-check
/**
 * Every sentence the page shows about what happened, in one place: the page
 * renders the JSON protocol's events itself (see docs/protocol.md), as the text
 * protocol and IRC render them in their own ways.
 *
 * @module
 */

/**
 * "a", "a and b", "a, b and c", or "a, b and 3 more" when `count` is more than the names.
 * @param {readonly string[]} names
 * @param {number} [count]
 * @returns {string}
 */
export function listNames(names, count = names.length) {
  if (count > names.length) return names.join(", ") + " and " + (count - names.length) + " more";
  if (names.length <= 1) return names.join("");
  return names.slice(0, -1).join(", ") + " and " + names[names.length - 1];
}

/**
 * @typedef {{ change: "joined" | "left" | "moved", names: string[], count: number,
 *   reason?: string, to?: string }} PresenceGroup
 */

/**
 * One presence event as a sentence: "ann and bob joined; carol left (quit: bye)".
 * @param {readonly PresenceGroup[]} groups
 * @returns {string}
 */
export function presence(groups) {
  return groups.map((group) => {
    const who = listNames(group.names, group.count);
    if (group.change === "joined") return who + " joined";
    if (group.change === "moved") return who + " went to " + (group.to ?? "another room");
    return who + " left" + (group.reason ? " (" + group.reason + ")" : "");
  }).join("; ");
}

/**
 * "You are the first one here." or "Also here: bob and carol."
 * @param {readonly string[]} others
 * @param {number} count
 */
export function company(others, count) {
  return count === 0
    ? "You are the first one here."
    : "Also here: " + listNames(others, count) + ".";
}

/** The page's sentences, by what they say. */
export const say = {
  /** @param {string} room @param {readonly string[]} others @param {number} count */
  welcome: (room, others, count) => "You are in " + room + ". " + company(others, count),
  /** @param {string} room @param {readonly string[]} others @param {number} count */
  entered: (room, others, count) => "You are now in " + room + ". " + company(others, count),
  /** @param {string} room */
  alreadyIn: (room) => "You are already in " + room + ".",
  /** @param {string} name */
  alreadyNamed: (name) => "You are already " + name + ".",
  /** @param {string} name */
  renamedSelf: (name) => "You are now known as " + name + ".",
  /** @param {string} old @param {string} name */
  renamed: (old, name) => old + " is now known as " + name + ".",
  /** @param {string} by @param {string} topic */
  topicSet: (by, topic) => topic ? by + " set the topic: " + topic : by + " cleared the topic.",
  /** @param {string} room @param {string} topic */
  topicIs: (room, topic) => topic ? "Topic of " + room + ": " + topic : room + " has no topic.",
  /** @param {string} room @param {readonly string[]} names @param {number} count */
  who: (room, names, count) => "In " + room + " (" + count + "): " + listNames(names, count),
  /** @param {number} count */
  rooms: (count) => "Rooms (" + count + "):",
  /** @param {string} name @param {number} members @param {string} topic */
  room: (name, members, topic) => name + " (" + members + ")" + (topic ? ": " + topic : ""),
  /** @param {number} count */
  moreRooms: (count) => "and " + count + " more",
  /** @param {string} room */
  recent: (room) => "Recent messages in " + room,
  /** @param {string} room */
  earlier: (room) => "Earlier messages in " + room,
  gap: "Some messages from while you were away are no longer kept.",
  /** @param {string} room */
  noEarlier: (room) => "No earlier messages in " + room + ".",
  helpHeader: "Commands:",
  disconnected: "Disconnected.",
  /** @param {string} reason */
  shutdown: (reason) => "The server is shutting down" + (reason ? " (" + reason + ")" : "") + ".",
  /** @param {number} bytes @param {number} max */
  tooLongHere: (bytes, max) =>
    "Too long: " + bytes + " bytes, at most " + max + ". It was not sent.",
  notConnected: "Not connected; it was not sent.",
  /** @param {string} name */
  passwordFor: (name) => name + " is registered. Its password:",
  /** @param {string} name @param {boolean} persistent */
  registered: (name, persistent) =>
    name + " is now your account." +
    (persistent ? "" : " Accounts on this server last until it stops."),
  /** @param {string} account */
  loggedIn: (account) => "You are logged in as " + account + ".",
  /** @param {string} account */
  loggedOut: (account) => "You are logged out of " + account + "; you keep the name for now.",
  /** @param {string} account */
  accountIs: (account) => "Logged in as " + account + ".",
  accountNone: "Not logged in: anyone may take this name once you leave.",
  /** The mark beside a logged-in name in the people list, and what it says to a screen reader. */
  loggedInMark: "✓",
  loggedInLabel: "logged in",
  sessionFailed: "Logged in, but this browser could not keep the login: " +
    "the next visit asks the password again.",
  /** @param {string} account */
  passwordChanged: (account) => "The password of " + account + " is changed.",
  /** @param {string} account */
  unregistered: (account) => "The account " + account + " is deleted; its name is free.",
  /** @param {string} to */
  heldForLater: (to) => to + " is away; they will get it when they next log in.",
  /** @param {string} by @param {string} room @param {string} [reason] */
  kicked: (by, room, reason) =>
    by + " kicked you out of " + room + (reason ? " (" + reason + ")" : "") + ".",
  /** @param {string} by @param {string} room */
  invited: (by, room) => by + " invites you to " + room + ": /join " + room,
  /** @param {string} by @param {string} [reason] */
  killed: (by, reason) => by + " disconnected you" + (reason ? " (" + reason + ")" : "") + ".",
  /** @param {string} by @param {string} text */
  announcement: (by, text) => "Announcement from " + by + ": " + text,
  /**
   * @param {string} room @param {string} modes @param {string | null} founder
   * @param {readonly string[]} ops @param {readonly string[]} voices
   */
  modes: (room, modes, founder, ops, voices) =>
    "Modes of " + room + ": " + (modes || "none") +
    (founder ? "; held by " + founder : "; held by no one") +
    (ops.length ? "; operators: " + listNames(ops) : "") +
    (voices.length ? "; voiced: " + listNames(voices) : "") + ".",
  /** @param {string} list "bans" or "mutes" @param {string} room @param {readonly string[]} masks */
  bans: (list, room, masks) =>
    (list === "mutes" ? "Muted in " : "Banned from ") + room + ": " +
    (masks.length ? masks.join(", ") : "no one") + ".",
  /** Day separators: "Today", "Yesterday", or the date. @param {Date} date */
  day: (date) => {
    const today = new Date();
    const yesterday = new Date(today.getFullYear(), today.getMonth(), today.getDate() - 1);
    const same = (/** @type {Date} */ a, /** @type {Date} */ b) =>
      a.getFullYear() === b.getFullYear() && a.getMonth() === b.getMonth() &&
      a.getDate() === b.getDate();
    if (same(date, today)) return "Today";
    if (same(date, yesterday)) return "Yesterday";
    return date.toLocaleDateString(undefined, {
      weekday: "long",
      year: "numeric",
      month: "long",
      day: "numeric",
    });
  },
  newMessages: "New messages",
  /** @param {string} name */
  startOf: (name) => "This is the start of " + name + ".",
  loadingOlder: "Loading earlier messages…",
  /** @param {string} name */
  privateWith: (name) => "Private conversation with " + name,
  /** @param {number} unread @param {number} mentions */
  counts: (unread, mentions) =>
    (unread ? unread + " unread" : "") + (unread && mentions ? ", " : "") +
    (mentions ? mentions + (mentions === 1 ? " mention" : " mentions") : ""),
  notifyAsk: "Notify me",
  notifyOn: "Notifications on",
  notifyOff: "Notifications off",
  notifyDenied: "Notifications are blocked in this browser.",
  /** @param {string} from */
  notifyPrivate: (from) => from + " (private)",
  /** @param {string} from @param {string} room */
  notifyMention: (from, room) => from + " in " + room,
  /** @param {string} text @param {number} count @param {boolean} more */
  searchResults: (text, count, more) =>
    (count
      ? count + (more ? "+" : "") + " found for “" + text + "”"
      : "Nothing found for “" + text +
        "”") + ".",
  searchAbsent: "This server cannot search yet.",
  memberActions: {
    private: "Private message",
    whois: "Who is this?",
    op: "Make operator",
    deop: "Take operator",
    voice: "Give voice",
    devoice: "Take voice",
    kick: "Kick out of the room",
    ban: "Ban from the room",
    mute: "Mute in the room",
  },
  /** @param {string} name */
  memberMenu: (name) => "Actions for " + name,
  roleLabels: { founder: "founder", op: "operator", voice: "voiced" },
  /**
   * @param {string} name @param {string | null} room
   * @param {string | null | undefined} account undefined: not known (another server's member)
   */
  whois: (name, room, account) => {
    const where = name + " is " + (room ? "in " + room : "in no room");
    if (account === undefined) return where + ".";
    return where + (account === null ? ", not logged in." : ", logged in as " + account + ".");
  },
};

/**
 * A moderation notice to a room, as a sentence: "ann gave operator to bob", "ann kicked bob (spam)".
 * @param {string} by
 * @param {string} action
 * @param {string} [target]
 * @param {string} [reason]
 */
export function moderation(by, action, target, reason) {
  const whom = target ?? "";
  /** @type {Record<string, string>} */
  const verbs = {
    op: "gave operator to " + whom,
    deop: "took operator from " + whom,
    voice: "gave voice to " + whom,
    devoice: "took voice from " + whom,
    kick: "kicked " + whom,
    ban: "banned " + whom,
    unban: "unbanned " + whom,
    mute: "muted " + whom,
    unmute: "unmuted " + whom,
    invite: "invited " + whom,
    mode: "set modes " + whom,
    claim: "claimed the room",
    kill: "disconnected " + whom,
  };
  const what = verbs[action] ?? action + (whom ? " " + whom : "");
  return by + " " + what + (reason ? " (" + reason + ")" : "") + ".";
}

/**
 * @typedef {{ code: string, [field: string]: unknown }} ErrorEvent
 */

/**
 * What an error event says, for a person: by its code, with its own fields.
 * @param {ErrorEvent} error
 * @returns {string}
 */
export function errorText(error) {
  const field = (/** @type {string} */ key) => String(error[key] ?? "");
  switch (error.code) {
    case "badName":
      return field("reason") || "That name cannot be used.";
    case "nameTaken":
      return "The name " + field("name") + " is taken.";
    case "nameReserved":
      return "The name " + field("name") + " is reserved.";
    case "nameFirst":
      return "Choose a name first.";
    case "noNameInTime":
      return "No name was given in time.";
    case "nameLost":
      return "Your name " + field("name") +
        " was taken on another server while this one was cut off.";
    case "lineTooLong":
      return "Too long: at most " + field("max") + " bytes. It was not sent.";
    case "tooManyLongLines":
      return "Too many over-long lines.";
    case "tooFast":
      return "Too much too fast.";
    case "usage":
      return "Usage: " + field("usage");
    case "unknownCommand":
      return "There is no command " + field("command") + "; /help lists them.";
    case "noSuchMember":
      return "No one called " + field("name") + " is here.";
    case "noSuchRoom":
      return "There is no room " + field("room") + ".";
    case "thatIsYou":
      return "That is you.";
    case "topicTooLong":
      return "A topic is at most " + field("max") + " characters.";
    case "historyTooFast":
      return "Too much history lately; try again in " + field("seconds") + " s.";
    case "tooManyRooms":
      return "Too many rooms (at most " + field("max") + "); join one of the rooms listed.";
    case "tooManyJoined":
      return "You are in too many rooms (at most " + field("max") + "); leave one first.";
    case "tooManyRoomsFromAddress":
      return "Too many rooms made from your address (at most " + field("max") + ").";
    case "serverFull":
      return "The server is full; try again later.";
    case "tooManyFromAddress":
      return "Too many connections from your address; try again later.";
    case "connectingTooFast":
      return "Too many new connections from your address; try again in a minute.";
    case "nameRegistered":
      return "The name " + field("name") + " is registered to an account.";
    case "accountElsewhere":
      return field("name") +
        " is connected on another server; one account's connections share a server.";
    case "accountRequired":
      return "Only accounts may chat here, and " + field("name") + " is not one.";
    case "registrationClosed":
      return "Registration is closed here; ask an operator for an account.";
    case "alreadyLoggedIn":
      return "You are logged in as " + field("account") + " already.";
    case "notLoggedIn":
      return "You are not logged in.";
    case "noSuchAccount":
      return "There is no account " + field("name") + ".";
    case "badPassword":
      return field("reason") || "That password cannot be used.";
    case "wrongPassword":
      return "Wrong password for " + field("name") + ".";
    case "loginThrottled":
      return "Too many wrong passwords; try again in " + field("seconds") + " s.";
    case "registerThrottled":
      return "Too many accounts made from your address lately; try again in " + field("seconds") +
        " s.";
    case "loginBusy":
      return "Too many logins at once; try again in a moment.";
    case "notOperator":
      return "Only operators of " + field("room") + " may do that.";
    case "notServerOperator":
      return "You are not a server operator.";
    case "banned":
      return "You are banned from " + field("room") + ".";
    case "inviteOnly":
      return field("room") + " is invite-only.";
    case "badKey":
      return field("room") + " needs its key: /join " + field("room") + " KEY";
    case "roomFull":
      return field("room") + " is full (at most " + field("max") + " members).";
    case "moderated":
      return field("room") + " is moderated: only voiced members and operators speak.";
    case "muted":
      return "You are muted in " + field("room") + "; it was not sent.";
    case "badMask":
      return "That is no mask: " + field("mask");
    case "noSuchMask":
      return "No such ban or mute: " + field("mask");
    case "badMode":
      return "No such mode: " + field("mode");
    case "needsAccount":
      return field("name") + " is not logged in; roles belong to accounts.";
    case "notInRoom":
      return field("name") + " is not in " + field("room") + ".";
    case "roomHeld":
      return error.founder
        ? field("room") + " is held by " + field("founder") + " already."
        : field("room") + " cannot be claimed.";
    case "internal":
      return "Something went wrong on the server; it was logged.";
    case "klined": {
      // A server operator's ban (kline): the connection ends after this.
      const expires = error.expires === null || error.expires === undefined
        ? "for good"
        : "until " + new Date(Number(error.expires)).toLocaleString();
      return "You are banned from this server " + expires +
        (field("reason") ? ": " + field("reason") : "") + ".";
    }
    case "tooManyMasks":
      return field("room") + " keeps at most " + field("max") + " " + field("list") +
        "; lift some first.";
    case "moderationTooFast":
      return "Too many moderation actions at once; try again in " + field("seconds") + " s.";
    default:
      // badJson, unknownType, badRequest, tooBig: the page sent what the server did not take.
      return "The server refused that (" + error.code + ").";
  }
}
