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
 * Conversations: each room one is in (several, where the server takes `join`)
 * and each private conversation is a pane of its own (the list on the left),
 * with unread and mention counts. A pane
 * keeps its lines as built nodes in memory (at most {@linkcode MAX_RECS}) but
 * only a window of them is in the document ({@linkcode WINDOW} while it follows
 * the end, at most {@linkcode MAX_DOM} while the reader scrolls), so a
 * 10,000-line pane costs no more to show or to add to than a short one.
 *
 * Every piece of text goes into the page as text (`textContent`), never as HTML;
 * the page has no inline script or style (the server's Content-Security-Policy
 * forbids both).
 *
 * @module
 */

import { nameColor } from "./color.js";
import { errorText, moderation, presence, say } from "./wording.js";

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
  notify: byId("notify", HTMLButtonElement),
  sideToggle: byId("side-toggle", HTMLButtonElement),
  nameView: byId("name-view", HTMLElement),
  nameForm: byId("name-form", HTMLFormElement),
  nameInput: byId("name-input", HTMLInputElement),
  nameSubmit: byId("name-submit", HTMLButtonElement),
  nameError: byId("name-error", HTMLElement),
  nameLabel: byId("name-label", HTMLElement),
  nameHint: byId("name-hint", HTMLElement),
  chatView: byId("chat-view", HTMLElement),
  convs: byId("convs", HTMLUListElement),
  log: byId("log", HTMLOListElement),
  jump: byId("jump", HTMLButtonElement),
  form: byId("form", HTMLFormElement),
  input: byId("input", HTMLInputElement),
  inputError: byId("input-error", HTMLElement),
  side: byId("side", HTMLElement),
  members: byId("members", HTMLUListElement),
  membersTitle: byId("members-title", HTMLElement),
  memberMenu: byId("member-menu", HTMLElement),
  rooms: byId("rooms", HTMLUListElement),
  roomsRefresh: byId("rooms-refresh", HTMLButtonElement),
  joinForm: byId("join-form", HTMLFormElement),
  joinName: byId("join-name", HTMLInputElement),
  searchForm: byId("search-form", HTMLFormElement),
  searchText: byId("search-text", HTMLInputElement),
  searchStatus: byId("search-status", HTMLElement),
  searchResults: byId("search-results", HTMLUListElement),
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
/** Lines kept per pane (as nodes, out of the document but the window); older ones go. */
const MAX_RECS = 12000;
/** Lines in the document while the pane follows its end. */
const WINDOW = 150;
/** Lines in the document at most while the reader scrolls through a pane. */
const MAX_DOM = 450;
/** Lines added to the document at once when the reader scrolls near an edge of the window. */
const BATCH = 100;
/** Panes kept: rooms one has left (to come back to) and private conversations. */
const MAX_PANES = 60;
/** History entries asked for per page when scrolling up. */
const PAGE = 50;
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
/**
 * @typedef {{ id: string, type?: "message" | "action" | "private", from: string, to?: string,
 *   text: string, time: string }} Entry
 */
/** @typedef {import("./wording.js").PresenceGroup} PresenceGroup */
/**
 * @typedef {{ type: "greeting", maxLine: number, account?: string }
 *   | { type: "prompt" }
 *   | { type: "welcome", name: string, room: string, others: string[], count: number, topic: string,
 *       account?: string }
 *   | { type: "entered", room: string, others: string[], count: number, topic: string }
 *   | { type: "message" | "action", id?: string, room: string, from: string, text: string }
 *   | { type: "private", id?: string, from: string, to: string, text: string }
 *   | { type: "presence", room: string, groups: PresenceGroup[] }
 *   | { type: "rename", old: string, name: string, self: boolean }
 *   | { type: "topic", room: string, topic: string, by: string }
 *   | { type: "who", room: string, names: string[], count: number, loggedIn?: string[] }
 *   | { type: "whois", name: string, room: string | null, account?: string | null }
 *   | { type: "passwordPrompt", name: string }
 *   | { type: "registered", name: string, persistent: boolean }
 *   | { type: "loggedIn" | "loggedOut" | "passwordChanged" | "unregistered", account: string }
 *   | { type: "rooms", rooms: RoomInfo[], count: number }
 *   | { type: "history", room?: string, with?: string, earlier: boolean, entries: Entry[],
 *       gap?: boolean, more?: boolean, away?: boolean }
 *   | { type: "noEarlier", room: string }
 *   | { type: "help", commands: { usage: string, summary: string }[] }
 *   | { type: "privateSent", id?: string, to: string, text: string }
 *   | { type: "topicIs", room: string, topic: string }
 *   | { type: "alreadyIn", room: string }
 *   | { type: "parted" | "focused", room: string }
 *   | { type: "alreadyNamed", name: string }
 *   | { type: "moderation", room: string, by: string, action: string, target?: string,
 *       reason?: string }
 *   | { type: "kicked", room: string, by: string, reason?: string }
 *   | { type: "invited", room: string, by: string }
 *   | { type: "modes", room: string, modes: string, founder: string | null, ops: string[],
 *       voices: string[] }
 *   | { type: "bans", room: string, list: string, masks: { mask: string, by: string }[] }
 *   | { type: "killed", by: string, reason?: string }
 *   | { type: "announcement", by: string, text: string }
 *   | { type: "conversations", list: { with: string, last?: Entry }[] }
 *   | { type: "heldForLater", to: string, id?: string, text?: string }
 *   | { type: "readMarker", room?: string, with?: string, id: string }
 *   | { type: "searchResults", text: string, more?: boolean,
 *       results: (Entry & { room?: string, with?: string })[] }
 *   | { type: "deleted", id: string, room?: string, with?: string, by?: string }
 *   | { type: "bye" }
 *   | { type: "shutdown", reason: string }
 *   | { type: "sessionTicket", ticket: string }
 *   | { type: "error", code: string, [field: string]: unknown }} Body
 */
/** @typedef {Body & { time?: string, ref?: string }} ServerEvent */

/**
 * Why the page sent a request, so that its reply is shown or not: `quiet` ones
 * (the page's own /who, /rooms and /mode) only update the side panel; `older` asks
 * for an earlier page of a pane's history (scrolling up); `markRead` and `search`
 * use requests a server may not know yet (`unknownType`: the feature is absent).
 * (`account`: the account area's forms and button, whose errors are shown there.)
 * @typedef {"typed" | "quiet" | "hello" | "rejoin" | "password" | "account" | "older"
 *   | "olderText" | "markRead" | "search" | "join" | "focus" | "part"} Purpose
 */

/** @typedef {{ kind: "message" | "action", room: string, text: string, ref: string, item: HTMLElement }} Pending */

/**
 * A line of a pane: its node (built once), what goes before it in the document
 * (a day separator, the new-messages line) and its kept event's id.
 * @typedef {{ node: HTMLElement, first: ChildNode | null, id?: string, day: string,
 *   time: Date, chat: boolean }} Rec
 */

/**
 * A conversation: a room (`kind` "room") or a private conversation with `name`.
 * @typedef {{ key: string, kind: "room" | "private", name: string, recs: Rec[],
 *   ids: Set<string>, start: number, end: number, stick: boolean, scrollTop: number,
 *   unread: number, mentions: number, firstUnread: Rec | null, marker: Rec | null,
 *   readId: string, sentReadId: string, more: boolean, loading: boolean, tries: number,
 *   topic: string, joined: boolean }} Pane
 */

/** What the server is known to answer (`undefined`: not asked yet). */
const features = {
  /** @type {boolean | undefined} JSON `history` with `before` */
  history: undefined,
  /** @type {boolean | undefined} `markRead` */
  markRead: undefined,
  /** @type {boolean | undefined} `search` */
  search: undefined,
  /** @type {boolean | undefined} `join`, `part`, `focus`: several rooms at once */
  join: undefined,
};

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
  /** @type {Map<string, Pane>} the pane each `older` request is for, by its ref */
  olderFor: new Map(),
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
  /** @type {Map<string, Pane>} the panes by key */
  panes: new Map(),
  /** @type {Pane | null} the pane shown */
  active: null,
  /** @type {string[]} the people in the room, as the last /who listed them */
  members: [],
  /** The room's roles (account names, lower case), from the last `modes`. */
  roles: { room: "", founder: "", ops: new Set(), voices: new Set() },
  /** @type {string[]} commands Tab completes */
  commands: ["/help"], // the rest from the server's /help, asked quietly at the welcome
  /** @type {{ start: number, matches: string[], index: number, suffix: string } | null} */
  completion: null,
  notify: false,
  /** @type {ReturnType<typeof setTimeout> | undefined} a markRead soon */
  readTimer: undefined,
  /** @type {Map<string, string>} the room each `join` request asked for, by its ref */
  joinFor: new Map(),
  /** What a kick said, for the pane of the room it puts you in. */
  kickNote: "",
  /**
   * @type {Map<string, string>} the words of each recent typed `/msg`, by its ref: a message
   * held for an account's next login is answered by `heldForLater` alone, without them
   */
  msgWords: new Map(),
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
 * @param {string} text
 * @param {string} [className]
 */
