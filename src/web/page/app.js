// @ts-check
/// <reference lib="dom" />
/**
 * The page's script: a browser client for the same rooms as `nc` and
 * `client.ts`. It speaks the JSON protocol over the WebSocket at `/ws`
 * (subprotocol `chat.v1.json`, one JSON object per frame; see docs/protocol.md)
 * and shows each event as what it is: chat lines with their names in colour,
 * joins and leaves as quiet lines, errors next to the input, the people and
 * rooms in the side panel.
 *
 * Every piece of text goes into the page as text (`textContent`), never as HTML;
 * the page has no inline script or style (the server's Content-Security-Policy
 * forbids both).
 *
 * @module
 */

import { nameColor } from "./color.js";
import { errorText, presence, say } from "./wording.js";

/** The WebSocket subprotocol the page speaks. */
const PROTOCOL = "chat.v1.json";

/**
 * The element with the id `id`, as the type the page's HTML gives it.
 * @template {HTMLElement} T
 * @param {string} id
 * @param {new () => T} type
 * @returns {T}
 */
function byId(id, type) {
  const node = document.getElementById(id);
  if (!(node instanceof type)) throw new Error(`#${id} is missing from the page`);
  return node;
}

const ui = {
  room: byId("room", HTMLElement),
  topic: byId("topic", HTMLElement),
  status: byId("status", HTMLElement),
  reconnect: byId("reconnect", HTMLButtonElement),
  sideToggle: byId("side-toggle", HTMLButtonElement),
  nameView: byId("name-view", HTMLElement),
  nameForm: byId("name-form", HTMLFormElement),
  nameInput: byId("name-input", HTMLInputElement),
  nameSubmit: byId("name-submit", HTMLButtonElement),
  nameError: byId("name-error", HTMLElement),
  nameLabel: byId("name-label", HTMLElement),
  nameHint: byId("name-hint", HTMLElement),
  chatView: byId("chat-view", HTMLElement),
  log: byId("log", HTMLOListElement),
  jump: byId("jump", HTMLButtonElement),
  form: byId("form", HTMLFormElement),
  input: byId("input", HTMLInputElement),
  inputError: byId("input-error", HTMLElement),
  side: byId("side", HTMLElement),
  members: byId("members", HTMLUListElement),
  membersTitle: byId("members-title", HTMLElement),
  rooms: byId("rooms", HTMLUListElement),
  roomsRefresh: byId("rooms-refresh", HTMLButtonElement),
  announce: byId("announce", HTMLElement),
  accountStatus: byId("account-status", HTMLElement),
  accountError: byId("account-error", HTMLElement),
  logout: byId("logout", HTMLButtonElement),
  accountForms: byId("account-forms", HTMLDetailsElement),
  registerForm: byId("register-form", HTMLFormElement),
  registerPassword: byId("register-password", HTMLInputElement),
  loginForm: byId("login-form", HTMLFormElement),
  loginName: byId("login-name", HTMLInputElement),
  loginPassword: byId("login-password", HTMLInputElement),
};
/** The name field's label, given back after a password question. */
const NAME_LABEL = ui.nameLabel.textContent ?? "";

/**
 * Reconnect delays: 1 s, 2 s, 4 s … 30 s at most, as the terminal client's.
 * @param {number} attempt
 */
const backoff = (attempt) => Math.min(1000 * Math.pow(2, attempt), 30000);
/** Lines kept in the page; older ones go. */
const MAX_LINES = 2000;
/** Ids of kept events remembered, to show none twice; older ones are forgotten. */
const MAX_IDS = 5000;
/** Requests whose replies are still told apart by their `ref`. */
const MAX_REFS = 200;
/** Own lines shown before the server confirmed them. */
const MAX_PENDING = 100;

// ---------------------------------------------------------------------------
// The protocol's events (docs/protocol.md), as the page reads them
// ---------------------------------------------------------------------------

/** @typedef {{ name: string, members: number, topic: string }} RoomInfo */
/** @typedef {{ id: string, type: "message" | "action", from: string, text: string, time: string }} Entry */
/** @typedef {import("./wording.js").PresenceGroup} PresenceGroup */
/**
 * @typedef {{ type: "greeting", maxLine: number, account?: string }
 *   | { type: "prompt" }
 *   | { type: "welcome", name: string, room: string, others: string[], count: number, topic: string,
 *       account?: string }
 *   | { type: "entered", room: string, others: string[], count: number, topic: string }
 *   | { type: "message" | "action", id?: string, room: string, from: string, text: string }
 *   | { type: "private", from: string, to: string, text: string }
 *   | { type: "presence", room: string, groups: PresenceGroup[] }
 *   | { type: "rename", old: string, name: string, self: boolean }
 *   | { type: "topic", room: string, topic: string, by: string }
 *   | { type: "who", room: string, names: string[], count: number, loggedIn?: string[] }
 *   | { type: "whois", name: string, room: string | null, account?: string | null }
 *   | { type: "passwordPrompt", name: string }
 *   | { type: "registered", name: string, persistent: boolean }
 *   | { type: "loggedIn" | "loggedOut" | "passwordChanged" | "unregistered", account: string }
 *   | { type: "rooms", rooms: RoomInfo[], count: number }
 *   | { type: "history", room: string, earlier: boolean, entries: Entry[], gap?: boolean }
 *   | { type: "noEarlier", room: string }
 *   | { type: "help", commands: { usage: string, summary: string }[] }
 *   | { type: "privateSent", to: string, text: string }
 *   | { type: "topicIs", room: string, topic: string }
 *   | { type: "alreadyIn", room: string }
 *   | { type: "alreadyNamed", name: string }
 *   | { type: "bye" }
 *   | { type: "shutdown", reason: string }
 *   | { type: "deleted", id: string, room: string, by: string }
 *   | { type: "sessionTicket", ticket: string }
 *   | { type: "error", code: string, [field: string]: unknown }} Body
 */
