/**
 * The web page that `server.ts` serves (`/`, `/app.js`, `/app.css`): a browser
 * client for the same rooms as `nc` and `client.ts`, in three embedded strings,
 * so that `deno run -N server.ts` and a compiled binary serve it without reading
 * a file, from no CDN, with no build step.
 *
 * It speaks the line protocol over the WebSocket at `/ws` (one or more lines per
 * text frame, separated by `\n`; each line the user sends is one frame) and reads
 * the server's lines with the protocol module's own functions: their source is
 * put into the script (`parseLine`, `parseHistoryLine`, `privateReceipt`,
 * `roomChange`, `helloName`, `nameChange`, `lineLimit`, and `nameColor`, which
 * gives a name the same colour as in the terminal client). So the page cannot
 * read a line, or colour a name, differently from `client.ts`.
 *
 * The HTML has no inline script or style (the server's Content-Security-Policy
 * forbids both), and the script puts every piece of text into the page as text
 * (`textContent`), never as HTML.
 *
 * @module
 */

import { ROOMS_LISTED } from "../core/commands.ts";
import {
  ACTION_LINE,
  helloName,
  lineLimit,
  LOBBY,
  MESSAGE_LINE,
  NAME_COLORS,
  NAME_PROMPT,
  NAME_SOURCE,
  nameChange,
  nameColor,
  parseHistoryLine,
  parseLine,
  passwordAsked,
  PRIVATE_LINE,
  privateReceipt,
  readNotice,
  roomChange,
  WELCOME,
} from "../core/protocol.ts";

/** The page's icon, a speech bubble (served at `/favicon.svg` and `/favicon.ico`). */
export const FAVICON_SVG = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">
<path fill="#2f6fde" d="M6 4h20a4 4 0 0 1 4 4v12a4 4 0 0 1-4 4H14l-7 6v-6H6a4 4 0 0 1-4-4V8a4 4 0 0 1 4-4z"/>
<path stroke="#fff" stroke-width="2.5" stroke-linecap="round" d="M9 11h14M9 17h9"/>
</svg>
`;

/** The page: a name form, then the room (messages, people, rooms, topic, input). */
export const PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>chat</title>
<link rel="icon" href="/favicon.svg">
<link rel="stylesheet" href="/app.css">
<script src="/app.js" defer></script>
</head>
<body>
<header id="top">
  <div class="where">
    <h1 id="room">chat</h1>
    <p id="topic"></p>
  </div>
  <p id="status" role="status"></p>
  <button id="reconnect" type="button" hidden>Reconnect now</button>
  <button id="side-toggle" type="button" aria-expanded="false" aria-controls="side" hidden>People and rooms</button>
</header>
<section id="name-view" aria-labelledby="name-label">
  <form id="name-form" autocomplete="off">
    <label id="name-label" for="name-input">What should we call you?</label>
    <div class="row">
      <input id="name-input" name="name" required autocapitalize="off" spellcheck="false" aria-describedby="name-error name-hint">
      <button id="name-submit">Join</button>
    </div>
    <p id="name-error" role="alert"></p>
    <p id="name-hint" class="hint">Letters and digits, with _ - . after the first; up to 24 characters.</p>
  </form>
</section>
<div id="chat-view" hidden>
  <main id="main">
    <ol id="log" tabindex="0" aria-label="Messages"></ol>
    <button id="jump" type="button" hidden>New messages below</button>
    <form id="form" autocomplete="off">
      <input id="input" name="line" aria-label="Message, or a command such as /help" enterkeyhint="send" spellcheck="true">
      <button id="send">Send</button>
    </form>
  </main>
  <aside id="side" aria-label="People and rooms">
    <section aria-labelledby="members-title">
      <h2 id="members-title">People</h2>
      <ul id="members"></ul>
    </section>
    <section aria-labelledby="rooms-title">
      <div class="row"><h2 id="rooms-title">Rooms</h2><button id="rooms-refresh" type="button">Refresh</button></div>
      <ul id="rooms"></ul>
    </section>
  </aside>
</div>
<div id="announce" class="sr-only" aria-live="polite" aria-relevant="additions"></div>
</body>
</html>
`;