function button(text, className) {
  const node = el("button", className, text);
  node.setAttribute("type", "button");
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

/** A web address in a line: http or https only, up to whitespace or what cannot end one. */
const LINK = /\bhttps?:\/\/[^\s<>"]+/giu;

/**
 * A chat line's text as nodes: web addresses (http and https only) become links that
 * open apart (`noopener noreferrer`); nothing is fetched for them.
 * @param {string} text
 * @returns {HTMLElement}
 */
function textEl(text) {
  const node = el("span", "text");
  let at = 0;
  for (const match of text.matchAll(LINK)) {
    let href = match[0];
    // Punctuation ending a sentence is not part of the address; a ")" is when "(" is in it.
    while (/[.,;:!?'»”]$/u.test(href) || (href.endsWith(")") && !href.includes("("))) {
      href = href.slice(0, -1);
    }
    const index = match.index ?? 0;
    let url;
    try {
      url = new URL(href);
    } catch {
      continue;
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") continue;
    if (index > at) node.append(text.slice(at, index));
    const link = el("a", "link", href);
    link.setAttribute("href", url.href);
    link.setAttribute("target", "_blank");
    link.setAttribute("rel", "noopener noreferrer");
    node.append(link);
    at = index + href.length;
  }
  if (at === 0) node.textContent = text;
  else if (at < text.length) node.append(text.slice(at));
  return node;
}

/** @type {{ name: string, pattern: RegExp | null }} */
const mentionCache = { name: "", pattern: null };

/**
 * Whether `text` names the user (as a whole word, any case).
 * @param {string} text
 */
function mentions(text) {
  if (!state.name) return false;
  if (mentionCache.name !== state.name) {
    const escaped = state.name.replace(/[.*+?^${}()|[\]\\-]/g, "\\$&");
    mentionCache.name = state.name;
    mentionCache.pattern = new RegExp(
      "(?<![\\p{L}\\p{N}_])" + escaped + "(?![\\p{L}\\p{N}_])",
      "iu",
    );
  }
  return mentionCache.pattern?.test(text) ?? false;
}

/** @param {number} n */
const pad = (n) => String(n).padStart(2, "0");
/** @param {Date} d */
const hhmm = (d) => pad(d.getHours()) + ":" + pad(d.getMinutes());
/** @param {Date} d */
const dayOf = (d) => d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate());

/**
 * An event's time, or now when it has none (or not one a Date reads).
 * @param {string | undefined} time
 */
function when(time) {
  const date = time ? new Date(time) : new Date();
  return isNaN(date.getTime()) ? new Date() : date;
}

/** @param {Date} time */
function stamp(time) {
  const node = document.createElement("time");
  node.className = "stamp";
  node.textContent = hhmm(time);
  node.dateTime = time.toISOString();
  node.title = time.toLocaleString();
  return node;
}

// ---------------------------------------------------------------------------
// Panes: each conversation's lines, a window of them in the document
// ---------------------------------------------------------------------------

/** @param {string} room */
const roomKey = (room) =>
  (room.startsWith("#") ? room.slice(1) : room).normalize("NFKC").toLowerCase();
/**
 * @param {string | undefined} a
 * @param {string | undefined} b
 */
const sameRoom = (a, b) => roomKey(a || "") === roomKey(b || "");
/** @param {string} name */
const nameKey = (name) => name.normalize("NFKC").toLowerCase();

/**
 * The pane of a room or of a private conversation, made if need be.
 * @param {"room" | "private"} kind
 * @param {string} name
 * @returns {Pane}
 */
function paneOf(kind, name) {
  const key = kind === "room" ? "#" + roomKey(name) : "@" + nameKey(name);
  let pane = state.panes.get(key);
  if (pane) return pane;
  pane = {
    key,
    kind,
    name,
    recs: [],
    ids: new Set(),
    start: 0,
    end: 0,
    stick: true,
    scrollTop: 0,
    unread: 0,
    mentions: 0,
    firstUnread: null,
    marker: null,
    readId: "",
    sentReadId: "",
    more: true,
    loading: false,
    tries: 0,
    topic: "",
    joined: false,
  };
  state.panes.set(key, pane);
  if (state.panes.size > MAX_PANES) {
    // The oldest pane one is not in and not looking at goes.
    for (const old of state.panes.values()) {
      if (old !== state.active && !old.joined && old !== pane) {
        state.panes.delete(old.key);
        break;
      }
    }
  }
  showConversations();
  return pane;
}

/** The pane notices go to: the one shown (a room's, before any is). */
function here() {
  return state.active ?? show(paneOf("room", state.room || "chat"));
}

/** @param {Pane} pane */
const isLive = (pane) => pane === state.active && pane.end === pane.recs.length;

function atBottom() {
  const log = ui.log;
  return log.scrollHeight - log.scrollTop - log.clientHeight < 48;
}

let followQueued = false;
/** Scrolls to the end once the lines of this turn are in (one layout, not one per line). */
function follow() {
  if (followQueued) return;
  followQueued = true;
  queueMicrotask(() => {
    followQueued = false;
    const pane = state.active;
    if (pane && pane.stick) ui.log.scrollTop = ui.log.scrollHeight;
  });
}

/**
 * Puts the line `index` of `pane` (and what goes before it) into `parent` before `before`.
 * @param {Pane} pane
 * @param {number} index
 * @param {Node} parent
 * @param {Node | null} before
 */
function place(pane, index, parent, before) {
  const rec = pane.recs[index];
  rec.first = null;
  const prev = pane.recs[index - 1];
  if (!prev || prev.day !== rec.day) {
    const sep = el("li", "day-sep");
    sep.setAttribute("role", "separator");
    sep.append(el("span", "", say.day(rec.time)));
    parent.insertBefore(sep, before);
    rec.first = sep;
  }
  if (rec === pane.marker) {
    const mark = el("li", "new-marker");
    mark.setAttribute("role", "separator");
    mark.append(el("span", "", say.newMessages));
    parent.insertBefore(mark, before);
    rec.first ??= mark;
  }
  parent.insertBefore(rec.node, before);
  rec.first ??= rec.node;
}

/**
 * Takes the line (and what goes before it) out of the document.
 * @param {Rec} rec
 */
function unplace(rec) {
  /** @type {ChildNode | null} */
  let node = rec.first ?? rec.node;
  while (node) {
    /** @type {ChildNode | null} */
    const next = node.nextSibling;
    node.remove();
    if (node === rec.node) break;
    node = next;
  }
}

/** Shows the active pane's window anew. */
function renderPane() {
  const pane = state.active;
  if (!pane) return;
  const lines = document.createDocumentFragment();
  for (let i = pane.start; i < pane.end; i++) place(pane, i, lines, null);
  ui.log.replaceChildren(lines);
}

/**
 * Adds a line to a pane: into the document if the pane is shown at its end.
 * @param {Pane} pane
 * @param {HTMLElement} node
 * @param {{ id?: string, time?: Date, chat?: boolean }} [options]
 * @returns {Rec}
 */
function addRec(pane, node, options = {}) {
  const time = options.time ?? new Date();
  /** @type {Rec} */
  const rec = { node, first: null, id: options.id, day: dayOf(time), time, chat: !!options.chat };
  const live = isLive(pane);
  pane.recs.push(rec);
  if (rec.id !== undefined) pane.ids.add(rec.id);
  if (live) {
    place(pane, pane.recs.length - 1, ui.log, null);
    pane.end = pane.recs.length;
    if (pane.stick) {
      while (pane.end - pane.start > WINDOW) unplace(pane.recs[pane.start++]);
      follow();
    } else if (pane.end - pane.start > MAX_DOM) {
      // Reading further up: the end stops growing in the document; the jump button brings it.
      unplace(rec);
      pane.end--;
      ui.jump.hidden = false;
    } else {
      ui.jump.hidden = false;
    }
  } else if (pane === state.active) {
    ui.jump.hidden = false;
  }
  if (pane.recs.length > MAX_RECS) dropOldest(pane);
  return rec;
}

/** @param {Pane} pane */
function dropOldest(pane) {
  const rec = pane.recs.shift();
  if (!rec) return;
  if (rec.id !== undefined) pane.ids.delete(rec.id);
  if (pane === state.active && pane.start === 0 && pane.end > 0) {
    unplace(rec);
    pane.end--;
  } else {
    pane.start = Math.max(0, pane.start - 1);
    pane.end = Math.max(0, pane.end - 1);
  }
  pane.more = true;
}

/**
 * Adds lines from an earlier page of history at the start of a pane, keeping what the reader
 * sees where it is.
 * @param {Pane} pane
 * @param {HTMLElement[]} nodes
 * @param {{ id?: string, time: Date }[]} infos
 */
function prependRecs(pane, nodes, infos) {
  if (nodes.length === 0) return;
  /** @type {Rec[]} */
  const recs = nodes.map((node, i) => ({
    node,
    first: null,
    id: infos[i].id,
    day: dayOf(infos[i].time),
    time: infos[i].time,
    chat: true,
  }));
  const room = MAX_RECS - pane.recs.length;
  if (room <= 0) return;
  const added = recs.slice(-room);
  for (const rec of added) if (rec.id !== undefined) pane.ids.add(rec.id);
  const oldFirst = pane.recs[0];
  const shown = pane === state.active && pane.start === 0 && pane.end > 0;
  pane.recs.unshift(...added);
  if (!shown) {
    if (pane !== state.active || pane.end > 0) {
      pane.start += added.length;
      pane.end += added.length;
    }
    if (pane === state.active && pane.end === 0) {
      pane.end = pane.recs.length;
      pane.start = Math.max(0, pane.end - WINDOW);
      renderPane();
    }
    return;
  }
  const fromBottom = ui.log.scrollHeight - ui.log.scrollTop;
  if (oldFirst) {
    // Its day separator may now be one too many.
    unplace(oldFirst);
  }
  const lines = document.createDocumentFragment();
  for (let i = 0; i <= added.length - (oldFirst ? 0 : 1); i++) place(pane, i, lines, null);
  ui.log.insertBefore(lines, ui.log.firstChild);
  pane.end += added.length;
  ui.log.scrollTop = ui.log.scrollHeight - fromBottom;
  trimBottom(pane);
}

/** @param {Pane} pane */
function trimBottom(pane) {
  while (pane.end - pane.start > MAX_DOM) {
    unplace(pane.recs[--pane.end]);
    pane.stick = false;
  }
}

/** The reader is near the top of the window: earlier lines from memory, or from the server. */
function scrolledUp() {
  const pane = state.active;
  if (!pane) return;
  if (pane.start > 0) {
    const count = Math.min(BATCH, pane.start);
    const fromBottom = ui.log.scrollHeight - ui.log.scrollTop;
    const oldFirst = pane.recs[pane.start];
    unplace(oldFirst);
    const lines = document.createDocumentFragment();
    for (let i = pane.start - count; i <= pane.start; i++) place(pane, i, lines, null);
    ui.log.insertBefore(lines, ui.log.firstChild);
    pane.start -= count;
    ui.log.scrollTop = ui.log.scrollHeight - fromBottom;
    trimBottom(pane);
    return;
  }
  askOlder(pane);
}

/** The reader is near the end of the window but not of the pane: the next lines. */
function scrolledDown() {
  const pane = state.active;
  if (!pane || pane.end >= pane.recs.length) return;
  const count = Math.min(BATCH, pane.recs.length - pane.end);
  const lines = document.createDocumentFragment();
  for (let i = pane.end; i < pane.end + count; i++) place(pane, i, lines, null);
  ui.log.append(lines);
  pane.end += count;
  const height = ui.log.scrollHeight;
  let removed = false;
  while (pane.end - pane.start > MAX_DOM) {
    unplace(pane.recs[pane.start++]);
    removed = true;
  }
  if (removed) ui.log.scrollTop -= height - ui.log.scrollHeight;
}

/**
 * Asks the server for the page before the pane's first kept line (JSON `history` with
 * `before`; a server without it: `/history`, for the room one is in).
 * @param {Pane} pane
 */
function askOlder(pane) {
  if (!pane.more || pane.loading || state.phase !== "joined") return;
  if (features.history === false) {
    if (pane.kind !== "room" || !sameRoom(pane.name, state.room) || pane.tries > 5) return;
    pane.loading = true;
    pane.tries++;
    const ref = request({ type: "line", text: "/history " + PAGE }, "olderText");
    state.olderFor.set(ref, pane);
    return;
  }
  const first = pane.recs.find((rec) => rec.id !== undefined);
  /** @type {{ type: string, [field: string]: unknown }} */
  const body = { type: "history", limit: PAGE };
  if (pane.kind === "room") body.room = pane.name;
  else body.with = pane.name;
  if (first?.id !== undefined) body.before = first.id;
  pane.loading = true;
  const ref = request(body, "older");
  state.olderFor.set(ref, pane);
}

/**
 * The server rates history by bytes and asked to wait: the page asks again once that
 * time is up (not before: scrolling meanwhile asks nothing), if the reader is still at the
 * top of that pane.
 * @param {Pane} pane
 * @param {unknown} seconds
 */
function retryOlder(pane, seconds) {
  const wait = typeof seconds === "number" && seconds > 0 ? Math.min(seconds, 60) : 1;
  pane.loading = true;
  const ws = state.ws;
  setTimeout(() => {
    pane.loading = false;
    if (state.ws !== ws || pane !== state.active || pane.start > 0) return;
    if (ui.log.scrollTop < 200) askOlder(pane);
  }, wait * 1000);
}

/**
 * An earlier page for a pane arrived: its lines go first.
 * @param {Pane} pane
 * @param {Extract<ServerEvent, { type: "history" }>} event
 * @param {boolean} byText from `/history` (no `more`: an empty page ends it)
 */
function onOlder(pane, event, byText) {
  pane.loading = false;
  /** @type {HTMLElement[]} */
  const nodes = [];
  /** @type {{ id?: string, time: Date }[]} */
  const infos = [];
  for (const entry of event.entries) {
    if (pane.ids.has(entry.id)) continue;
    const time = when(entry.time);
    nodes.push(entryNode(pane, entry, time));
    infos.push({ id: entry.id, time });
  }
  if (byText) {
    // `/history` pages back from what the server last sent: all seen means ask again.
    if (event.entries.length === 0) pane.more = false;
    else if (nodes.length === 0 && pane.tries <= 5) queueMicrotask(() => askOlder(pane));
  } else {
    pane.more = event.more === true && event.entries.length > 0;
  }
  prependRecs(pane, nodes, infos);
  if (!pane.more) startOf(pane);
}

/**
 * The pane holds the start of its conversation: said once, at its top.
 * @param {Pane} pane
 */
function startOf(pane) {
  pane.loading = false;
  if (pane.recs[0]?.node.classList.contains("start-mark")) return;
  const node = lineNode("notice start-mark", [say.startOf(pane.name)], new Date(0));
  prependRecs(pane, [node], [{ time: pane.recs[0]?.time ?? new Date() }]);
}

/**
 * Shows `pane`: its window as it was left (or its end), the counts read, the header.
 * @param {Pane} pane
 * @returns {Pane}
 */
function show(pane) {
  const old = state.active;
  if (old && old !== pane) {
    old.stick = atBottom() && old.end === old.recs.length;
    old.scrollTop = ui.log.scrollTop;
    old.marker = null;
    old.firstUnread = null;
  }
  state.active = pane;
  closeMenu();
  if (old !== pane) {
    if (!pane.marker && pane.firstUnread) pane.marker = pane.firstUnread;
    if (!pane.marker && pane.readId) pane.marker = firstAfter(pane, pane.readId);
    pane.firstUnread = null;
    pane.unread = 0;
    pane.mentions = 0;
    if (pane.stick || pane.end === 0) {
      pane.end = pane.recs.length;
      pane.start = Math.max(0, pane.end - WINDOW);
      pane.stick = true;
    } else {
      // Where the reader was, and what came since below it, as far as the window goes.
      pane.end = Math.min(pane.recs.length, pane.start + MAX_DOM);
    }
    renderPane();
    if (pane.stick) ui.log.scrollTop = ui.log.scrollHeight;
    else ui.log.scrollTop = pane.scrollTop;
    ui.jump.hidden = pane.stick;
  }
  if (pane.kind === "room" && pane.joined && features.join && !sameRoom(pane.name, state.room)) {
    focusRoom(pane);
  }
  showRoom();
  showConversations();
  markReadSoon();
  return pane;
}

/**
 * Makes the room of `pane` (one of several joined) the server's current one: where `/who`,
 * `/topic`, `/mode` and the member menu act; the people list follows it.
 * @param {Pane} pane
 */
function focusRoom(pane) {
  state.room = pane.name;
  state.topic = pane.topic;
  state.roles = { room: "", founder: "", ops: new Set(), voices: new Set() };
  ui.members.replaceChildren();
  request({ type: "focus", room: pane.name }, "focus");
  ask("who");
  ask("mode");
}

/**
 * Joins `room`: one more room pane where the server keeps several (`join`), else a move
 * (`/join`, the room left goes from the list).
 * @param {string} room
 * @param {string} [key]
 * @returns {boolean}
 */
function joinRoom(room, key) {
  if (features.join === false) return sendLine("/join " + room + (key ? " " + key : ""));
  if (state.phase !== "joined" || !state.ws || state.ws.readyState !== WebSocket.OPEN) {
    showInputError(say.notConnected);
    return false;
  }
  const ref = request(key ? { type: "join", room, key } : { type: "join", room }, "join");
  state.joinFor.set(ref, room + (key ? " " + key : ""));
  if (state.joinFor.size > MAX_PENDING) {
    const oldest = state.joinFor.keys().next().value;
    if (oldest !== undefined) state.joinFor.delete(oldest);
  }
  return true;
}

/**
 * Leaves the room of `pane` (several rooms kept: `part`; else there is no leaving a room but
 * for another, and the reader is told so by the server's answer to `/part`).
 * @param {Pane} pane
 * @returns {boolean}
 */
function partRoom(pane) {
  if (!features.join) return sendLine("/part");
  request({ type: "part", room: pane.name }, "part");
  return true;
}

/**
 * The server left the room `room` (a `part`): its pane goes from the list, and another
 * joined room is shown in its place.
 * @param {string} room
 */
function onParted(room) {
  const pane = roomPane(room);
  pane.joined = false;
  const next = listed().find((other) => other.kind === "room" && other.joined);
  if (state.active === pane && next) show(next);
  else if (sameRoom(room, state.room) && next) focusRoom(next); // the server's current went
  showConversations();
}

/**
 * The first line of `pane` after the kept event `id`, or null when none is.
 * @param {Pane} pane
 * @param {string} id
 */
function firstAfter(pane, id) {
  for (let i = pane.recs.length - 1; i >= 0; i--) {
    const rec = pane.recs[i];
    if (rec.id === undefined) continue;
    if (rec.id <= id) {
      for (let j = i + 1; j < pane.recs.length; j++) if (pane.recs[j].chat) return pane.recs[j];
      return null;
    }
  }
  return null;
}

/**
 * A line's node.
 * @param {string} className
 * @param {(string | Node)[]} parts
 * @param {Date} time
 */
function lineNode(className, parts, time) {
  const item = el("li", "line " + className);
  item.append(stamp(time));
  const body = el("span", "body");
  body.append(...parts);
  item.append(body);
  return item;
}

/**
 * @typedef {object} AppendOptions
 * @property {Date} [time]
 * @property {boolean} [own] the user's own line: the log follows it
 * @property {string} [announce] what screen readers are told (for the pane shown)
 * @property {string} [id] the kept event's id
 * @property {boolean} [chat] a chat line (counted unread)
 */

/**
 * Adds a line to a pane (the one shown when none is given).
 * @param {string} className
 * @param {(string | Node)[]} parts
 * @param {AppendOptions & { pane?: Pane }} [options]
 */
function append(className, parts, options) {
  const opts = options || {};
  const pane = opts.pane ?? here();
  const node = lineNode(className, parts, opts.time || new Date());
  if (opts.id !== undefined) node.dataset.id = opts.id;
  if (opts.own && pane === state.active && !pane.stick) {
    // One's own line brings the reader to the end.
    pane.stick = true;
    jumpToEnd();
  }
  addRec(pane, node, { id: opts.id, time: opts.time, chat: opts.chat });
  if (opts.announce && pane === state.active) announce(opts.announce);
  return node;
}

/** @param {string} text */
function announce(text) {
  ui.announce.append(el("p", "", text));
  while (ui.announce.childElementCount > 5) ui.announce.firstElementChild?.remove();
}

/**
 * Counts a chat line from someone else: in the title while the tab is hidden, in the
 * conversation list while its pane is not shown; a notification for a mention or a private
 * message while the tab is hidden.
 * @param {Pane} pane
 * @param {Rec | undefined} rec
 * @param {boolean} mention
 * @param {string} from
 * @param {string} text
 */
function countUnread(pane, rec, mention, from, text) {
  if (document.hidden) {
    state.unread++;
    showTitle();
  }
  const seen = pane === state.active && !document.hidden;
  if (!seen) {
    if (pane.unread === 0 && rec) pane.firstUnread = rec;
    pane.unread++;
    if (mention || pane.kind === "private") pane.mentions++;
    conversationsSoon();
  } else {
    markReadSoon();
  }
  if (document.hidden && (mention || pane.kind === "private")) notify(pane, from, text);
}

/**
 * A desktop notification, if the reader turned them on.
 * @param {Pane} pane
 * @param {string} from
 * @param {string} text
 */
function notify(pane, from, text) {
  if (!state.notify || typeof Notification === "undefined") return;
  if (Notification.permission !== "granted") return;
  try {
    const title = pane.kind === "private" ? say.notifyPrivate(from) : say.notifyMention(
      from,
      pane.name,
    );
    const note = new Notification(title, { body: text.slice(0, 200), tag: pane.key });
    note.addEventListener("click", () => {
      globalThis.focus();
      show(pane);
      note.close();
    });
  } catch {
    // Some browsers only notify from a service worker: then there is none.
  }
}

function showNotify() {
  if (typeof Notification === "undefined") {
    ui.notify.hidden = true;
    return;
  }
  ui.notify.hidden = false;
  const granted = Notification.permission === "granted";
  ui.notify.textContent = !granted ? say.notifyAsk : state.notify ? say.notifyOn : say.notifyOff;
  ui.notify.setAttribute("aria-pressed", String(granted && state.notify));
}

function showTitle() {
  const where = state.active?.name || state.room;
  document.title = (state.unread ? "(" + state.unread + ") " : "") +
    (where ? where + " — chat" : "chat");
}

/**
 * Shows a room message or action.
 * @param {"message" | "action"} kind
 * @param {string} from
 * @param {string} text
 * @param {{ own?: boolean, time?: Date, history?: boolean, id?: string, pane?: Pane }} [options]
 */
function showChat(kind, from, text, options = {}) {
  const own = !!options.own;
  const who = nameEl(from, own);
  const mention = !own && mentions(text);
  const classes = kind + (own ? " own" : "") + (options.history ? " history" : "") +
    (mention ? " mention" : "");
  const quiet = own || options.history;
  if (kind === "action") {
    return append(classes, ["* ", who, " ", textEl(text)], {
      ...options,
      chat: true,
      announce: quiet ? "" : "* " + from + " " + text,
    });
  }
  return append(classes, [who, ": ", textEl(text)], {
    ...options,
    chat: true,
    announce: quiet ? "" : from + ": " + text,
  });
}

/**
 * The node of a history entry (a room's or a private conversation's).
 * @param {Pane} pane
 * @param {Entry} entry
 * @param {Date} time
 */
function entryNode(pane, entry, time) {
  const own = entry.from === state.name || (!!state.account && entry.from === state.account);
  const mention = !own && pane.kind === "room" && mentions(entry.text);
  // A message may come without its type (the default): a room's message, a private one.
  const kind = entry.type === "action"
    ? "action"
    : entry.type === "private" || pane.kind === "private"
    ? "private"
    : "message";
  const classes = kind + (own ? " own" : "") + " history" + (mention ? " mention" : "");
  const who = nameEl(entry.from, own);
  const node = lineNode(
    classes,
    kind === "action" ? ["* ", who, " ", textEl(entry.text)] : [who, ": ", textEl(entry.text)],
    time,
  );
  node.dataset.id = entry.id;
  return node;
}

/**
 * Shows a quiet line: something that happened, or an answer, not a chat line.
 * @param {string} text
 * @param {string} [className]
 * @param {Date} [time]
 * @param {Pane} [pane]
 */
function showNotice(text, className, time, pane) {
  return append("notice " + (className || ""), [text], { time, pane });
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

function jumpToEnd() {
  const pane = state.active;
  if (!pane) return;
  pane.stick = true;
  if (pane.end !== pane.recs.length || pane.end - pane.start > WINDOW) {
    pane.end = pane.recs.length;
    pane.start = Math.max(0, pane.end - WINDOW);
    renderPane();
  }
  ui.log.scrollTop = ui.log.scrollHeight;
  ui.jump.hidden = true;
}

// ---------------------------------------------------------------------------
// The conversation list, the side panel: people in the room, the rooms
// ---------------------------------------------------------------------------

/** The panes listed, in order: the rooms one is in, then private conversations. */
function listed() {
  /** @type {Pane[]} */
  const panes = [];
  for (const pane of state.panes.values()) {
    if (pane.kind === "room" && (pane.joined || pane === state.active)) panes.push(pane);
  }
  for (const pane of state.panes.values()) if (pane.kind === "private") panes.push(pane);
  return panes;
}

let listQueued = false;
/** Shows the conversation list once for a burst of lines (not once per line). */
function conversationsSoon() {
  if (listQueued) return;
  listQueued = true;
  queueMicrotask(() => {
    listQueued = false;
    showConversations();
  });
}

function showConversations() {
  const items = listed().map((pane) => {
    const item = el("li");
    const choose = button("", "conv conv-" + pane.kind);
    choose.dataset.key = pane.key;
    choose.append(el("span", "conv-name", (pane.kind === "room" ? "#" : "") + pane.name));
    if (pane.unread) {
      const count = el("span", "unread", String(pane.unread));
      count.setAttribute("aria-hidden", "true");
      choose.append(count);
    }
    if (pane.mentions) {
      const count = el("span", "mentions", String(pane.mentions));
      count.setAttribute("aria-hidden", "true");
      choose.append(count);
    }
    const counts = say.counts(pane.unread, pane.mentions);
    choose.setAttribute(
      "aria-label",
      (pane.kind === "room" ? pane.name : say.privateWith(pane.name)) +
        (counts ? ", " + counts : ""),
    );
    if (pane === state.active) choose.setAttribute("aria-current", "page");
    choose.addEventListener("click", () => {
      show(pane);
      ui.input.focus();
    });
    item.append(choose);
    return item;
  });
  ui.convs.replaceChildren(...items);
}

/**
 * Shows the pane `step` after (or before) the one shown, in the list's order.
 * @param {number} step
 */
function moveConversation(step) {
  const panes = listed();
  if (panes.length === 0) return;
  const at = panes.indexOf(/** @type {Pane} */ (state.active));
  const next = panes[(at + step + panes.length) % panes.length];
  show(next);
}

function showRoom() {
  const pane = state.active;
  const privateName = pane?.kind === "private" ? pane.name : "";
  ui.room.textContent = privateName || state.room || "chat";
  const topic = privateName ? say.privateWith(privateName) : state.topic;
  ui.topic.textContent = topic;
  ui.topic.hidden = !topic;
  ui.input.placeholder = privateName
    ? "Message " + privateName + " privately"
    : state.room
    ? "Message " + state.room + ", or /help"
    : "";
  ui.log.setAttribute("aria-label", "Messages" + (pane ? ": " + (privateName || state.room) : ""));
  showTitle();
  for (const choose of ui.rooms.querySelectorAll("button")) {
    if (sameRoom(choose.dataset.room, state.room)) choose.setAttribute("aria-current", "true");
    else choose.removeAttribute("aria-current");
  }
}

/**
 * The role of a member in the room one is in, by the last `modes`.
 * @param {string} name
 * @returns {"founder" | "op" | "voice" | ""}
 */
function roleOf(name) {
  const key = nameKey(name);
  const roles = state.roles;
  if (!sameRoom(roles.room, state.room)) return "";
  if (roles.founder && roles.founder === key) return "founder";
  if (roles.ops.has(key)) return "op";
  if (roles.voices.has(key)) return "voice";
  return "";
}

/** Whether the user may moderate the room one is in (founder or operator). */
function mayModerate() {
  const role = roleOf(state.account || state.name);
  return role === "founder" || role === "op"; // a guest who made the room operates it too
}

/** @type {{ names: string[], total: number, loggedIn: string[] }} */
const lastWho = { names: [], total: 0, loggedIn: [] };

/**
 * @param {readonly string[]} names
 * @param {number} total
 * @param {readonly string[]} loggedIn those of `names` logged in to an account
 */
function showMembers(names, total, loggedIn) {
  lastWho.names = names.slice();
  lastWho.total = total;
  lastWho.loggedIn = loggedIn.slice();
  state.members = names.slice();
  const accounts = new Set(loggedIn);
  ui.membersTitle.textContent = "People (" + total + ")";
  const items = names.map((name) => {
    const item = el("li");
    const choose = button("", "member");
    choose.dataset.name = name;
    const role = roleOf(name);
    if (role) {
      const mark = el("span", "role role-" + role, role === "voice" ? "+" : "@");
      mark.title = say.roleLabels[role];
      mark.setAttribute("role", "img");
      mark.setAttribute("aria-label", say.roleLabels[role]);
      choose.append(mark);
    }
    choose.append(nameEl(name, false));
    if (accounts.has(name)) {
      const mark = el("span", "logged-in", say.loggedInMark);
      mark.title = say.loggedInLabel;
      mark.setAttribute("role", "img");
      mark.setAttribute("aria-label", say.loggedInLabel);
      choose.append(mark);
    }
    if (name === state.name) choose.append(el("span", "you", " (you)"));
    choose.setAttribute("aria-haspopup", "menu");
    choose.setAttribute("aria-expanded", "false");
    choose.title = say.memberMenu(name);
    choose.addEventListener("click", () => openMenu(choose, name));
    item.append(choose);
    return item;
  });
  if (total > names.length) items.push(el("li", "more", "and " + (total - names.length) + " more"));
  ui.members.replaceChildren(...items);
}

/**
 * A member's menu: what the user may do to them (a private message; the moderation commands
 * of the roles the user holds, as the lines an `nc` user types).
 * @param {HTMLElement} opener
 * @param {string} name
 */
function openMenu(opener, name) {
  const wasOpen = !ui.memberMenu.hidden && ui.memberMenu.dataset.name === name;
  closeMenu();
  if (wasOpen) return;
  const acts = say.memberActions;
  /** @type {[string, () => void][]} */
  const actions = [];
  if (name !== state.name) {
    actions.push([acts.private, () => {
      closeSide();
      show(paneOf("private", name));
      ui.input.focus();
    }]);
  }
  actions.push([acts.whois, () => sendLine("/whois " + name)]);
  if (mayModerate() && name !== state.name) {
    const role = roleOf(name);
    if (role !== "founder") {
      actions.push(
        role === "op" ? [acts.deop, () => sendLine("/deop " + name)] : [
          acts.op,
          () => sendLine("/op " + name),
        ],
      );
      actions.push(
        role === "voice" ? [acts.devoice, () => sendLine("/devoice " + name)] : [
          acts.voice,
          () => sendLine("/voice " + name),
        ],
      );
      actions.push([acts.kick, () => sendLine("/kick " + name)]);
      actions.push([acts.ban, () => sendLine("/ban " + name)]);
      actions.push([acts.mute, () => sendLine("/mute " + name)]);
    }
  }
  const items = actions.map(([label, act]) => {
    const item = button(label, "menu-item");
    item.setAttribute("role", "menuitem");
    item.dataset.action = label;
    item.addEventListener("click", () => {
      closeMenu();
      act();
    });
    return item;
  });
  ui.memberMenu.replaceChildren(...items);
  ui.memberMenu.setAttribute("aria-label", say.memberMenu(name));
  ui.memberMenu.dataset.name = name;
  ui.memberMenu.hidden = false;
  opener.after(ui.memberMenu);
  opener.setAttribute("aria-expanded", "true");
  items[0]?.focus();
}

function closeMenu() {
  if (ui.memberMenu.hidden) return;
  ui.memberMenu.hidden = true;
  const opener = ui.memberMenu.previousElementSibling;
  if (opener instanceof HTMLElement) opener.setAttribute("aria-expanded", "false");
}

function showRooms() {
  // The home room is always there to go back to, listed or not (an empty room is not).
  if (state.home && !state.roomList.some((room) => sameRoom(room.name, state.home))) {
    state.roomList.push({ name: state.home, members: 0, topic: "" });
  }
  const items = state.roomList.map((room) => {
    const item = el("li");
    const choose = button("", "room-button");
    choose.dataset.room = room.name;
    choose.append(
      el("span", "room-name", room.name),
      el("span", "count", " (" + room.members + ")"),
    );
    if (room.topic) choose.append(el("span", "room-topic", room.topic));
    choose.addEventListener("click", () => {
      closeSide();
      const pane = state.panes.get("#" + roomKey(room.name));
      if (pane?.joined) show(pane);
      else joinRoom(room.name);
      ui.input.focus();
    });
    item.append(choose);
    return item;
  });
  if (state.roomsMore) items.push(el("li", "more", say.moreRooms(state.roomsMore)));
  ui.rooms.replaceChildren(...items);
  showRoom();
}

/**
 * Asks the server something whose answer only updates the side panel.
 * @param {"who" | "rooms" | "mode" | "help"} what
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

/** Tells the server (soon, once for a burst) how far the pane shown was read. */
function markReadSoon() {
  if (state.readTimer || features.markRead === false || !state.account) return;
  state.readTimer = setTimeout(() => {
    state.readTimer = undefined;
    const pane = state.active;
    if (!pane || document.hidden || state.phase !== "joined" || features.markRead === false) return;
    let last = "";
    for (let i = pane.recs.length - 1; i >= 0 && !last; i--) last = pane.recs[i].id ?? "";
    if (!last || last <= pane.sentReadId || last <= pane.readId) return;
    pane.sentReadId = last;
    /** @type {{ type: string, [field: string]: unknown }} */
    const body = { type: "markRead", id: last };
    if (pane.kind === "room") body.room = pane.name;
    else body.with = pane.name;
    request(body, "markRead");
  }, 1000);
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

/**
 * The pane of a room event: the room's (made if need be).
 * @param {string} room
 */
const roomPane = (room) => paneOf("room", room);

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
      if (event.ref && state.requests.get(event.ref) === "join") features.join = true;
      return onEntered(event.room, event.others, event.count, event.topic);
    case "parted":
      return onParted(event.room);
    case "focused":
      return;
    case "message":
    case "action":
      return onChat(event, time);
    case "private":
      return onPrivate(event, time);
    case "presence":
      showNotice(presence(event.groups), "presence", time, roomPane(event.room));
      return whoSoon();
    case "rename":
      if (event.self) {
        state.name = event.name;
        state.wantName = event.name;
        setStatus("Connected as " + event.name);
        showNotice(say.renamedSelf(event.name), "rename", time);
      } else {
        showNotice(say.renamed(event.old, event.name), "rename", time, roomPane(state.room));
      }
      return whoSoon();
    case "topic":
      roomPane(event.room).topic = event.topic;
      if (sameRoom(event.room, state.room)) state.topic = event.topic;
      showRoom();
      showNotice(say.topicSet(event.by, event.topic), "topic", time, roomPane(event.room));
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
      return onHistory(event);
    case "noEarlier": {
      const older = event.ref ? state.olderFor.get(event.ref) : undefined;
      if (older) {
        older.more = false;
        return startOf(older);
      }
      showNotice(say.noEarlier(event.room), "history-mark", time);
      return;
    }
    case "help": {
      const shown = asked(event);
      if (shown) showNotice(say.helpHeader, "help", time);
      for (const command of event.commands) {
        if (shown) {
          append("notice help-entry", [el("code", "usage", command.usage), " " + command.summary]);
        }
        const word = command.usage.split(" ")[0];
        if (word.startsWith("/") && !state.commands.includes(word)) state.commands.push(word);
      }
      return;
    }
    case "privateSent":
      return onPrivateSent(event, time);
    case "alreadyIn":
      if (event.ref && state.requests.get(event.ref) === "join") {
        // Joined already: its pane is shown (the server made it current).
        features.join = true;
        const pane = state.panes.get("#" + roomKey(event.room));
        if (pane?.joined) {
          state.room = "";
          return void show(pane);
        }
      }
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
    case "moderation":
      showNotice(
        moderation(event.by, event.action, event.target, event.reason),
        "moderation",
        time,
        roomPane(event.room),
      );
      if (sameRoom(event.room, state.room)) {
        if (["op", "deop", "voice", "devoice", "claim", "mode"].includes(event.action)) {
          ask("mode");
          ask("help"); // a new role may bring commands to complete
        }
        whoSoon();
      }
      return;
    case "kicked":
      // Said in the room's pane, and in the lobby's, where the kick puts you next.
      state.kickNote = say.kicked(event.by, event.room, event.reason);
      showNotice(state.kickNote, "moderation", time, roomPane(event.room));
      if (features.join) {
        // Several rooms kept: the room is left, the others stay (the last is traded for the
        // lobby, whose `entered` says so).
        onParted(event.room);
        if (state.active !== roomPane(event.room)) showNotice(state.kickNote, "moderation", time);
        state.kickNote = "";
      }
      return;
    case "invited":
      showNotice(say.invited(event.by, event.room), "", time);
      return;
    case "modes":
      return onModes(event, time);
    case "bans":
      showNotice(say.bans(event.list, event.room, event.masks.map((mask) => mask.mask)), "", time);
      return;
    case "killed":
      showNotice(say.killed(event.by, event.reason), "moderation", time);
      return;
    case "announcement":
      showNotice(say.announcement(event.by, event.text), "announcement", time);
      return;
    case "conversations":
      return onConversations(event);
    case "heldForLater":
      return onHeldForLater(event, time);
    case "readMarker":
      return onReadMarker(event);
    case "searchResults":
      return onSearchResults(event);
    case "deleted":
      return onDeleted(event);
    case "bye":
      state.quit = true;
      return;
    case "shutdown":
      showNotice(say.shutdown(event.reason), "", time);
      return;
    case "error":
      return onError(event);
    default:
      // A type from a newer server: nothing to show for it.
      return;
  }
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
  // Several rooms kept: after a reconnect each room the page was in is joined again, the one
  // the reader was in last (it is current then).
  /** @type {string[]} */
  const rejoin = [];
  if (features.join) {
    for (const pane of state.panes.values()) {
      if (pane.kind !== "room") continue;
      if (pane.joined && !sameRoom(pane.name, event.room)) rejoin.push(pane.name);
      pane.joined = false;
    }
    const last = rejoin.findIndex((room) => sameRoom(room, state.returnTo));
    if (last !== -1) rejoin.push(...rejoin.splice(last, 1));
  }
  enterPane(event.room);
  ui.input.focus();
  const returnTo = state.returnTo;
  state.returnTo = "";
  if (rejoin.length) {
    for (const room of rejoin) request({ type: "join", room }, "join");
    ask("rooms");
    return;
  }
  if (returnTo && !sameRoom(returnTo, event.room)) {
    // Back to where the page was: the home room's replay is not what the reader left.
    state.skipReplay = event.room;
    request({ type: "line", text: "/join " + returnTo }, "rejoin");
    return;
  }
  showNotice(say.welcome(event.room, event.others, event.count), "hello", when(event.time));
  ask("who");
  ask("rooms");
  ask("mode");
  ask("help"); // the commands Tab completes: the server's table, never a copy of it
}

/**
 * The room one is in is now `room`: its pane is listed (the one left is not) and shown,
 * unless a private conversation is shown.
 * @param {string} room
 */
function enterPane(room) {
  // A move leaves the room one was in; a `join` keeps it.
  if (!features.join) {
    for (const pane of state.panes.values()) if (pane.kind === "room") pane.joined = false;
  }
  const pane = roomPane(room);
  pane.joined = true;
  // Back in a room whose paging stopped while out of it: it may page back again.
  if (!pane.recs[0]?.node.classList.contains("start-mark")) pane.more = true;
  pane.name = room;
  state.roles = { room: "", founder: "", ops: new Set(), voices: new Set() };
  if (!state.active || state.active.kind === "room") show(pane);
  else showConversations();
  showRoom();
}

/**
 * Now in `room` (after a /join, or going back there after a reconnect).
 * @param {string} room
 * @param {readonly string[]} others
 * @param {number} count
 * @param {string} topic
 */
function onEntered(room, others, count, topic) {
  roomPane(room).topic = topic;
  state.room = room;
  state.topic = topic;
  state.skipReplay = "";
  ui.members.replaceChildren();
  if (state.active?.kind === "private") show(roomPane(room));
  enterPane(room);
  if (state.kickNote) showNotice(state.kickNote, "moderation");
  state.kickNote = "";
  showNotice(say.entered(room, others, count), "room-change");
  ask("who");
  ask("rooms");
  ask("mode");
}

/**
 * @param {Extract<ServerEvent, { type: "modes" }>} event
 * @param {Date} time
 */
function onModes(event, time) {
  if (sameRoom(event.room, state.room)) {
    state.roles = {
      room: event.room,
      founder: event.founder ? nameKey(event.founder) : "",
      ops: new Set(event.ops.map(nameKey)),
      voices: new Set(event.voices.map(nameKey)),
    };
    if (lastWho.names.length) showMembers(lastWho.names, lastWho.total, lastWho.loggedIn);
  }
  if (asked(event)) {
    showNotice(
      say.modes(event.room, event.modes, event.founder, event.ops, event.voices),
      "",
      time,
    );
  }
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
  const pane = roomPane(event.room);
  if (own) {
    if (event.id !== undefined) {
      own.item.dataset.id = event.id;
      const rec = pane.recs.findLast((line) => line.node === own.item);
      if (rec) rec.id = event.id;
      pane.ids.add(event.id);
    }
    return;
  }
  const mine = event.from === state.name;
  const item = showChat(event.type, event.from, event.text, {
    own: mine,
    time,
    id: event.id,
    pane,
  });
  if (!mine) {
    countUnread(pane, pane.recs.at(-1), !mine && mentions(event.text), event.from, event.text);
  }
  return item;
}

/**
 * A private message to the user: in the pane of the conversation with its sender.
 * @param {Extract<ServerEvent, { type: "private" }>} event
 * @param {Date} time
 */
function onPrivate(event, time) {
  const self = event.from === state.name;
  const other = self ? event.to : event.from;
  const pane = paneOf("private", other);
  if (event.id !== undefined && pane.ids.has(event.id)) return;
  append("private" + (self ? " own" : ""), [nameEl(event.from, self), ": ", textEl(event.text)], {
    time,
    pane,
    id: event.id,
    chat: true,
    announce: "private from " + event.from + ": " + event.text,
  });
  if (!self) countUnread(pane, pane.recs.at(-1), true, event.from, event.text);
}

/**
 * The user's private message went out: shown in its conversation (shown at once when typed
 * as `/msg` in a room).
 * @param {Extract<ServerEvent, { type: "privateSent" }>} event
 * @param {Date} time
 */
function onPrivateSent(event, time) {
  const pane = paneOf("private", event.to);
  if (event.id !== undefined && pane.ids.has(event.id)) return;
  const typed = event.ref !== undefined && state.requests.get(event.ref) === "typed";
  if (event.ref !== undefined) state.msgWords.delete(event.ref);
  if (typed && state.active !== pane) show(pane);
  append("private own", [nameEl(state.name, true), ": ", textEl(event.text)], {
    own: true,
    time,
    pane,
    id: event.id,
    chat: true,
  });
}

/**
 * The user's private message waits for its account's next login: shown in its conversation
 * as sent (shown at once when typed), with a note that it waits.
 * @param {Extract<ServerEvent, { type: "heldForLater" }>} event
 * @param {Date} time
 */
function onHeldForLater(event, time) {
  const pane = paneOf("private", event.to);
  const typed = event.ref !== undefined && state.msgWords.has(event.ref);
  // The message kept (its id, so that paging back shows it once), or the words typed.
  const words = typeof event.text === "string"
    ? event.text
    : event.ref !== undefined
    ? state.msgWords.get(event.ref)
    : undefined;
  if (event.ref !== undefined) state.msgWords.delete(event.ref);
  const id = typeof event.id === "string" ? event.id : undefined;
  if (words !== undefined && !(id !== undefined && pane.ids.has(id))) {
    if (typed && state.active !== pane) show(pane);
    append("private own", [nameEl(state.name, true), ": ", textEl(words)], {
      own: true,
      time,
      pane,
      id,
      chat: true,
    });
  }
  showNotice(say.heldForLater(event.to), "", time, pane);
}

/**
 * A page of history: a replay (on hello or /join) shows only what was not seen; a page
 * asked for with /history (`earlier`) shows all of it, as asked; a page asked for by
 * scrolling up goes first in its pane.
 * @param {Extract<ServerEvent, { type: "history" }>} event
 */
function onHistory(event) {
  // A history entry without `type` is a message (the server leaves it out to save bytes).
  for (const entry of event.entries) entry.type ??= "message";
  const older = event.ref ? state.olderFor.get(event.ref) : undefined;
  if (older) {
    state.olderFor.delete(/** @type {string} */ (event.ref));
    return onOlder(older, event, state.requests.get(event.ref ?? "") === "olderText");
  }
  if (event.with !== undefined) return onPrivateHistory(event);
  const room = event.room ?? state.room;
  if (!event.earlier && state.skipReplay && sameRoom(room, state.skipReplay)) return;
  const pane = roomPane(room);
  /** @type {Entry[]} */
  const fresh = [];
  for (const entry of event.entries) {
    const unseen = see(entry.id, room, !event.earlier);
    if (event.earlier) {
      fresh.push(entry);
      continue;
    }
    if (!unseen || pane.ids.has(entry.id)) continue;
    const own = takePending(
      { type: entry.type ?? "message", from: entry.from, text: entry.text },
      room,
    );
    if (own) own.item.dataset.id = entry.id;
    else fresh.push(entry);
  }
  if (event.gap) showNotice(say.gap, "history-mark gap", when(event.time), pane);
  if (fresh.length === 0) return;
  const mark = event.earlier ? say.earlier(room) : say.recent(room);
  showNotice(mark, "history-mark", when(event.time), pane);
  for (const entry of fresh) {
    const time = when(entry.time);
    addRec(pane, entryNode(pane, entry, time), { id: entry.id, time, chat: true });
  }
}

/**
 * A private conversation's replay (messages kept while away): shown in its pane, counted.
 * @param {Extract<ServerEvent, { type: "history" }>} event
 */
function onPrivateHistory(event) {
  const pane = paneOf("private", /** @type {string} */ (event.with));
  for (const entry of event.entries) {
    // The login's conversation list came first and showed the newest of what waited as its
    // last line: taken out, to come back in its place, counted (delivered once: counted once).
    if (event.away && pane.ids.has(entry.id)) removeRec(pane, entry.id);
  }
  for (const entry of event.entries) {
    if (pane.ids.has(entry.id)) continue;
    const own = entry.from === state.name || (!!state.account && entry.from === state.account);
    const time = when(entry.time);
    const rec = addRec(pane, entryNode(pane, entry, time), { id: entry.id, time, chat: true });
    if (!own) countUnread(pane, rec, true, entry.from, entry.text);
  }
}

/**
 * The private conversations kept for the account: each listed, with its last line.
 * @param {Extract<ServerEvent, { type: "conversations" }>} event
 */
function onConversations(event) {
  if (!Array.isArray(event.list)) return;
  for (const conversation of event.list.slice(0, MAX_PANES)) {
    if (typeof conversation.with !== "string") continue;
    const pane = paneOf("private", conversation.with);
    const last = conversation.last;
    if (last && typeof last.id === "string" && !pane.ids.has(last.id)) {
      const time = when(last.time);
      addRec(pane, entryNode(pane, { ...last, type: last.type ?? "private" }, time), {
        id: last.id,
        time,
        chat: true,
      });
    }
  }
  showConversations();
}

/**
 * How far the account read a conversation (on any of its connections): the unread count
 * goes, and the new-messages line is put after it.
 * @param {Extract<ServerEvent, { type: "readMarker" }>} event
 */
function onReadMarker(event) {
  const pane = event.with !== undefined
    ? paneOf("private", event.with)
    : event.room !== undefined
    ? roomPane(event.room)
    : null;
  if (!pane || typeof event.id !== "string" || event.id <= pane.readId) return;
  pane.readId = event.id;
  if (pane !== state.active) {
    // Read elsewhere: nothing unread up to it.
    const after = firstAfter(pane, event.id);
    if (!after) {
      pane.unread = 0;
      pane.mentions = 0;
      pane.firstUnread = null;
    }
    showConversations();
  }
}

/**
 * A message was deleted: its line goes from its pane.
 * @param {Extract<ServerEvent, { type: "deleted" }>} event
 */
function onDeleted(event) {
  const panes = event.with !== undefined
    ? [paneOf("private", event.with)]
    : event.room !== undefined
    ? [roomPane(event.room)]
    : [...state.panes.values()];
  for (const pane of panes) removeRec(pane, event.id);
  // A search result for it goes too.
  for (const result of ui.searchResults.querySelectorAll("button.result")) {
    if (result instanceof HTMLElement && result.dataset.id === event.id) {
      result.parentElement?.remove();
    }
  }
}

/**
 * Takes the line of the kept event `id` out of `pane` (and the document), if it is there.
 * @param {Pane} pane
 * @param {string} id
 */
function removeRec(pane, id) {
  if (!pane.ids.has(id)) return;
  const index = pane.recs.findIndex((rec) => rec.id === id);
  if (index === -1) return;
  const rec = pane.recs[index];
  const shown = pane === state.active && index >= pane.start && index < pane.end;
  pane.recs.splice(index, 1);
  pane.ids.delete(id);
  if (pane.marker === rec) pane.marker = null;
  if (pane.firstUnread === rec) pane.firstUnread = pane.recs[index] ?? null;
  if (index < pane.start) pane.start--;
  if (index < pane.end) pane.end--;
  if (shown) renderPane();
}

/**
 * What a search found: listed under the search box, each opening its conversation.
 * @param {Extract<ServerEvent, { type: "searchResults" }>} event
 */
function onSearchResults(event) {
  features.search = true;
  const results = Array.isArray(event.results) ? event.results.slice(0, 100) : [];
  ui.searchStatus.textContent = say.searchResults(event.text, results.length, !!event.more);
  ui.searchResults.replaceChildren(...results.map((result) => {
    const item = el("li");
    const where = result.with !== undefined ? "@" + result.with : "#" + (result.room ?? "");
    const open = button("", "result");
    if (typeof result.id === "string") open.dataset.id = result.id;
    open.append(
      el("span", "result-where", where + " "),
      stamp(when(result.time)),
      nameEl(result.from, result.from === state.name),
      ": ",
      el("span", "text", result.text),
    );
    open.addEventListener("click", () => {
      closeSide();
      if (result.with !== undefined) show(paneOf("private", result.with));
      else if (result.room !== undefined && sameRoom(result.room, state.room)) {
        show(roomPane(result.room));
      } else if (result.room !== undefined) joinRoom(result.room);
      ui.input.focus();
    });
    item.append(open);
    return item;
  }));
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
  const purpose = event.ref ? state.requests.get(event.ref) : undefined;
  if (purpose === "older" || purpose === "olderText") {
    const pane = state.olderFor.get(/** @type {string} */ (event.ref));
    state.olderFor.delete(/** @type {string} */ (event.ref));
    if (pane) pane.loading = false;
    if (event.code === "historyTooFast" && pane) return retryOlder(pane, event.seconds);
    if (pane && (event.code === "notLoggedIn" || event.code === "notInRoom")) {
      // Nothing kept to page back to here (a guest's private conversation; a room left):
      // asked again only once back in that room.
      pane.more = false;
      return;
    }
    if (event.code === "unknownType" || event.code === "badRequest") {
      // No JSON history paging on this server: the text command's, for the room one is in.
      if (purpose === "older" && features.history !== false) {
        features.history = false;
        if (pane) askOlder(pane);
      } else if (pane) pane.more = false;
    }
    return;
  }
  if (purpose === "markRead") {
    if (event.code === "unknownType" || event.code === "badRequest") features.markRead = false;
    return;
  }
  if (purpose === "search") {
    if (event.code === "unknownType" || event.code === "badRequest") {
      features.search = false;
      ui.searchStatus.textContent = say.searchAbsent;
      ui.searchResults.replaceChildren();
    } else {
      ui.searchStatus.textContent = text;
    }
    return;
  }
  if (purpose === "join" || purpose === "focus" || purpose === "part") {
    if (event.code === "unknownType" || event.code === "badRequest") {
      // A server that moves on /join: the text command's, as before.
      features.join = false;
      const wanted = state.joinFor.get(/** @type {string} */ (event.ref));
      if (purpose === "join" && wanted) sendLine("/join " + wanted);
      return;
    }
  }
  if (purpose === "quiet") return; // the page's own asking: nothing the reader asked
  if (purpose === "rejoin") {
    // Not back in the room the page was in: it is where the welcome put it.
    state.skipReplay = "";
    ask("who");
    ask("rooms");
    ask("mode");
  }
  if (purpose === "account") {
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
 * @param {{ type: string, [field: string]: unknown }} body
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
    // Pages asked for and not come are asked again when wanted.
    for (const pane of state.panes.values()) pane.loading = false;
    state.olderFor.clear();
    if (wasIn) {
      state.returnTo = state.room;
      showNotice(say.disconnected, "local");
    }
    if (state.quit) {
      // Out of the chat: no one listed, not even "(you)", and no rooms.
      ui.members.replaceChildren();
      ui.membersTitle.textContent = "People";
      for (const pane of state.panes.values()) pane.joined = false;
      showConversations();
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
 * Remembers the words of a typed `/msg NAME WORDS` by its request's ref, for `heldForLater`.
 * @param {string} ref
 * @param {string} text
 */
function keepMsgWords(ref, text) {
  const match = /^\/msg\s+\S+\s+(.+)$/isu.exec(text);
  if (!match) return;
  state.msgWords.set(ref, squeeze(match[1]));
  if (state.msgWords.size > MAX_PENDING) {
    const oldest = state.msgWords.keys().next().value;
    if (oldest !== undefined) state.msgWords.delete(oldest);
  }
}

/**
 * Sends a line as typed; false when it was not sent (and the input says why).
 * @param {string} text
 * @returns {boolean}
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
  const pane = state.active;
  if (pane?.kind === "private" && (!text.startsWith("/") || text.startsWith("//"))) {
    // In a private conversation, a line is a private message to it.
    const words = text.startsWith("//") ? text.slice(1) : text;
    const line = "/msg " + pane.name + " " + words;
    if (encoder.encode(line).length > state.maxLine) {
      showInputError(say.tooLongHere(encoder.encode(line).length, state.maxLine));
      return false;
    }
    keepMsgWords(request({ type: "line", text: line }, "typed"), line);
    return true;
  }
  if (features.join !== false) {
    const command = /^\/(join|part)(?:\s+(\S+)(?:\s+(\S+))?)?\s*$/iu.exec(text);
    if (command && command[1].toLowerCase() === "join" && command[2]) {
      return joinRoom(command[2], command[3]);
    }
    if (command && command[1].toLowerCase() === "part" && features.join) {
      const parted = command[2] ? state.panes.get("#" + roomKey(command[2])) : pane;
      if (parted?.kind === "room" && parted.joined) return partRoom(parted);
    }
  }
  // Several rooms kept: a line goes to the room of the pane it is typed in.
  const room = pane?.kind === "room" && pane.joined && features.join ? pane.name : state.room;
  const ref = request(
    room !== state.room || features.join ? { type: "line", text, room } : { type: "line", text },
    "typed",
  );
  keepMsgWords(ref, text);
  const own = ownLine(text);
  if (own) {
    const item = showChat(own.kind, state.name, own.text, {
      own: true,
      pane: roomPane(room),
    });
    state.pending.push({ ...own, room, ref, item });
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

/**
 * Completes the word before the cursor: a command at the start of the line, else a name of
 * someone in the room or of a conversation; Tab again gives the next match.
 */
function complete() {
  const input = ui.input;
  const cursor = input.selectionStart ?? input.value.length;
  let done = state.completion;
  if (!done) {
    const before = input.value.slice(0, cursor);
    const start = before.search(/\S*$/u);
    const stem = before.slice(start);
    if (!stem) return false;
    const lower = stem.toLowerCase();
    /** @type {string[]} */
    let pool;
    let suffix = " ";
    if (start === 0 && stem.startsWith("/")) {
      pool = state.commands;
    } else {
      const names = new Set(state.members);
      for (const pane of state.panes.values()) if (pane.kind === "private") names.add(pane.name);
      names.delete(state.name);
      pool = [...names];
      if (start === 0) suffix = ": ";
    }
    const matches = pool.filter((word) => word.toLowerCase().startsWith(lower)).sort((a, b) =>
      a.localeCompare(b)
    );
    if (matches.length === 0) return false;
    done = state.completion = { start, matches, index: -1, suffix };
  }
  done.index = (done.index + 1) % done.matches.length;
  const word = done.matches[done.index] + done.suffix;
  const rest = input.value.slice(cursor);
  input.value = input.value.slice(0, done.start) + word + rest;
  const end = done.start + word.length;
  input.setSelectionRange(end, end);
  return true;
}

ui.input.addEventListener("keydown", (event) => {
  if (event.key === "Tab" && !event.shiftKey && !event.altKey && !event.ctrlKey) {
    // Tab completes; with nothing to complete it moves focus, as everywhere.
    if (complete()) event.preventDefault();
    return;
  }
  state.completion = null;
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
  const pane = state.active;
  if (!pane) return;
  const bottom = atBottom();
  pane.stick = bottom && pane.end === pane.recs.length;
  if (pane.stick) {
    ui.jump.hidden = true;
    markReadSoon();
    return;
  }
  if (bottom) scrolledDown();
  else if (ui.log.scrollTop < 200) scrolledUp();
});

// A pane too short to scroll still pages back: the wheel up, Home or Page Up at its top.
ui.log.addEventListener("wheel", (event) => {
  if (event.deltaY < 0 && ui.log.scrollTop === 0) scrolledUp();
}, { passive: true });
ui.log.addEventListener("keydown", (event) => {
  if ((event.key === "Home" || event.key === "PageUp") && ui.log.scrollTop === 0) scrolledUp();
});

ui.jump.addEventListener("click", () => {
  jumpToEnd();
  ui.input.focus();
});

document.addEventListener("visibilitychange", () => {
  if (!document.hidden) {
    state.unread = 0;
    showTitle();
    const pane = state.active;
    if (pane && (pane.unread || pane.mentions)) {
      pane.unread = 0;
      pane.mentions = 0;
      showConversations();
    }
    markReadSoon();
  }
});

globalThis.addEventListener("resize", () => {
  if (state.active?.stick) ui.log.scrollTop = ui.log.scrollHeight;
});

document.addEventListener("keydown", (event) => {
  // Alt+Up/Down: the conversation before or after, from anywhere in the page.
  if (!event.altKey || event.ctrlKey || event.metaKey) return;
  if (event.key !== "ArrowUp" && event.key !== "ArrowDown") return;
  if (state.phase === "offline" && !state.active) return;
  event.preventDefault();
  moveConversation(event.key === "ArrowUp" ? -1 : 1);
});

ui.memberMenu.addEventListener("keydown", (event) => {
  const items = [...ui.memberMenu.querySelectorAll("button")];
  const at = items.indexOf(/** @type {HTMLButtonElement} */ (document.activeElement));
  if (event.key === "Escape") {
    event.stopPropagation();
    const opener = ui.memberMenu.previousElementSibling;
    closeMenu();
    if (opener instanceof HTMLElement) opener.focus();
  } else if (event.key === "ArrowDown" || event.key === "ArrowUp") {
    event.preventDefault();
    const step = event.key === "ArrowDown" ? 1 : -1;
    items[(at + step + items.length) % items.length]?.focus();
  }
});

document.addEventListener("click", (event) => {
  const target = event.target;
  if (!(target instanceof Node) || ui.memberMenu.hidden) return;
  if (ui.memberMenu.contains(target) || ui.memberMenu.previousElementSibling?.contains(target)) {
    return;
  }
  closeMenu();
});

ui.notify.addEventListener("click", () => {
  if (typeof Notification === "undefined") return;
  if (Notification.permission === "granted") {
    state.notify = !state.notify;
    showNotify();
    return;
  }
  // Asked only here, when the reader asks: never on load.
  Notification.requestPermission().then((answer) => {
    state.notify = answer === "granted";
    if (answer === "denied") setStatus(say.notifyDenied);
    showNotify();
  }).catch(() => {});
});

ui.joinForm.addEventListener("submit", (event) => {
  event.preventDefault();
  const room = ui.joinName.value.trim();
  if (!room || /\s/u.test(room)) return;
  if (joinRoom(room)) ui.joinName.value = "";
  closeSide();
});

ui.searchForm.addEventListener("submit", (event) => {
  event.preventDefault();
  const text = ui.searchText.value.trim();
  if (!text || state.phase !== "joined") return;
  if (features.search === false) {
    ui.searchStatus.textContent = say.searchAbsent;
    return;
  }
  ui.searchStatus.textContent = "…";
  request({ type: "search", text: text.slice(0, 200), limit: 50 }, "search");
});

showNotify();
ui.nameInput.focus();
connect();