/** @typedef {Body & { time?: string, ref?: string }} ServerEvent */

/**
 * Why the page sent a request, so that its reply is shown or not: `quiet` ones
 * (the page's own /who and /rooms) only update the side panel.
 * (`account`: the account area's forms and button, whose errors are shown there.)
 * @typedef {"typed" | "quiet" | "hello" | "rejoin" | "password" | "account"} Purpose
 */

/** @typedef {{ kind: "message" | "action", room: string, text: string, ref: string, item: HTMLElement }} Pending */

const state = {
  /** @type {WebSocket | null} */
  ws: null,
  /** @type {"offline" | "naming" | "joined"} */
  phase: "offline",
  name: "", // the name the server welcomed us with
  account: "", // the account this connection is logged in to ("": a guest)
  wantName: "", // the name to say hello with
  greeted: false, // the server has greeted this connection, and waits for hello
  helloSent: false,
  /** The name whose password the name field asks for (the name is an account), or "". */
  passwordFor: "",
  home: "", // the room the server puts a new member in
  room: "", // the room we are in
  returnTo: "", // the room to go back to after a reconnect
  topic: "",
  maxLine: 4096,
  attempt: 0,
  /** @type {ReturnType<typeof setTimeout> | undefined} the next reconnect */
  timer: undefined,
  quit: false,
  /** @type {RoomInfo[]} */
  roomList: [],
  roomsMore: 0,
  /** @type {ReturnType<typeof setTimeout> | undefined} a /who soon */
  whoTimer: undefined,
  nextRef: 0,
  /** @type {Map<string, Purpose>} why each recent request was sent, by its ref */
  requests: new Map(),
  /** @type {Set<string>} ids of the kept events shown (or seen as one's own) */
  seenIds: new Set(),
  /** @type {Map<string, string>} the last id seen in each room (by its key), for `since` */
  lastId: new Map(),
  /** @type {Pending[]} own lines shown, not yet seen with their id */
  pending: [],
  /** A room whose replay is not shown: the home room's, when a reconnect goes back elsewhere. */
  skipReplay: "",
  /** @type {string[]} input history */
  sent: [],
  recall: -1,
  draft: "",
  unread: 0,
};

// ---------------------------------------------------------------------------
// Building lines (text only: textContent, never HTML)
// ---------------------------------------------------------------------------

/**
 * @param {string} tag
 * @param {string} [className]
 * @param {string} [text]
 * @returns {HTMLElement}
 */
function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/**
 * A name in its colour, or in the own-name style.
 * @param {string} name
 * @param {boolean} own
 */
function nameEl(name, own) {
  return el("span", own ? "name own-name" : "name c" + nameColor(name), name);
}

/** @param {number} n */
const pad = (n) => String(n).padStart(2, "0");
/** @param {Date} d */
const hhmm = (d) => pad(d.getHours()) + ":" + pad(d.getMinutes());
/** @param {Date} d */
const day = (d) => d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate());

/**
 * An event's time, or now when it has none (or not one a Date reads).
 * @param {string | undefined} time
 */
function when(time) {
  const date = time ? new Date(time) : new Date();
  return isNaN(date.getTime()) ? new Date() : date;
}

/**
 * @param {Date} time
 * @param {boolean} withDay
 */
function stamp(time, withDay) {
  const text = withDay && day(time) !== day(new Date()) ? day(time) + " " + hhmm(time) : hhmm(time);
  const node = document.createElement("time");
  node.className = "stamp";
  node.textContent = text;
  node.dateTime = time.toISOString();
  node.title = time.toLocaleString();
  return node;
}

function atBottom() {
  const log = ui.log;
  return log.scrollHeight - log.scrollTop - log.clientHeight < 48;
}

let stick = true; // the log follows new lines until the reader scrolls up

/**
 * @typedef {object} AppendOptions
 * @property {Date} [time]
 * @property {boolean} [history] a line from history: its day shown when not today
 * @property {boolean} [own] the user's own line: the log follows it
 * @property {string} [announce] what screen readers are told
 */

/**
 * Adds a line to the log.
 * @param {string} className
 * @param {(string | Node)[]} parts
 * @param {AppendOptions} [options]
 */