// The script's own part. Plain JavaScript for the browser, kept as raw text: it uses
// no template literals (no `${`), so it can sit in this one without escapes.
const SCRIPT = String.raw`
const $ = (id) => document.getElementById(id);
const ui = {
  room: $("room"), topic: $("topic"), status: $("status"), reconnect: $("reconnect"),
  sideToggle: $("side-toggle"), nameView: $("name-view"), nameForm: $("name-form"),
  nameInput: $("name-input"), nameError: $("name-error"), chatView: $("chat-view"),
  log: $("log"), jump: $("jump"), form: $("form"), input: $("input"), side: $("side"),
  members: $("members"), membersTitle: $("members-title"), rooms: $("rooms"),
  roomsRefresh: $("rooms-refresh"), announce: $("announce"),
  nameLabel: $("name-label"), nameHint: $("name-hint"),
};
/** The name field's label, given back after a password question. */
const NAME_LABEL = ui.nameLabel.textContent;

/** Reconnect delays: 1 s, 2 s, 4 s … 30 s at most, as the terminal client's. */
const backoff = (attempt) => Math.min(1000 * Math.pow(2, attempt), 30000);
/** How far apart a live line and its replay may be for the replay to be skipped. */
const LIVE_SLACK = 10000;
/** Lines kept in the page; older ones go. */
const MAX_LINES = 2000;

const state = {
  ws: null,
  phase: "offline", // offline | naming | joined
  name: "", // the name the server greeted us with
  wantName: "", // the name to send at the server's question
  prompted: false, // the server has asked for a name on this connection
  nameSent: false,
  askingPassword: false, // the name is an account: the name field takes its password
  room: "", // the room we are in
  returnTo: "", // the room to go back to after a reconnect
  topic: "",
  maxLine: 4096,
  greeted: false, // the welcome was shown once
  attempt: 0,
  timer: 0,
  quit: false,
  quiet: { who: 0, rooms: 0 }, // answers to the page's own requests, not shown in the log
  roomsLeft: 0,
  roomsShown: true,
  roomList: [],
  roomsMore: 0,
  whoTimer: 0,
  seen: [], // live room lines: { line, time }, to skip their replay after a reconnect
  replayed: new Set(), // history lines shown: "time line"
  historyHeader: "", // a replay's header, held until one of its lines is shown
  historyShown: false, // a line of the current replay was shown, so its end is too
  sent: [], // input history
  recall: -1,
  draft: "",
  unread: 0,
};

// ---------------------------------------------------------------------------
// Building lines (text only: textContent, never HTML)
// ---------------------------------------------------------------------------

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function nameEl(name, own) {
  return el("span", own ? "name own-name" : "name c" + nameColor(name), name);
}

const pad = (n) => String(n).padStart(2, "0");
const hhmm = (d) => pad(d.getHours()) + ":" + pad(d.getMinutes());
const day = (d) => d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate());

function stamp(time, withDay) {
  const node = el("time", "stamp", withDay && day(time) !== day(new Date()) ? day(time) + " " + hhmm(time) : hhmm(time));
  node.dateTime = time.toISOString();
  node.title = time.toLocaleString();
  return node;
}

function atBottom() {
  const log = ui.log;
  return log.scrollHeight - log.scrollTop - log.clientHeight < 48;
}

let stick = true; // the log follows new lines until the reader scrolls up

function append(className, parts, options) {
  const opts = options || {};
  const item = el("li", "line " + className);
  item.append(stamp(opts.time || new Date(), opts.history));
  const body = el("span", "body");
  for (const part of parts) body.append(typeof part === "string" ? document.createTextNode(part) : part);
  item.append(body);
  ui.log.append(item);
  while (ui.log.childElementCount > MAX_LINES) ui.log.firstElementChild.remove();
  if (opts.own) stick = true;
  if (stick) ui.log.scrollTop = ui.log.scrollHeight;
  else ui.jump.hidden = false;
  if (opts.announce) announce(opts.announce);
  return item;
}

function announce(text) {
  ui.announce.append(el("p", "", text));
  while (ui.announce.childElementCount > 5) ui.announce.firstElementChild.remove();
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

/** Shows a message, an action or a private message; own: you sent it. */
function showChat(parsed, own, time) {
  const who = nameEl(parsed.name, own);
  if (parsed.kind === "action") {
    return append("action" + (own ? " own" : ""), ["* ", who, " ", parsed.text], { own, time, announce: own ? "" : "* " + parsed.name + " " + parsed.text });
  }
  if (parsed.kind === "private") {
    return append("private", [who, " ", el("span", "badge", "(private)"), ": ", el("span", "text", parsed.text)], { announce: "private from " + parsed.name + ": " + parsed.text });
  }
  return append("message" + (own ? " own" : ""), [who, ": ", el("span", "text", parsed.text)], { own, time, announce: own ? "" : parsed.name + ": " + parsed.text });
}

function showNotice(text, className) {
  return append("notice " + (className || ""), ["-- " + text]);
}

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

const roomKey = (room) => (room.startsWith("#") ? room.slice(1) : room).normalize("NFKC").toLowerCase();
const sameRoom = (a, b) => roomKey(a || "") === roomKey(b || "");

function showMembers(names, total) {
  ui.membersTitle.textContent = "People (" + total + ")";
  const items = names.map((name) => {
    const item = el("li");
    const button = el("button", "member");
    button.type = "button";
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
    button.type = "button";
    button.dataset.room = room.name;
    button.append(el("span", "room-name", room.name), el("span", "count", " (" + room.members + ")"));
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

/** Asks the server something whose answer only updates the side panel. */
function ask(what) {
  if (state.phase !== "joined" || !state.ws || state.ws.readyState !== WebSocket.OPEN) return;
  state.quiet[what]++;
  state.ws.send("/" + what);
}

/** Refreshes the people list a little after joins and leaves (one request for a burst). */
function whoSoon() {
  if (state.whoTimer) return;
  state.whoTimer = setTimeout(() => {
    state.whoTimer = 0;
    ask("who");
  }, 500);
}

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
      showChat(parsed, false);
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

function onNamingLine(line) {
  // The name is an account: the name field asks for its password, hidden, and the next
  // line sent is it (an empty one is not sent: the field requires a value).
  if (passwordAsked(line) !== null) return askPassword(line.slice(3));
  if (state.askingPassword) endPassword();
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
  ui.nameForm.querySelector("button").disabled = false;
  if (!ui.nameInput.value && state.name) ui.nameInput.value = state.name;
  ui.nameInput.focus();
  ui.nameInput.select();
  setStatus(state.ws ? "Connected" : "");
}

function askPassword(question) {
  state.askingPassword = true;
  state.nameSent = false;
  ui.nameLabel.textContent = question;
  ui.nameInput.type = "password";
  ui.nameInput.value = "";
  ui.nameHint.hidden = true;
  ui.nameInput.disabled = false;
  ui.nameForm.querySelector("button").disabled = false;
  ui.nameInput.focus();
}

function endPassword() {
  state.askingPassword = false;
  ui.nameLabel.textContent = NAME_LABEL;
  ui.nameInput.type = "text";
  ui.nameInput.value = "";
  ui.nameHint.hidden = false;
}

function sendName() {
  state.nameSent = true;
  ui.nameInput.disabled = true;
  ui.nameForm.querySelector("button").disabled = true;
  state.ws.send(state.wantName);
}

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
    state.ws.send("/join " + state.returnTo);
  } else {
    ask("who");
    ask("rooms");
  }
  state.returnTo = "";
}

function onNotice(line, text) {
  const receipt = privateReceipt(line);
  if (receipt) {
    append("private own", [nameEl(state.name, true), " ", el("span", "badge", "(private)"), " → ", nameEl(receipt.to, false), ": ", el("span", "text", receipt.text)], { own: true });
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
      state.roomsLeft = Math.min(notice.count, ROOMS_LISTED) + (notice.count > ROOMS_LISTED ? 1 : 0);
      state.roomList = [];
      state.roomsMore = 0;
      state.roomsShown = state.quiet.rooms === 0;
      if (state.quiet.rooms > 0) state.quiet.rooms--;
      if (state.roomsShown) showNotice(text);
      if (state.roomsLeft === 0) showRooms();
      return;
    case "topicIs":
    case "noTopic":
      if (sameRoom(notice.room, state.room)) state.topic = notice.kind === "topicIs" ? notice.topic : "";
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

function onRoomEntry(line) {
  state.roomsLeft--;
  const entry = readNotice(line.slice(3));
  if (entry && entry.kind === "moreRooms") state.roomsMore = entry.count;
  else if (entry && entry.kind === "roomEntry") state.roomList.push({ name: entry.room, members: entry.members, topic: entry.topic });
  if (state.roomsShown) showNotice(line.slice(3), "rooms-entry");
  if (state.roomsLeft === 0) showRooms();
}

/** A room line as shown live, kept so that its replay after a reconnect is skipped. */
function remember(line) {
  state.seen.push({ line, time: Date.now() });
  if (state.seen.length > 500) state.seen.shift();
}

function onHistory(replay) {
  const time = replay.time.getTime();
  const key = time + " " + replay.line;
  if (state.replayed.has(key)) return;
  const live = state.seen.findIndex((seen) => seen.line === replay.line && Math.abs(seen.time - time) < LIVE_SLACK);
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
    if (ws === state.ws) setStatus(state.name ? "Connected; joining as " + state.name + "…" : "Connected");
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
const squeeze = (text) => text.replace(/\s+/gu, " ").trim();

/** What a line you typed looks like once sent, or null when the server's answer shows it. */
function ownLine(input) {
  if (input.startsWith("//")) return { kind: "message", name: state.name, text: squeeze(input.slice(1)) };
  if (!input.startsWith("/")) return { kind: "message", name: state.name, text: squeeze(input) };
  const match = /^\/(\S+)\s*(.*)$/su.exec(input);
  if (match && match[1].toLowerCase() === "me" && match[2].trim()) {
    return { kind: "action", name: state.name, text: squeeze(match[2]) };
  }
  return null;
}

function sendLine(text) {
  if (!text.trim()) return false;
  const bytes = encoder.encode(text).length;
  if (bytes > state.maxLine) {
    showError("line too long (" + bytes + " bytes, max " + state.maxLine + "); it was not sent");
    return false;
  }
  if (state.phase !== "joined" || !state.ws || state.ws.readyState !== WebSocket.OPEN) {
    showError("not connected; it was not sent");
    return false;
  }
  state.ws.send(text);
  const own = ownLine(text);
  if (own) {
    const line = own.kind === "action" ? "* " + own.name + " " + own.text : own.name + ": " + own.text;
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
  if (event.altKey || event.ctrlKey || event.metaKey || event.shiftKey || event.isComposing) return;
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
  if (state.askingPassword) {
    if (!ui.nameInput.value || !state.ws || state.ws.readyState !== WebSocket.OPEN) return;
    ui.nameError.textContent = "";
    state.ws.send(ui.nameInput.value);
    ui.nameInput.value = "";
    ui.nameInput.disabled = true;
    ui.nameForm.querySelector("button").disabled = true;
    return;
  }
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
    const first = ui.side.querySelector("button");
    if (first) first.focus();
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
`;

