// @ts-check
/// <reference lib="dom" />
/**
 * The page's script: a browser client for the same rooms as `nc` and
 * `client.ts`, over the WebSocket at `/ws` (one or more lines per text frame,
 * separated by `\n`; each line the user sends is one frame).
 *
 * Every piece of text goes into the page as text (`textContent`), never as HTML;
 * the page has no inline script or style (the server's Content-Security-Policy
 * forbids both).
 *
 * @module
 */

import { nameColor } from "./color.js";
import {
  helloName,
  lineLimit,
  LOBBY,
  NAME_PROMPT,
  nameChange,
  parseHistoryLine,
  parseLine,
  privateReceipt,
  readNotice,
  roomChange,
  ROOMS_LISTED,
  WELCOME,
} from "./text_lines.js";

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
  chatView: byId("chat-view", HTMLElement),
  log: byId("log", HTMLOListElement),
  jump: byId("jump", HTMLButtonElement),
  form: byId("form", HTMLFormElement),
  input: byId("input", HTMLInputElement),
  side: byId("side", HTMLElement),
  members: byId("members", HTMLUListElement),
  membersTitle: byId("members-title", HTMLElement),
  rooms: byId("rooms", HTMLUListElement),
  roomsRefresh: byId("rooms-refresh", HTMLButtonElement),
  announce: byId("announce", HTMLElement),
};

/**
 * Reconnect delays: 1 s, 2 s, 4 s … 30 s at most, as the terminal client's.
 * @param {number} attempt
 */
const backoff = (attempt) => Math.min(1000 * Math.pow(2, attempt), 30000);
/** How far apart a live line and its replay may be for the replay to be skipped. */
const LIVE_SLACK = 10000;
/** Lines kept in the page; older ones go. */
const MAX_LINES = 2000;

/** @typedef {{ name: string, members: number, topic: string }} RoomEntry */
/** @typedef {{ kind: "message" | "action" | "private", name: string, text: string }} Chat */