function append(className, parts, options) {
  const opts = options || {};
  const item = el("li", "line " + className);
  item.append(stamp(opts.time || new Date(), !!opts.history));
  const body = el("span", "body");
  for (const part of parts) {
    body.append(typeof part === "string" ? document.createTextNode(part) : part);
  }
  item.append(body);
  ui.log.append(item);
  while (ui.log.childElementCount > MAX_LINES) ui.log.firstElementChild?.remove();
  if (opts.own) stick = true;
  if (stick) ui.log.scrollTop = ui.log.scrollHeight;
  else ui.jump.hidden = false;
  if (opts.announce) announce(opts.announce);
  return item;
}

/** @param {string} text */
function announce(text) {
  ui.announce.append(el("p", "", text));
  while (ui.announce.childElementCount > 5) ui.announce.firstElementChild?.remove();
}

function countUnread() {
  if (document.hidden) {
    state.unread++;
    showTitle();
  }
}

function showTitle() {
  const where = state.room ? state.room + " — chat" : "chat";
  document.title = (state.unread ? "(" + state.unread + ") " : "") + where;
}

/**
 * Shows a room message or action.
 * @param {"message" | "action"} kind
 * @param {string} from
 * @param {string} text
 * @param {{ own?: boolean, time?: Date, history?: boolean }} [options]
 */
function showChat(kind, from, text, options = {}) {
  const own = !!options.own;
  const who = nameEl(from, own);
  const classes = kind + (own ? " own" : "") + (options.history ? " history" : "");
  const quiet = own || options.history;
  if (kind === "action") {
    return append(classes, ["* ", who, " ", text], {
      ...options,
      announce: quiet ? "" : "* " + from + " " + text,
    });
  }
  return append(classes, [who, ": ", el("span", "text", text)], {
    ...options,
    announce: quiet ? "" : from + ": " + text,
  });
}

/**
 * Shows a quiet line: something that happened, or an answer, not a chat line.
 * @param {string} text
 * @param {string} [className]
 * @param {Date} [time]
 */
function showNotice(text, className, time) {
  return append("notice " + (className || ""), [text], { time });
}

/**
 * Shows an error next to the input (and tells screen readers, as an alert).
 * @param {string} text
 */
function showInputError(text) {
  ui.inputError.textContent = text;
  ui.input.setAttribute("aria-invalid", "true");
}

function clearInputError() {
  ui.inputError.textContent = "";
  ui.input.removeAttribute("aria-invalid");
}

// ---------------------------------------------------------------------------
// The side panel: people in the room, the rooms
// ---------------------------------------------------------------------------

function showRoom() {
  ui.room.textContent = state.room || "chat";
  ui.topic.textContent = state.topic;
  ui.topic.hidden = !state.topic;
  ui.input.placeholder = state.room ? "Message " + state.room + ", or /help" : "";
  showTitle();
  for (const button of ui.rooms.querySelectorAll("button")) {
    if (sameRoom(button.dataset.room, state.room)) button.setAttribute("aria-current", "true");
    else button.removeAttribute("aria-current");
  }
}

/** @param {string} room */
const roomKey = (room) =>
  (room.startsWith("#") ? room.slice(1) : room).normalize("NFKC").toLowerCase();
/**
 * @param {string | undefined} a
 * @param {string | undefined} b
 */
const sameRoom = (a, b) => roomKey(a || "") === roomKey(b || "");

/**
 * @param {readonly string[]} names
 * @param {number} total
 * @param {readonly string[]} loggedIn those of `names` logged in to an account
 */
function showMembers(names, total, loggedIn) {
  const accounts = new Set(loggedIn);
  ui.membersTitle.textContent = "People (" + total + ")";
  const items = names.map((name) => {
    const item = el("li");
    const button = el("button", "member");
    button.setAttribute("type", "button");
    button.append(nameEl(name, false));
    if (accounts.has(name)) {
      const mark = el("span", "logged-in", say.loggedInMark);
      mark.title = say.loggedInLabel;
      mark.setAttribute("role", "img");
      mark.setAttribute("aria-label", say.loggedInLabel);
      button.append(mark);
    }
    if (name === state.name) button.append(el("span", "you", " (you)"));
    button.title = "Send " + name + " a private message";
    button.addEventListener("click", () => {
      ui.input.value = "/msg " + name + " ";
      closeSide();
      ui.input.focus();
    });
    item.append(button);
    return item;
  });
  if (total > names.length) items.push(el("li", "more", "and " + (total - names.length) + " more"));
  ui.members.replaceChildren(...items);
}

function showRooms() {
  // The home room is always there to go back to, listed or not (an empty room is not).
  if (state.home && !state.roomList.some((room) => sameRoom(room.name, state.home))) {
    state.roomList.push({ name: state.home, members: 0, topic: "" });
  }
  const items = state.roomList.map((room) => {
    const item = el("li");
    const button = el("button", "room-button");
    button.setAttribute("type", "button");
    button.dataset.room = room.name;
    button.append(
      el("span", "room-name", room.name),
      el("span", "count", " (" + room.members + ")"),
    );
    if (room.topic) button.append(el("span", "room-topic", room.topic));
    button.addEventListener("click", () => {
      closeSide();
      if (!sameRoom(room.name, state.room)) sendLine("/join " + room.name);
      ui.input.focus();
    });
    item.append(button);
    return item;
  });
  if (state.roomsMore) items.push(el("li", "more", say.moreRooms(state.roomsMore)));
  ui.rooms.replaceChildren(...items);
  showRoom();
}