/**
 * The page's script: the protocol module's line readers and colour function (their
 * own source, so the page cannot drift from `client.ts`), then the page's code.
 */
export const PAGE_JS = `"use strict";
(() => {
const LOBBY = ${JSON.stringify(LOBBY)};
const ROOMS_LISTED = ${ROOMS_LISTED};
const NAME_PROMPT = ${JSON.stringify(NAME_PROMPT)};
const WELCOME = ${JSON.stringify(WELCOME)};
const NAME_COLORS = ${JSON.stringify(NAME_COLORS)};
const NAME_SOURCE = ${JSON.stringify(NAME_SOURCE)};
const PRIVATE_LINE = new RegExp(${JSON.stringify(PRIVATE_LINE.source)}, "u");
const MESSAGE_LINE = new RegExp(${JSON.stringify(MESSAGE_LINE.source)}, "u");
const ACTION_LINE = new RegExp(${JSON.stringify(ACTION_LINE.source)}, "u");
${
  [
    nameColor,
    parseLine,
    parseHistoryLine,
    privateReceipt,
    roomChange,
    helloName,
    nameChange,
    lineLimit,
    passwordAsked,
    readNotice,
  ].map((fn) => fn.toString()).join("\n")
}
${SCRIPT}
})();
`;

/**
 * The page's style: light and dark (following the system), a side panel that
 * folds away below 720 px, and no horizontal scrolling down to 320 px.
 */