const state = {
  /** @type {WebSocket | null} */
  ws: null,
  /** @type {"offline" | "naming" | "joined"} */
  phase: "offline",
  name: "", // the name the server greeted us with
  wantName: "", // the name to send at the server's question
  prompted: false, // the server has asked for a name on this connection
  nameSent: false,
  room: "", // the room we are in
  returnTo: "", // the room to go back to after a reconnect
  topic: "",
  maxLine: 4096,
  greeted: false, // the welcome was shown once
  attempt: 0,
  /** @type {ReturnType<typeof setTimeout> | undefined} the next reconnect */
  timer: undefined,
  quit: false,
  quiet: { who: 0, rooms: 0 }, // answers to the page's own requests, not shown in the log
  roomsLeft: 0,
  roomsShown: true,
  /** @type {RoomEntry[]} */
  roomList: [],
  roomsMore: 0,
  /** @type {ReturnType<typeof setTimeout> | undefined} a /who soon */
  whoTimer: undefined,
  /** @type {{ line: string, time: number }[]} live room lines, to skip their replay after a reconnect */
  seen: [],
  /** @type {Set<string>} history lines shown: "time line" */
  replayed: new Set(),
  historyHeader: "", // a replay's header, held until one of its lines is shown
  historyShown: false, // a line of the current replay was shown, so its end is too
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
 * Shows a message, an action or a private message; own: you sent it.
 * @param {Chat} parsed
 * @param {boolean} own
 * @param {Date} [time]
 */
function showChat(parsed, own, time) {
  const who = nameEl(parsed.name, own);
  if (parsed.kind === "action") {
    return append("action" + (own ? " own" : ""), ["* ", who, " ", parsed.text], {
      own,
      time,
      announce: own ? "" : "* " + parsed.name + " " + parsed.text,
    });
  }
  if (parsed.kind === "private") {
    return append("private", [
      who,
      " ",
      el("span", "badge", "(private)"),
      ": ",
      el("span", "text", parsed.text),
    ], { announce: "private from " + parsed.name + ": " + parsed.text });
  }
  return append("message" + (own ? " own" : ""), [who, ": ", el("span", "text", parsed.text)], {
    own,
    time,
    announce: own ? "" : parsed.name + ": " + parsed.text,
  });
}

/**
 * @param {string} text
 * @param {string} [className]
 */
function showNotice(text, className) {
  return append("notice " + (className || ""), ["-- " + text]);
}

/** @param {string} text */
function showError(text) {
  return append("error", ["!! " + text], { announce: "error: " + text });
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
 * @param {string[]} names
 * @param {number} total
 */
function showMembers(names, total) {
  ui.membersTitle.textContent = "People (" + total + ")";
  const items = names.map((name) => {
    const item = el("li");
    const button = el("button", "member");
    button.setAttribute("type", "button");
    button.append(nameEl(name, false));
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
  // The lobby is always there to go back to, listed or not (an empty room is not).
  if (!state.roomList.some((room) => sameRoom(room.name, LOBBY))) {
    state.roomList.push({ name: LOBBY, members: 0, topic: "" });
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
  if (state.roomsMore) items.push(el("li", "more", "and " + state.roomsMore + " more"));
  ui.rooms.replaceChildren(...items);
  showRoom();
}

/**
 * Asks the server something whose answer only updates the side panel.
 * @param {"who" | "rooms"} what
 */
function ask(what) {
  if (state.phase !== "joined" || !state.ws || state.ws.readyState !== WebSocket.OPEN) return;
  state.quiet[what]++;
  state.ws.send("/" + what);
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
// Lines from the server
// ---------------------------------------------------------------------------

/** @param {string} line */
function onLine(line) {
  if (state.phase === "naming") return onNamingLine(line);
  if (state.roomsLeft > 0 && line.startsWith("-- ")) {
    const kind = readNotice(line.slice(3))?.kind;
    if (kind === "roomEntry" || kind === "moreRooms") return onRoomEntry(line);
  }
  const replay = parseHistoryLine(line);
  if (replay) return onHistory(replay);
  const parsed = parseLine(line);
  switch (parsed.kind) {
    case "message":
    case "action":
    case "private":
      if (parsed.kind !== "private") remember(line);
      showChat({ kind: parsed.kind, name: parsed.name || "", text: parsed.text }, false);
      countUnread();
      return;
    case "error":
      showError(parsed.text);
      return;
    case "notice":
      return onNotice(line, parsed.text);
    default:
      append("other", [line]);
  }
}

/** @param {string} line */
function onNamingLine(line) {
  if (line === NAME_PROMPT) {
    state.prompted = true;
    if (state.wantName && !state.nameSent) return sendName();
    if (!state.nameSent) askName();
    return;
  }
  const limit = lineLimit(line);
  if (limit !== null) state.maxLine = limit;
  const name = helloName(line);
  if (name !== null) return onJoined(name, line);
  const parsed = parseLine(line);
  if (parsed.kind === "error") {
    if (state.nameSent) {
      // The name was refused: say why, and ask again.
      state.nameSent = false;
      state.wantName = "";
      ui.nameError.textContent = parsed.text;
      ui.nameInput.setAttribute("aria-invalid", "true");
      return;
    }
    ui.nameError.textContent = parsed.text;
    return;
  }
  // The greeting is shown once, not again on each reconnect.
  if (state.greeted && (line === WELCOME || limit !== null)) return;
  if (parsed.kind === "notice" && readNotice(parsed.text)?.kind === "bye") state.quit = true;
  if (parsed.kind === "notice") showNotice(parsed.text, "greeting");
  else append("other", [line]);
}

function askName() {
  state.wantName = "";
  ui.chatView.hidden = state.name === "";
  ui.nameView.hidden = false;
  ui.nameInput.disabled = false;
  ui.nameSubmit.disabled = false;
  if (!ui.nameInput.value && state.name) ui.nameInput.value = state.name;
  ui.nameInput.focus();
  ui.nameInput.select();
  setStatus(state.ws ? "Connected" : "");
}

function sendName() {
  state.nameSent = true;
  ui.nameInput.disabled = true;
  ui.nameSubmit.disabled = true;
  state.ws?.send(state.wantName);
}

/**
 * @param {string} name
 * @param {string} line
 */
function onJoined(name, line) {
  state.phase = "joined";
  state.prompted = false;
  state.greeted = true;
  state.name = name;
  state.wantName = name;
  state.nameSent = false;
  state.attempt = 0;
  state.room = LOBBY;
  state.topic = "";
  ui.nameView.hidden = true;
  ui.nameError.textContent = "";
  ui.nameInput.removeAttribute("aria-invalid");
  ui.chatView.hidden = false;
  ui.sideToggle.hidden = false;
  setStatus("Connected as " + name);
  showRoom();
  showNotice(parseLine(line).text, "hello");
  ui.input.focus();
  if (state.returnTo && !sameRoom(state.returnTo, LOBBY)) {
    state.ws?.send("/join " + state.returnTo);
  } else {
    ask("who");
    ask("rooms");
  }
  state.returnTo = "";
}

/**
 * @param {string} line
 * @param {string} text
 */
function onNotice(line, text) {
  const receipt = privateReceipt(line);
  if (receipt) {
    append("private own", [
      nameEl(state.name, true),
      " ",
      el("span", "badge", "(private)"),
      " → ",
      nameEl(receipt.to, false),
      ": ",
      el("span", "text", receipt.text),
    ], { own: true });
    return;
  }
  const room = roomChange(line);
  if (room !== null) {
    state.room = room;
    state.topic = "";
    ui.members.replaceChildren();
    showRoom();
    showNotice(text, "room-change");
    ask("who");
    ask("rooms");
    return;
  }
  const renamed = nameChange(line);
  if (renamed !== null) {
    state.name = renamed;
    state.wantName = renamed;
    setStatus("Connected as " + renamed);
    showNotice(text);
    whoSoon();
    return;
  }
  const notice = readNotice(text);
  switch (notice?.kind) {
    case "online":
      if (sameRoom(notice.room, state.room)) showMembers(notice.names, notice.total);
      if (state.quiet.who > 0) state.quiet.who--;
      else showNotice(text);
      return;
    case "rooms":
      state.roomsLeft = Math.min(notice.count, ROOMS_LISTED) +
        (notice.count > ROOMS_LISTED ? 1 : 0);
      state.roomList = [];
      state.roomsMore = 0;
      state.roomsShown = state.quiet.rooms === 0;
      if (state.quiet.rooms > 0) state.quiet.rooms--;
      if (state.roomsShown) showNotice(text);
      if (state.roomsLeft === 0) showRooms();
      return;
    case "topicIs":
    case "noTopic":
      if (sameRoom(notice.room, state.room)) {
        state.topic = notice.kind === "topicIs" ? notice.topic : "";
      }
      showRoom();
      showNotice(text, notice.kind === "topicIs" ? "topic" : undefined);
      return;
    case "topicSet":
      state.topic = notice.topic;
      showRoom();
      showNotice(text, "topic");
      return;
    case "historyHeader":
      // Held: after a reconnect every replayed line may have been seen live.
      state.historyHeader = text;
      state.historyShown = false;
      return;
    case "historyEnd":
      state.historyHeader = "";
      if (state.historyShown) showNotice(text, "history-mark");
      state.historyShown = false;
      return;
    case "noEarlier":
      showNotice(text, "history-mark");
      return;
    case "presence":
      showNotice(text, "presence");
      whoSoon();
      return;
    case "bye":
      state.quit = true;
  }
  showNotice(text);
}

/** @param {string} line */
function onRoomEntry(line) {
  state.roomsLeft--;
  const entry = readNotice(line.slice(3));
  if (entry && entry.kind === "moreRooms") state.roomsMore = entry.count;
  else if (entry && entry.kind === "roomEntry") {
    state.roomList.push({ name: entry.room, members: entry.members, topic: entry.topic });
  }
  if (state.roomsShown) showNotice(line.slice(3), "rooms-entry");
  if (state.roomsLeft === 0) showRooms();
}

/**
 * A room line as shown live, kept so that its replay after a reconnect is skipped.
 * @param {string} line
 */
function remember(line) {
  state.seen.push({ line, time: Date.now() });
  if (state.seen.length > 500) state.seen.shift();
}

/** @param {{ time: Date, line: string }} replay */
function onHistory(replay) {
  const time = replay.time.getTime();
  const key = time + " " + replay.line;
  if (state.replayed.has(key)) return;
  const live = state.seen.findIndex((seen) =>
    seen.line === replay.line && Math.abs(seen.time - time) < LIVE_SLACK
  );
  if (live !== -1) {
    state.seen.splice(live, 1);
    return;
  }
  state.replayed.add(key);
  if (state.historyHeader) showNotice(state.historyHeader, "history-mark");
  state.historyHeader = "";
  state.historyShown = true;
  append("history", [replay.line], { time: replay.time, history: true });
}

// ---------------------------------------------------------------------------
// The connection
// ---------------------------------------------------------------------------

/** @param {string} text */
function setStatus(text) {
  ui.status.textContent = text;
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
    ws = new WebSocket(url.href);
  } catch {
    return scheduleReconnect();
  }
  state.ws = ws;
  state.phase = "naming";
  state.prompted = false;
  state.nameSent = false;
  state.roomsLeft = 0;
  state.quiet = { who: 0, rooms: 0 };
  state.historyHeader = "";
  state.historyShown = false;
  ws.addEventListener("open", () => {
    if (ws === state.ws) {
      setStatus(state.name ? "Connected; joining as " + state.name + "…" : "Connected");
    }
  });
  ws.addEventListener("message", (event) => {
    if (ws !== state.ws || typeof event.data !== "string") return;
    const lines = event.data.split("\n");
    if (lines[lines.length - 1] === "") lines.pop();
    for (const line of lines) onLine(line);
  });
  ws.addEventListener("close", () => {
    if (ws !== state.ws) return;
    state.ws = null;
    const wasIn = state.phase === "joined";
    state.phase = "offline";
    if (wasIn) {
      state.returnTo = state.room;
      showNotice("disconnected", "local");
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
 * What a line you typed looks like once sent, or null when the server's answer shows it.
 * @param {string} input
 * @returns {Chat | null}
 */
function ownLine(input) {
  if (input.startsWith("//")) {
    return { kind: "message", name: state.name, text: squeeze(input.slice(1)) };
  }
  if (!input.startsWith("/")) return { kind: "message", name: state.name, text: squeeze(input) };
  const match = /^\/(\S+)\s*(.*)$/su.exec(input);
  if (match && match[1].toLowerCase() === "me" && match[2].trim()) {
    return { kind: "action", name: state.name, text: squeeze(match[2]) };
  }
  return null;
}

/**
 * Sends a line as typed; false when it was not sent (and the log says why).
 * @param {string} text
 */
function sendLine(text) {
  if (!text.trim()) return false;
  const bytes = encoder.encode(text).length;
  if (bytes > state.maxLine) {
    showError(
      "line too long (" + bytes + " bytes, max " + state.maxLine + "); it was not sent",
    );
    return false;
  }
  if (state.phase !== "joined" || !state.ws || state.ws.readyState !== WebSocket.OPEN) {
    showError("not connected; it was not sent");
    return false;
  }
  state.ws.send(text);
  const own = ownLine(text);
  if (own) {
    const line = own.kind === "action"
      ? "* " + own.name + " " + own.text
      : own.name + ": " + own.text;
    remember(line);
    showChat(own, true);
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
  const name = ui.nameInput.value.trim();
  if (!name) return;
  ui.nameError.textContent = "";
  ui.nameInput.removeAttribute("aria-invalid");
  state.wantName = name;
  state.nameSent = false;
  if (state.prompted && state.ws && state.ws.readyState === WebSocket.OPEN) sendName();
  else if (!state.ws) connect(); // at the server's question, the name is sent
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