/**
 * Asks the server something whose answer only updates the side panel.
 * @param {"who" | "rooms"} what
 */
function ask(what) {
  if (state.phase !== "joined") return;
  request({ type: "line", text: "/" + what }, "quiet");
}

/** Refreshes the people list a little after joins and leaves (one request for a burst). */
function whoSoon() {
  if (state.whoTimer) return;
  state.whoTimer = setTimeout(() => {
    state.whoTimer = undefined;
    ask("who");
  }, 500);
}

/** @param {boolean} open */
function openSide(open) {
  ui.side.classList.toggle("open", open);
  ui.sideToggle.setAttribute("aria-expanded", String(open));
}

function closeSide() {
  if (ui.side.classList.contains("open")) {
    openSide(false);
  }
}

// ---------------------------------------------------------------------------
// Events from the server
// ---------------------------------------------------------------------------

/**
 * Whether a reply answers something the user typed (or the server said it unasked),
 * rather than one of the page's own requests.
 * @param {ServerEvent} event
 */
const asked = (event) => !event.ref || state.requests.get(event.ref) !== "quiet";

/** @param {ServerEvent} event */
function onEvent(event) {
  const time = when(event.time);
  switch (event.type) {
    case "greeting":
      state.maxLine = event.maxLine;
      state.greeted = true;
      // The browser's login cookie names an account: its name logs in with no password.
      if (event.account && !state.wantName) state.wantName = event.account;
      if (state.wantName && !state.helloSent) return sendHello();
      return askName();
    case "prompt":
      state.greeted = true;
      endPassword();
      if (state.wantName && !state.helloSent) return sendHello();
      return askName();
    case "welcome":
      return onWelcome(event);
    case "passwordPrompt":
      return askPassword(event.name);
    case "entered":
      return onEntered(event.room, event.others, event.count, event.topic);
    case "message":
    case "action":
      return onChat(event, time);
    case "private":
      showPrivate(event.from, event.text, time);
      return countUnread();
    case "presence":
      showNotice(presence(event.groups), "presence", time);
      return whoSoon();
    case "rename":
      if (event.self) {
        state.name = event.name;
        state.wantName = event.name;
        setStatus("Connected as " + event.name);
        showNotice(say.renamedSelf(event.name), "rename", time);
      } else {
        showNotice(say.renamed(event.old, event.name), "rename", time);
      }
      return whoSoon();
    case "topic":
      if (sameRoom(event.room, state.room)) state.topic = event.topic;
      showRoom();
      showNotice(say.topicSet(event.by, event.topic), "topic", time);
      return;
    case "topicIs":
      if (sameRoom(event.room, state.room)) state.topic = event.topic;
      showRoom();
      showNotice(say.topicIs(event.room, event.topic), "topic", time);
      return;
    case "who":
      if (sameRoom(event.room, state.room)) {
        showMembers(event.names, event.count, event.loggedIn ?? []);
      }
      if (asked(event)) showNotice(say.who(event.room, event.names, event.count), "who", time);
      return;
    case "rooms":
      state.roomList = event.rooms.slice();
      state.roomsMore = Math.max(0, event.count - event.rooms.length);
      showRooms();
      if (asked(event)) showRoomList(event.rooms, event.count, time);
      return;
    case "history":
      // A private conversation's page (what waited while away): its lines, as private ones.
      if ("with" in event) {
        for (const entry of /** @type {Entry[]} */ (event.entries)) {
          if (entry.from !== state.name) showPrivate(entry.from, entry.text, when(entry.time));
        }
        return;
      }
      return onHistory(event);
    case "noEarlier":
      showNotice(say.noEarlier(event.room), "history-mark", time);
      return;
    case "help":
      showNotice(say.helpHeader, "help", time);
      for (const command of event.commands) {
        append("notice help-entry", [el("code", "usage", command.usage), " " + command.summary]);
      }
      return;
    case "privateSent":
      append("private own", [
        nameEl(state.name, true),
        " ",
        el("span", "badge", "(private)"),
        " → ",
        nameEl(event.to, false),
        ": ",
        el("span", "text", event.text),
      ], { own: true, time });
      return;
    case "alreadyIn":
      showNotice(say.alreadyIn(event.room), "", time);
      return;
    case "alreadyNamed":
      showNotice(say.alreadyNamed(event.name), "", time);
      return;
    case "whois":
      showNotice(say.whois(event.name, event.room, event.account), "who", time);
      return;
    case "registered":
      showNotice(say.registered(event.name, event.persistent), "", time);
      showAccount(event.name);
      return whoSoon();
    case "loggedIn":
      showNotice(say.loggedIn(event.account), "", time);
      showAccount(event.account);
      return whoSoon();
    case "loggedOut":
      showNotice(say.loggedOut(event.account), "", time);
      showAccount("");
      endSession();
      return whoSoon();
    case "sessionTicket":
      return keepSession(event.ticket);
    case "passwordChanged":
      showNotice(say.passwordChanged(event.account), "", time);
      return;
    case "unregistered":
      showNotice(say.unregistered(event.account), "", time);
      showAccount("");
      endSession();
      return whoSoon();
    case "bye":
      state.quit = true;
      return;
    case "shutdown":
      showNotice(say.shutdown(event.reason), "", time);
      return;
    case "error":
      return onError(event);
    case "deleted":
      return onDeleted(event);
    default:
      // A type from a newer server: nothing to show for it.
      return;
  }
}