export const PAGE_CSS = `:root {
  color-scheme: light dark;
  --bg: #ffffff;
  --fg: #1f2328;
  --dim: #59636e;
  --panel: #f6f8fa;
  --border: #d1d9e0;
  --accent: #0969da;
  --error: #cf222e;
  --private: #fff8c5;
  --private-border: #d4a72c;
  --c32: #1a7f37;
  --c33: #9a6700;
  --c34: #0550ae;
  --c35: #8250df;
  --c36: #1b7c83;
  --c92: #2da44e;
  --c93: #bc4c00;
  --c94: #0969da;
  --c95: #bf3989;
  --c96: #0e7490;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #0d1117;
    --fg: #e6edf3;
    --dim: #9198a1;
    --panel: #151b23;
    --border: #3d444d;
    --accent: #4493f8;
    --error: #ff7b72;
    --private: #3a2f0b;
    --private-border: #9e6a03;
    --c32: #3fb950;
    --c33: #d29922;
    --c34: #58a6ff;
    --c35: #bc8cff;
    --c36: #39c5cf;
    --c92: #7ee787;
    --c93: #f2cc60;
    --c94: #79c0ff;
    --c95: #f778ba;
    --c96: #56d4dd;
  }
}
* { box-sizing: border-box; }
html, body { height: 100%; }
body {
  margin: 0;
  display: flex;
  flex-direction: column;
  background: var(--bg);
  color: var(--fg);
  font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "Noto Sans CJK SC", sans-serif;
}
[hidden] { display: none !important; }
button, input { font: inherit; color: inherit; }
button {
  background: var(--panel);
  border: 1px solid var(--border);
  border-radius: 6px;
  padding: 0.35rem 0.7rem;
  cursor: pointer;
}
button:hover { border-color: var(--accent); }
input {
  background: var(--bg);
  border: 1px solid var(--border);
  border-radius: 6px;
  padding: 0.45rem 0.6rem;
  min-width: 0;
}
:focus-visible { outline: 2px solid var(--accent); outline-offset: 2px; }
.sr-only {
  position: absolute;
  width: 1px;
  height: 1px;
  margin: -1px;
  overflow: hidden;
  clip: rect(0 0 0 0);
  white-space: nowrap;
}
.row { display: flex; gap: 0.5rem; align-items: center; }

#top {
  display: flex;
  flex-wrap: wrap;
  align-items: center;
  gap: 0.25rem 0.75rem;
  padding: 0.5rem 0.75rem;
  border-bottom: 1px solid var(--border);
  background: var(--panel);
}
.where { flex: 1 1 0; min-width: 0; }
#room { font-size: 1.1rem; margin: 0; overflow-wrap: anywhere; }
#topic { margin: 0; color: var(--dim); font-size: 0.9rem; overflow-wrap: anywhere; }
#status { margin: 0; color: var(--dim); font-size: 0.85rem; }

#name-view { flex: 1; display: flex; align-items: flex-start; justify-content: center; padding: 2rem 1rem; }
#name-form { width: min(26rem, 100%); display: flex; flex-direction: column; gap: 0.5rem; }
#name-form label { font-weight: 600; font-size: 1.1rem; }
#name-input { flex: 1; }
#name-error { color: var(--error); margin: 0; min-height: 1.45em; overflow-wrap: anywhere; }
.hint { color: var(--dim); font-size: 0.85rem; margin: 0; }

#chat-view {
  flex: 1;
  min-height: 0;
  display: grid;
  grid-template-columns: minmax(0, 1fr) 16rem;
  position: relative;
}
#main { display: flex; flex-direction: column; min-width: 0; min-height: 0; position: relative; }
#log {
  flex: 1;
  min-height: 0;
  overflow-y: auto;
  overflow-x: hidden;
  margin: 0;
  padding: 0.5rem 0.75rem;
  list-style: none;
}
.line { padding: 0.1rem 0; white-space: pre-wrap; overflow-wrap: anywhere; }
.stamp { color: var(--dim); font-size: 0.8rem; margin-right: 0.5rem; font-variant-numeric: tabular-nums; }
.name { font-weight: 700; }
.own-name { font-weight: 700; }
.own .text { color: var(--dim); }
.c32 { color: var(--c32); } .c33 { color: var(--c33); } .c34 { color: var(--c34); }
.c35 { color: var(--c35); } .c36 { color: var(--c36); } .c92 { color: var(--c92); }
.c93 { color: var(--c93); } .c94 { color: var(--c94); } .c95 { color: var(--c95); }
.c96 { color: var(--c96); }
.notice, .history, .other { color: var(--dim); }
.presence { font-size: 0.9rem; }
.history { opacity: 0.85; }
.action .body { font-style: italic; }
.error { color: var(--error); font-weight: 600; }
.private {
  background: var(--private);
  border-left: 3px solid var(--private-border);
  padding-left: 0.4rem;
  border-radius: 3px;
}
.private .text { font-weight: 700; }
.badge { font-size: 0.8rem; font-weight: 600; }
#jump {
  position: absolute;
  right: 1rem;
  bottom: 4rem;
  background: var(--accent);
  color: #fff;
  border: none;
}
#form { display: flex; gap: 0.5rem; padding: 0.5rem 0.75rem; border-top: 1px solid var(--border); }
#input { flex: 1; }

#side {
  border-left: 1px solid var(--border);
  background: var(--panel);
  overflow-y: auto;
  padding: 0.5rem 0.75rem;
  min-width: 0;
}
#side h2 { font-size: 0.95rem; margin: 0.5rem 0; flex: 1; }
#side ul { list-style: none; margin: 0 0 1rem; padding: 0; }
#side li button {
  width: 100%;
  text-align: left;
  background: none;
  border: 1px solid transparent;
  padding: 0.2rem 0.4rem;
  overflow-wrap: anywhere;
}
#side li button:hover { border-color: var(--border); }
#side li button[aria-current="true"] { border-color: var(--accent); font-weight: 700; }
.room-topic { display: block; color: var(--dim); font-size: 0.8rem; font-weight: 400; }
.count, .you, .more { color: var(--dim); }
.more { padding: 0.2rem 0.4rem; font-size: 0.85rem; }

@media (max-width: 720px) {
  #chat-view { grid-template-columns: minmax(0, 1fr); }
  #side { display: none; }
  #side.open {
    display: block;
    position: absolute;
    inset: 0 0 0 auto;
    width: min(18rem, 85%);
    box-shadow: -4px 0 12px rgb(0 0 0 / 0.25);
  }
  #top { padding: 0.4rem 0.5rem; }
  #status { order: 3; flex-basis: 100%; font-size: 0.8rem; }
  #log, #form { padding-left: 0.5rem; padding-right: 0.5rem; }
}
@media (min-width: 721px) {
  #side-toggle { display: none; }
}
@media (prefers-reduced-motion: no-preference) {
  #log { scroll-behavior: auto; }
}
`;