/**
 * @param {string} from
 * @param {string} text
 * @param {Date} time
 */
function showPrivate(from, text, time) {
  append("private", [
    nameEl(from, false),
    " ",
    el("span", "badge", "(private)"),
    ": ",
    el("span", "text", text),
  ], { time, announce: "private from " + from + ": " + text });
}

/**
 * @param {readonly RoomInfo[]} rooms
 * @param {number} count
 * @param {Date} time
 */
function showRoomList(rooms, count, time) {
  showNotice(say.rooms(count), "rooms-entry", time);
  for (const room of rooms) {
    showNotice(say.room(room.name, room.members, room.topic), "rooms-entry", time);
  }
  if (count > rooms.length) showNotice(say.moreRooms(count - rooms.length), "rooms-entry", time);
}

/** @param {Extract<ServerEvent, { type: "welcome" }>} event */
function onWelcome(event) {
  endPassword();
  state.phase = "joined";
  state.helloSent = false;
  state.name = event.name;
  state.wantName = event.name;
  state.attempt = 0;
  showAccount(event.account ?? "");
  state.home = event.room;
  state.room = event.room;
  state.topic = event.topic;
  ui.nameView.hidden = true;
  ui.nameError.textContent = "";
  ui.nameInput.removeAttribute("aria-invalid");
  ui.chatView.hidden = false;
  ui.sideToggle.hidden = false;
  setStatus("Connected as " + event.name);
  showRoom();
  ui.input.focus();
  const returnTo = state.returnTo;
  state.returnTo = "";
  if (returnTo && !sameRoom(returnTo, event.room)) {
    // Back to where the page was: the home room's replay is not what the reader left.
    state.skipReplay = event.room;
    request({ type: "line", text: "/join " + returnTo }, "rejoin");
    return;
  }
  showNotice(say.welcome(event.room, event.others, event.count), "hello", when(event.time));
  ask("who");
  ask("rooms");
}

/**
 * Now in `room` (after a /join, or going back there after a reconnect).
 * @param {string} room
 * @param {readonly string[]} others
 * @param {number} count
 * @param {string} topic
 */
function onEntered(room, others, count, topic) {
  state.room = room;
  state.topic = topic;
  state.skipReplay = "";
  ui.members.replaceChildren();
  showRoom();
  showNotice(say.entered(room, others, count), "room-change");
  ask("who");
  ask("rooms");
}

/**
 * Remembers the id of a kept event as seen; false if it was seen already.
 * @param {string} id
 * @param {string} room
 * @param {boolean} latest it is the newest seen in its room (not from an earlier page)
 */
function see(id, room, latest) {
  if (latest) state.lastId.set(roomKey(room), id);
  if (state.seenIds.has(id)) return false;
  state.seenIds.add(id);
  if (state.seenIds.size > MAX_IDS) {
    const oldest = state.seenIds.values().next().value;
    if (oldest !== undefined) state.seenIds.delete(oldest);
  }
  return true;
}

/**
 * The own line shown before the server confirmed it that `event` is, taken off the
 * pending list; found by the request's ref (the server's echo), or by its words (a line
 * whose echo was lost with the connection comes back in the replay instead).
 * @param {{ ref?: string, type: string, from: string, text: string }} event
 * @param {string} room
 * @returns {Pending | undefined}
 */
function takePending(event, room) {
  if (event.from !== state.name) return undefined;
  let index = event.ref ? state.pending.findIndex((own) => own.ref === event.ref) : -1;
  if (index === -1) {
    index = state.pending.findIndex((own) =>
      own.kind === event.type && own.text === event.text && sameRoom(own.room, room)
    );
  }
  return index === -1 ? undefined : state.pending.splice(index, 1)[0];
}

/**
 * A room message or action, live.
 * @param {Extract<ServerEvent, { type: "message" | "action" }>} event
 * @param {Date} time
 */
function onChat(event, time) {
  if (event.id !== undefined && !see(event.id, event.room, true)) return;
  const own = takePending(event, event.room);
  if (own) {
    if (event.id !== undefined) own.item.dataset.id = event.id;
    return;
  }
  const item = showChat(event.type, event.from, event.text, {
    own: event.from === state.name,
    time,
  });
  if (event.id !== undefined) item.dataset.id = event.id;
  if (event.from !== state.name) countUnread();
}

/**
 * A page of history: a replay (on hello or /join) shows only what was not seen; a page
 * asked for with /history (`earlier`) shows all of it, as asked.
 * @param {Extract<ServerEvent, { type: "history" }>} event
 */
function onHistory(event) {
  if (!event.earlier && state.skipReplay && sameRoom(event.room, state.skipReplay)) return;
  /** @type {Entry[]} */
  const fresh = [];
  for (const entry of event.entries) {
    const unseen = see(entry.id, event.room, !event.earlier);
    if (event.earlier) {
      fresh.push(entry);
      continue;
    }
    if (!unseen) continue;
    const own = takePending({ type: entry.type, from: entry.from, text: entry.text }, event.room);
    if (own) own.item.dataset.id = entry.id;
    else fresh.push(entry);
  }
  if (event.gap) showNotice(say.gap, "history-mark gap", when(event.time));
  if (fresh.length === 0) return;
  const mark = event.earlier ? say.earlier(event.room) : say.recent(event.room);
  showNotice(mark, "history-mark", when(event.time));
  for (const entry of fresh) {
    const item = showChat(entry.type, entry.from, entry.text, {
      own: entry.from === state.name,
      time: when(entry.time),
      history: true,
    });
    item.dataset.id = entry.id;
  }
}

/**
 * A kept message was deleted (by its author or an operator): its line goes, wherever
 * it is shown (a line already seen cannot be unseen, but it is not left on the page).
 * @param {Extract<ServerEvent, { type: "deleted" }>} event
 */
function onDeleted(event) {
  if (!/^[0-9a-z]{1,32}$/.test(event.id)) return;
  for (const item of ui.log.querySelectorAll(`[data-id="${event.id}"]`)) item.remove();
}

/** @param {Extract<ServerEvent, { type: "error" }>} event */
function onError(event) {
  const text = errorText(event);
  if (state.phase !== "joined") {
    // About the name (or why the server will not have this connection): asked again.
    state.helloSent = false;
    state.wantName = "";
    ui.nameError.textContent = text;
    if (state.greeted) ui.nameInput.setAttribute("aria-invalid", "true");
    enableNameForm();
    return;
  }
  if (event.ref && state.requests.get(event.ref) === "rejoin") {
    // Not back in the room the page was in: it is where the welcome put it.
    state.skipReplay = "";
    ask("who");
    ask("rooms");
  }
  if (event.ref && state.requests.get(event.ref) === "account") {
    // About the account area's form: said there.
    ui.accountError.textContent = text;
    return;
  }
  const own = event.ref ? state.pending.findIndex((line) => line.ref === event.ref) : -1;
  if (own !== -1) {
    // A line shown as sent that the server refused.
    const line = state.pending.splice(own, 1)[0];
    line.item.classList.add("unsent");
    line.item.title = text;
  }
  showInputError(text);
}

// ---------------------------------------------------------------------------
// The name
// ---------------------------------------------------------------------------

function enableNameForm() {
  ui.nameInput.disabled = false;
  ui.nameSubmit.disabled = false;
}

function askName() {
  state.wantName = "";
  ui.chatView.hidden = state.name === "";
  ui.nameView.hidden = false;
  enableNameForm();
  if (!ui.nameInput.value && state.name) ui.nameInput.value = state.name;
  ui.nameInput.focus();
  ui.nameInput.select();
  setStatus(state.ws ? "Connected" : "");
}

/**
 * The name is an account: the name field asks for its password (hidden), under the
 * question; what was said about a wrong one stays until the next is sent.
 * @param {string} name
 */
function askPassword(name) {
  state.passwordFor = name;
  state.helloSent = false;
  ui.nameLabel.textContent = say.passwordFor(name);
  ui.nameInput.type = "password";
  ui.nameInput.autocomplete = "current-password";
  ui.nameInput.value = "";
  ui.nameHint.hidden = true;
  ui.chatView.hidden = state.name === "";
  ui.nameView.hidden = false;
  enableNameForm();
  ui.nameInput.focus();
}

/** The name field asks for a name again (after a password question). */
function endPassword() {
  if (!state.passwordFor) return;
  state.passwordFor = "";
  ui.nameLabel.textContent = NAME_LABEL;
  ui.nameInput.type = "text";
  ui.nameInput.autocomplete = "off";
  ui.nameInput.value = "";
  ui.nameHint.hidden = false;
}

function sendHello() {
  state.helloSent = true;
  ui.nameInput.disabled = true;
  ui.nameSubmit.disabled = true;
  /** @type {{ type: "hello", name: string, since?: string }} */
  const hello = { type: "hello", name: state.wantName };
  // Back in the home room: only what was said there since the last line seen.
  const home = state.home && (!state.returnTo || sameRoom(state.returnTo, state.home));
  const since = home ? state.lastId.get(roomKey(state.home)) : undefined;
  if (since !== undefined) hello.since = since;
  request(hello, "hello");
}

// ---------------------------------------------------------------------------
// The account
// ---------------------------------------------------------------------------

/**
 * The account area as it is now: logged in to `account` (a log-out button), or a guest
 * (register the name held; log in to an account).
 * @param {string} account
 */
function showAccount(account) {
  state.account = account;
  ui.accountStatus.textContent = account ? say.accountIs(account) : say.accountNone;
  ui.logout.hidden = !account;
  ui.accountForms.hidden = Boolean(account);
  if (account) ui.accountForms.open = false;
  ui.accountError.textContent = "";
}

/**
 * Trades a login's one-time ticket for the browser's login cookie (set by the server,
 * HttpOnly: this script never sees it). No password is ever kept by the page.
 * @param {string} ticket
 */
function keepSession(ticket) {
  fetch("/session", {
    method: "POST",
    headers: { "X-Chat-Ticket": ticket },
    credentials: "same-origin",
  }).then((response) => {
    if (!response.ok) throw new Error("status " + response.status);
  }).catch(() => showNotice(say.sessionFailed, "local"));
}

/** Ends the browser's login (the server clears its cookie); a reload asks the password again. */
function endSession() {
  fetch("/session", { method: "DELETE", credentials: "same-origin" }).catch(() => {});
}

/**
 * Sends an account command from the account area (never kept in the input's history).
 * @param {string} text
 */
function accountLine(text) {
  if (state.phase !== "joined" || !state.ws || state.ws.readyState !== WebSocket.OPEN) {
    ui.accountError.textContent = say.notConnected;
    return false;
  }
  ui.accountError.textContent = "";
  request({ type: "line", text }, "account");
  return true;
}

// ---------------------------------------------------------------------------
// The connection
// ---------------------------------------------------------------------------

/** @param {string} text */
function setStatus(text) {
  ui.status.textContent = text;
}

/**
 * Sends a request with a fresh ref, remembered with why it was sent.
 * @param {{ type: "hello", name: string, since?: string } | { type: "line", text: string }
 *   | { type: "password", password: string }} body
 * @param {Purpose} purpose
 * @returns {string} the ref
 */
function request(body, purpose) {
  const ref = "r" + ++state.nextRef;
  state.requests.set(ref, purpose);
  if (state.requests.size > MAX_REFS) {
    const oldest = state.requests.keys().next().value;
    if (oldest !== undefined) state.requests.delete(oldest);
  }
  state.ws?.send(JSON.stringify({ ...body, ref }));
  return ref;
}

/**
 * An event from a frame, or null for a frame that is not a JSON object with a type.
 * @param {unknown} data
 * @returns {ServerEvent | null}
 */
function readEvent(data) {
  if (typeof data !== "string") return null;
  try {
    const event = JSON.parse(data);
    return event && typeof event === "object" && typeof event.type === "string" ? event : null;
  } catch {
    return null;
  }
}

function connect() {
  clearTimeout(state.timer);
  ui.reconnect.hidden = true;
  state.quit = false;
  setStatus("Connecting…");
  const url = new URL("/ws", location.href);
  url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
  /** @type {WebSocket} */
  let ws;
  try {
    ws = new WebSocket(url.href, PROTOCOL);
  } catch {
    return scheduleReconnect();
  }
  state.ws = ws;
  state.phase = "naming";
  state.greeted = false;
  state.helloSent = false;
  endPassword();
  state.skipReplay = "";
  ws.addEventListener("open", () => {
    if (ws === state.ws) {
      setStatus(state.name ? "Connected; joining as " + state.name + "…" : "Connected");
    }
  });
  ws.addEventListener("message", (message) => {
    if (ws !== state.ws) return;
    const event = readEvent(message.data);
    if (event) onEvent(event);
  });
  ws.addEventListener("close", () => {
    if (ws !== state.ws) return;
    state.ws = null;
    const wasIn = state.phase === "joined";
    state.phase = "offline";
    if (wasIn) {
      state.returnTo = state.room;
      showNotice(say.disconnected, "local");
    }
    if (state.quit) {
      // Out of the chat: no one listed, not even "(you)", and no rooms.
      ui.members.replaceChildren();
      ui.membersTitle.textContent = "People";
      state.roomList = [];
      state.roomsMore = 0;
      ui.rooms.replaceChildren();
      setStatus("You left the chat.");
      ui.reconnect.textContent = "Join again";
      ui.reconnect.hidden = false;
      return;
    }
    if (!state.wantName) {
      // No name to join with (say, the server's name timeout): wait for one.
      setStatus("Disconnected; choosing a name connects again");
      enableNameForm();
      return;
    }
    scheduleReconnect();
  });
}

function scheduleReconnect() {
  const delay = backoff(state.attempt++);
  // Said once per attempt, not counted down: the status is read out by screen readers.
  setStatus("Disconnected; reconnecting in " + delay / 1000 + " s");
  ui.reconnect.textContent = "Reconnect now";
  ui.reconnect.hidden = false;
  state.timer = setTimeout(connect, delay);
}

// ---------------------------------------------------------------------------
// Sending
// ---------------------------------------------------------------------------

const encoder = new TextEncoder();
/** @param {string} text */
const squeeze = (text) => text.replace(/\s+/gu, " ").trim();

/**
 * What a line you typed shows in the room once sent, or null when the server's answer
 * shows it (a command).
 * @param {string} input
 * @returns {{ kind: "message" | "action", text: string } | null}
 */
function ownLine(input) {
  if (input.startsWith("//")) return { kind: "message", text: squeeze(input.slice(1)) };
  if (!input.startsWith("/")) return { kind: "message", text: squeeze(input) };
  const match = /^\/(\S+)\s*(.*)$/su.exec(input);
  if (match && match[1].toLowerCase() === "me" && match[2].trim()) {
    return { kind: "action", text: squeeze(match[2]) };
  }
  return null;
}

/**
 * Sends a line as typed; false when it was not sent (and the input says why).
 * @param {string} text
 */
function sendLine(text) {
  if (!text.trim()) return false;
  const bytes = encoder.encode(text).length;
  if (bytes > state.maxLine) {
    showInputError(say.tooLongHere(bytes, state.maxLine));
    return false;
  }
  if (state.phase !== "joined" || !state.ws || state.ws.readyState !== WebSocket.OPEN) {
    showInputError(say.notConnected);
    return false;
  }
  clearInputError();
  const ref = request({ type: "line", text }, "typed");
  const own = ownLine(text);
  if (own) {
    const item = showChat(own.kind, state.name, own.text, { own: true });
    state.pending.push({ ...own, room: state.room, ref, item });
    if (state.pending.length > MAX_PENDING) state.pending.shift();
  }
  return true;
}

ui.form.addEventListener("submit", (event) => {
  event.preventDefault();
  const text = ui.input.value;
  if (!sendLine(text)) return;
  if (state.sent[state.sent.length - 1] !== text) state.sent.push(text);
  if (state.sent.length > 200) state.sent.shift();
  state.recall = -1;
  state.draft = "";
  ui.input.value = "";
});

ui.input.addEventListener("keydown", (event) => {
  if (event.key !== "ArrowUp" && event.key !== "ArrowDown") return;
  if (event.altKey || event.ctrlKey || event.metaKey || event.shiftKey || event.isComposing) {
    return;
  }
  const sent = state.sent;
  if (!sent.length) return;
  event.preventDefault();
  if (state.recall === -1) {
    if (event.key === "ArrowDown") return;
    state.draft = ui.input.value;
    state.recall = sent.length - 1;
  } else if (event.key === "ArrowUp") {
    state.recall = Math.max(0, state.recall - 1);
  } else if (state.recall === sent.length - 1) {
    state.recall = -1;
  } else {
    state.recall++;
  }
  ui.input.value = state.recall === -1 ? state.draft : sent[state.recall];
  const end = ui.input.value.length;
  ui.input.setSelectionRange(end, end);
});

ui.nameForm.addEventListener("submit", (event) => {
  event.preventDefault();
  if (state.passwordFor) {
    // The answer to the password question: sent as a password, never as a line.
    const password = ui.nameInput.value;
    if (!password || !state.ws || state.ws.readyState !== WebSocket.OPEN) return;
    ui.nameError.textContent = "";
    ui.nameInput.removeAttribute("aria-invalid");
    ui.nameInput.value = "";
    ui.nameInput.disabled = true;
    ui.nameSubmit.disabled = true;
    request({ type: "password", password }, "password");
    return;
  }
  const name = ui.nameInput.value.trim();
  if (!name) return;
  ui.nameError.textContent = "";
  ui.nameInput.removeAttribute("aria-invalid");
  state.wantName = name;
  state.helloSent = false;
  if (state.greeted && state.ws && state.ws.readyState === WebSocket.OPEN) sendHello();
  else if (!state.ws) connect(); // once greeted, the page says hello
});

ui.reconnect.addEventListener("click", () => {
  state.attempt = 0;
  connect();
});

ui.sideToggle.addEventListener("click", () => {
  const open = !ui.side.classList.contains("open");
  openSide(open);
  if (open) {
    ask("rooms");
    ui.side.querySelector("button")?.focus();
  }
});

ui.side.addEventListener("keydown", (event) => {
  if (event.key === "Escape" && ui.side.classList.contains("open")) {
    openSide(false);
    ui.sideToggle.focus();
  }
});

ui.roomsRefresh.addEventListener("click", () => ask("rooms"));

ui.logout.addEventListener("click", () => {
  accountLine("/logout");
});

ui.registerForm.addEventListener("submit", (event) => {
  event.preventDefault();
  const password = ui.registerPassword.value;
  if (!password) return;
  if (accountLine("/register " + password)) ui.registerPassword.value = "";
});

ui.loginForm.addEventListener("submit", (event) => {
  event.preventDefault();
  const name = ui.loginName.value.trim();
  const password = ui.loginPassword.value;
  if (!name || !password || /\s/.test(name)) return;
  if (accountLine("/login " + name + " " + password)) ui.loginPassword.value = "";
});

ui.log.addEventListener("scroll", () => {
  stick = atBottom();
  if (stick) ui.jump.hidden = true;
});

ui.jump.addEventListener("click", () => {
  stick = true;
  ui.log.scrollTop = ui.log.scrollHeight;
  ui.jump.hidden = true;
  ui.input.focus();
});

document.addEventListener("visibilitychange", () => {
  if (!document.hidden) {
    state.unread = 0;
    showTitle();
  }
});

globalThis.addEventListener("resize", () => {
  if (stick) ui.log.scrollTop = ui.log.scrollHeight;
});

ui.nameInput.focus();
connect();
