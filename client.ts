/**
 * A terminal client for the chat room in `server.ts`.
 *
 * ```sh
 * deno run -N client.ts                      # asks for a name, joins 127.0.0.1:1801
 * deno run -N client.ts --name ann --host chat.example --port 1801
 * printf 'hello\n' | deno run -N client.ts --name bot     # post one line and leave
 * deno run -N client.ts --name logger --listen --timestamps=iso > chat.log  # send nothing
 * deno run -N -R client.ts --ca ca.pem --host chat.example  # TLS, trusting a private CA
 * ```
 *
 * In a terminal it shows a prompt (`ann@lobby> `: your name and room) with
 * line editing and history; lines from the room appear above what you are
 * typing, names in colour. A room's history, replayed on entering it or asked
 * for with `/history`, is shown dim with the time each line was sent, and not
 * twice after a reconnect. With stdin not a terminal it is a plain filter:
 * each stdin line is sent, each received line is printed (replayed lines as
 * they came, `[TIME] LINE`), and it leaves at the end of stdin.
 *
 * What the server's lines mean comes from `src/core/protocol.ts`, which the server
 * shares, so the two cannot drift.
 *
 * The file is also a library: {@linkcode runClient} runs a session over any
 * streams, so tests (or other programs) drive it without a terminal.
 *
 * @module
 */

import { parseArgs } from "node:util";
import * as readline from "node:readline";
import { EventEmitter } from "node:events";
import process from "node:process";
import { LOBBY, roomKey, sanitize } from "./src/core/protocol.ts";
import {
  helloName,
  lineLimit,
  NAME_PROMPT,
  nameChange,
  nameColor,
  parseHistoryLine,
  parseLine,
  passwordAsked,
  privateReceipt,
  readNotice,
  roomChange,
  say,
} from "./src/text/protocol.ts";

// Part of this module's interface since before they moved to the protocol module.
export { sanitize } from "./src/core/protocol.ts";
export { NAME_PROMPT, type ParsedLine, parseLine } from "./src/text/protocol.ts";

// ---------------------------------------------------------------------------
// Options
// ---------------------------------------------------------------------------

/** How {@linkcode runClient} connects, reads, prints and recovers. */
export interface ClientOptions {
  /** Server host. Default `127.0.0.1`. */
  host?: string;
  /** Server port. Default 1801. */
  port?: number;
  /** Name to join with; without it the first input line is the name (asked for if interactive). */
  name?: string;
  /** Speak TLS. */
  tls?: boolean;
  /** PEM certificates to trust for TLS, e.g. a self-signed server certificate. */
  caCerts?: string[];
  /** What the user types: lines (without `\n`) or raw bytes split at `\n`. */
  input: ReadableStream<Uint8Array> | AsyncIterable<string>;
  /** Where display lines go: a function called once per line, or a byte stream. */
  output: WritableStream<Uint8Array> | ((line: string) => void);
  /** Where problems go (failed connection, refused name when not interactive). Default stderr. */
  errors?: (line: string) => void;
  /**
   * A person is typing: ask again for a refused name, echo your own messages,
   * report connection trouble in `output`. Otherwise a refused name ends the session (code 2).
   */
  interactive?: boolean;
  /** Style lines with ANSI colours. Default false. */
  color?: boolean;
  /**
   * Prefix each printed line with the time: `true` for the local time as `HH:MM`,
   * `"iso"` for the full UTC time in ISO 8601 (`2026-11-29T04:51:50.123Z`). Default false.
   */
  timestamps?: boolean | "iso";
  /**
   * Reconnect (same name, back to the same room) when an established connection
   * drops or a write to it fails. Default: same as `interactive`.
   */
  reconnect?: boolean;
  /** Never read `input`; stay connected and print until stopped. Default false. */
  listen?: boolean;
  /** Opens the connection; replaces host, port and TLS settings (tests use it). */
  connect?: () => Promise<Deno.Conn>;
  /**
   * Milliseconds a new connection may take to finish its TLS handshake, and then
   * for the server to ask for a name: a server that never greets fails the
   * connection (the first one exits 1). Default 10 s.
   */
  greetingTimeout?: number;
  /** Milliseconds to wait before reconnect attempt `n` (0-based). Default 1 s, 2 s, 4 s … 30 s. */
  reconnectDelay?: (attempt: number) => number;
  /** Called with the prompt to show: `name> ` while asking for a name, then `NAME@ROOM> `. */
  setPrompt?: (prompt: string) => void;
  /**
   * The password to answer the server with when the name is registered (from
   * `--password-file` or `CHAT_PASSWORD`). Without it an interactive client asks
   * (see `hideInput`), and any other exits 2.
   */
  password?: string;
  /** Called with `true` while the next line typed is a password: the terminal shows none of it. */
  hideInput?: (hidden: boolean) => void;
  /** Aborting leaves the room cleanly, as the end of input does. */
  signal?: AbortSignal;
  /** The clock for `timestamps`. Default `() => new Date()`. */
  now?: () => Date;
  /**
   * The terminal's width, asked before each line (a terminal can be resized):
   * when `interactive`, longer lines are wrapped to it with a hanging indent
   * (see {@linkcode wrapLine}). Default: no wrapping.
   */
  columns?: () => number;
}

const DEFAULT_HOST = "127.0.0.1";
const DEFAULT_PORT = 1801;
/** How long a server may take to greet a new connection. */
const GREETING_TIMEOUT = 10_000;
/** How long to wait for the server to close after we have said goodbye. */
const LEAVE_TIMEOUT = 1000;
/** Longest line kept from the server; more is cut so a bad peer cannot eat memory. */
const MAX_LINE = 64 * 1024;
/** Room lines remembered to skip when a reconnect replays them again (see `Client.#seen`). */
const SEEN_MAX = 500;
/**
 * How far apart the server's time of a line and the time it arrived live may be for
 * a replay of it to count as shown: the server's time is cut to the second, the line
 * may wait in queues, and the two clocks may differ a little.
 */
const LIVE_SLACK = 10_000;
/** Lines of a replay held to be shown at its end, at most; a longer one is shown as it comes. */
const HOLD_MAX = 1000;

const encoder = new TextEncoder();

/** The default reconnect schedule: 1 s, 2 s, 4 s … capped at 30 s. */
export function backoff(attempt: number): number {
  return Math.min(1000 * 2 ** attempt, 30_000);
}

// ---------------------------------------------------------------------------
// Text: styling lines (cleaning and classifying them is the protocol's)
// ---------------------------------------------------------------------------

// A name's colour (an ANSI code) is the protocol module's, which the web page shares.
export { nameColor };

const sgr = (on: string, off: string) => (text: string) => `\x1b[${on}m${text}\x1b[${off}m`;
const bold = sgr("1", "22");
const dim = sgr("2", "22");
const italic = sgr("3", "23");
const red = sgr("31", "39");
const inverse = sgr("7", "27");
const colored = (name: string) => sgr(`1;${nameColor(name)}`, "22;39")(name);

/** How {@linkcode formatLine} styles a line. */
export interface FormatOptions {
  /** Use ANSI styles. */
  color: boolean;
  /** The line is something you sent (shown in your own style). */
  own?: boolean;
  /** Prefix with this time, as `HH:MM` (local) unless `iso`. */
  time?: Date;
  /** Show `time` in full, as an ISO 8601 UTC time. */
  iso?: boolean;
  /** The present, which a replayed line's time is shown against (see {@linkcode historyStamp}). */
  now?: Date;
}

/**
 * Cleans a server line and styles it for display. A line replayed from a room's
 * history (`[TIME] LINE`) shows the time it was first sent, not `time`, in brackets
 * (see {@linkcode historyStamp}), and is dim as a whole: no name colour, no bold,
 * no private highlight, so it never looks like a live line.
 */
export function formatLine(line: string, options: FormatOptions): string {
  const text = sanitize(line);
  const replayed = parseHistoryLine(text);
  if (replayed) {
    const shown = `[${historyStamp(replayed.time, options.iso, options.now)}] ${replayed.line}`;
    return options.color ? dim(shown) : shown;
  }
  const stamp = options.time ? `${timestamp(options.time, options.iso)} ` : "";
  if (!options.color) return stamp + text;
  const parsed = parseLine(text);
  const who = (name: string) => options.own ? bold(name) : colored(name);
  const sent = options.own ? SENT_PRIVATE.exec(text) : null;
  let body: string;
  switch (sent ? "sent" : parsed.kind) {
    case "sent":
      body = `${bold(sent![1])} ${inverse("(private)")} → ${colored(sent![2])}: ${bold(sent![3])}`;
      break;
    case "notice":
      body = dim(text);
      break;
    case "error":
      body = red(text);
      break;
    case "action":
      body = italic(`* ${who(parsed.name!)} ${parsed.text}`);
      break;
    case "private":
      body = `${who(parsed.name!)} ${inverse("(private)")}: ${bold(parsed.text)}`;
      break;
    case "message":
      body = `${who(parsed.name!)}: ${options.own ? dim(parsed.text) : parsed.text}`;
      break;
    default:
      body = text;
  }
  return (stamp ? dim(stamp) : "") + body;
}

/** `time` as the local `HH:MM`, or in full as an ISO 8601 UTC time. */
export function timestamp(time: Date, iso = false): string {
  if (iso) return time.toISOString();
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${pad(time.getHours())}:${pad(time.getMinutes())}`;
}

/**
 * When a replayed line was first sent: with `iso`, the UTC time to the second, as
 * the server gives it (`2026-11-29T04:51:50Z`); else the local `HH:MM`, after the
 * local date (`2026-11-28 23:59`) when that is not the day of `now`.
 */
export function historyStamp(time: Date, iso = false, now = new Date()): string {
  if (iso) return time.toISOString().slice(0, 19) + "Z";
  const pad = (n: number) => String(n).padStart(2, "0");
  const date = (d: Date) => `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
  return date(time) === date(now) ? timestamp(time) : `${date(time)} ${timestamp(time)}`;
}

/** How a private message you sent is shown, once the server has confirmed it. */
export function sentPrivateLine(name: string, to: string, text: string): string {
  return `${name} (private) → ${to}: ${text}`;
}

// What sentPrivateLine makes. No line from the server has this form (see parseLine).
const SENT_PRIVATE = /^(\S+) \(private\) → (\S+): (.*)$/su;

/**
 * How a line you typed looks once sent, or `null` for a command the server's reply
 * shows (`/join`, `/rooms`, `/topic`, `/who`, `/nick`, `/history`, `/help`, a usage error …).
 * Only messages and actions are not echoed back to their sender; a private
 * message (`/msg`) is shown when the server confirms it (see {@linkcode sentPrivateLine}),
 * so one to no one is never shown as sent.
 */
export function ownLine(name: string, input: string): string | null {
  if (input.startsWith("//")) return `${name}: ${input.slice(1)}`;
  if (!input.startsWith("/")) return `${name}: ${input}`;
  const match = /^\/(\S+)\s*(.*)$/s.exec(input);
  const command = match?.[1].toLowerCase();
  const rest = match?.[2].trim() ?? "";
  if (command === "me" && rest) return `* ${name} ${rest}`;
  return null;
}

// Terminal cell widths, following the rules readline uses to lay out its line.
const WIDE = /\p{Emoji_Presentation}/u;
const ZERO_WIDTH = /[\p{Mn}\p{Me}\u200b-\u200f\ufe00-\ufe0f]/u;

function charWidth(char: string): number {
  const code = char.codePointAt(0)!;
  if (code < 0x20 || (code >= 0x7f && code < 0xa0) || ZERO_WIDTH.test(char)) return 0;
  if (
    code >= 0x1100 && (code <= 0x115f || code === 0x2329 || code === 0x232a ||
      (code >= 0x2e80 && code <= 0x3247 && code !== 0x303f) ||
      (code >= 0x3250 && code <= 0x4dbf) || (code >= 0x4e00 && code <= 0xa4c6) ||
      (code >= 0xa960 && code <= 0xa97c) || (code >= 0xac00 && code <= 0xd7a3) ||
      (code >= 0xf900 && code <= 0xfaff) || (code >= 0xfe10 && code <= 0xfe19) ||
      (code >= 0xfe30 && code <= 0xfe6b) || (code >= 0xff01 && code <= 0xff60) ||
      (code >= 0xffe0 && code <= 0xffe6) || (code >= 0x1b000 && code <= 0x1b001) ||
      (code >= 0x1f200 && code <= 0x1f251) || (code >= 0x1f300 && code <= 0x1f64f) ||
      (code >= 0x20000 && code <= 0x3fffd))
  ) return 2;
  return WIDE.test(char) ? 2 : 1;
}

/** How many terminal rows `text` fills past the first when wrapped at `columns` (0 = fits on one). */
export function extraRows(text: string, columns: number): number {
  let offset = 0;
  // deno-lint-ignore no-control-regex
  for (const char of text.replace(/\x1b\[[0-9;]*[A-Za-z]/g, "")) {
    const width = charWidth(char);
    // A wide character never straddles two rows: it moves to the next one.
    if (width === 2 && (offset + 1) % columns === 0) offset++;
    offset += width;
  }
  return Math.floor(offset / columns);
}

/**
 * Cells for `char` when wrapping: as {@linkcode extraRows} counts, but a
 * character followed by the emoji presentation selector counts two, as many
 * terminals draw it. Wrapping must never count fewer cells than the terminal
 * draws, or the terminal would wrap a row itself, with no indent.
 */
function wrapWidth(char: string, next: string | undefined): number {
  const width = charWidth(char);
  return width === 1 && next === "\ufe0f" ? 2 : width;
}

/**
 * How far a display line's continuation rows are indented: past the sender's
 * name (`bob: `, `* bob `, `bob (private): `, `ann (private) → bob: `), `-- ` or
 * `!! `, else 2; `stamp` is the width of a timestamp before it.
 */
export function hangingIndent(line: string, stamp = 0): number {
  const text = sanitize(line);
  const parsed = parseLine(text);
  const width = (text: string) => [...text].reduce((sum, char) => sum + charWidth(char), 0);
  const sent = parsed.kind === "other" ? SENT_PRIVATE.exec(text) : null;
  if (sent) return stamp + width(sent[1]) + width(" (private) → ") + width(sent[2]) + 2;
  switch (parsed.kind) {
    case "message":
      return stamp + width(parsed.name!) + 2;
    case "action":
      return stamp + width(parsed.name!) + 3;
    case "private":
      return stamp + width(parsed.name!) + 12;
    case "notice":
    case "error":
      return stamp + 3;
    default:
      return stamp + 2;
  }
}

/** One unit of a display line: an ANSI escape (no width) or a character. */
interface Cell {
  text: string;
  width: number;
  space: boolean;
}

// deno-lint-ignore no-control-regex
const CELLS = /\x1b\[[0-9;]*[A-Za-z]|[^]/gu;

/**
 * Wraps a display line (ANSI styles allowed) into rows of at most `columns`
 * cells, breaking at a space where it can, and starts every row after the
 * first with `indent` spaces (at most half the width, at least one). A
 * continuation can so never pass for a line of its own, whatever padding a
 * sender puts before text that reads like one (`bob (private): …`): lines
 * from the server never start with a space. Joined with `\n`.
 */
export function wrapLine(line: string, columns: number, indent: number): string {
  if (columns < 4) return line;
  indent = Math.max(1, Math.min(indent, Math.floor(columns / 2)));
  const cells: Cell[] = [];
  const parts = line.match(CELLS) ?? [];
  for (let i = 0; i < parts.length; i++) {
    const text = parts[i];
    const width = text.length > 2 && text[0] === "\x1b" ? 0 : wrapWidth(text, parts[i + 1]);
    cells.push({ text, width, space: text === " " });
  }
  const rows: string[] = [];
  const pad = " ".repeat(indent);
  let row: Cell[] = [];
  let used = 0;
  let start = 0; // where this row's own cells begin (after its indent)
  const finish = (cut: number, skip: number) => {
    rows.push(row.slice(0, cut).map((cell) => cell.text).join(""));
    row = [{ text: pad, width: indent, space: false }, ...row.slice(cut + skip)];
    used = row.reduce((sum, cell) => sum + cell.width, 0);
    start = 1;
  };
  for (const cell of cells) {
    if (used + cell.width > columns) {
      if (cell.space) {
        // Break at this space; it is not carried to the next row.
        finish(row.length, 0);
        continue;
      }
      let space = -1;
      for (let i = row.length - 1; i >= start; i--) {
        if (row[i].space) {
          space = i;
          break;
        }
      }
      // Break at the last space, carrying the word begun since to the next row,
      // unless that word would not fit there either: then break where the row ends.
      let carried = cell.width;
      for (let i = space + 1; i < row.length; i++) carried += row[i].width;
      if (space > start && indent + carried <= columns) finish(space, 1);
      else finish(row.length, 0);
    }
    row.push(cell);
    used += cell.width;
  }
  rows.push(row.map((cell) => cell.text).join(""));
  return rows.join("\n");
}

// ---------------------------------------------------------------------------
// Lines in: a socket or a byte stream, split at `\n` byte by byte
// ---------------------------------------------------------------------------

/** Splits bytes into lines at `\n` (dropping a `\r` before it); decodes each line once whole. */
class LineSplitter {
  #tail: Uint8Array | null = null;
  #decoder = new TextDecoder(); // not fatal: bad bytes become U+FFFD

  /** The complete lines in `chunk`; an unfinished end is kept for the next call. */
  push(chunk: Uint8Array): string[] {
    const lines: string[] = [];
    let start = 0;
    for (let nl = chunk.indexOf(10); nl !== -1; nl = chunk.indexOf(10, start)) {
      lines.push(this.#decode(this.#join(chunk.subarray(start, nl))));
      start = nl + 1;
    }
    if (start < chunk.length) {
      const rest = this.#join(chunk.subarray(start));
      // Cut an endless line rather than grow without bound.
      if (rest.length > MAX_LINE) lines.push(this.#decode(rest));
      else this.#tail = rest.slice();
    }
    return lines;
  }

  /** The unterminated last line at end of input, if any. */
  finish(): string | null {
    const tail = this.#tail;
    this.#tail = null;
    return tail && tail.length > 0 ? this.#decode(tail) : null;
  }

  #join(bytes: Uint8Array): Uint8Array {
    const tail = this.#tail;
    if (!tail) return bytes;
    this.#tail = null;
    const joined = new Uint8Array(tail.length + bytes.length);
    joined.set(tail);
    joined.set(bytes, tail.length);
    return joined;
  }

  #decode(bytes: Uint8Array): string {
    if (bytes.length > 0 && bytes[bytes.length - 1] === 13) bytes = bytes.subarray(0, -1);
    return this.#decoder.decode(bytes);
  }
}

/** Reads lines from a connection with `conn.read`. */
class ConnLines {
  #splitter = new LineSplitter();
  #ready: string[] = [];
  #buffer = new Uint8Array(16 * 1024);
  #done = false;

  constructor(readonly conn: Deno.Conn) {}

  /** The next line, or `null` once the server has closed. */
  async next(): Promise<string | null> {
    while (this.#ready.length === 0) {
      if (this.#done) return null;
      const n = await this.conn.read(this.#buffer);
      if (n === null) {
        this.#done = true;
        const last = this.#splitter.finish();
        if (last !== null) this.#ready.push(last);
      } else {
        this.#ready.push(...this.#splitter.push(this.#buffer.subarray(0, n)));
      }
    }
    return this.#ready.shift()!;
  }
}

/** Input lines one at a time, from either kind of input; `cancel` stops a pending read. */
interface LineSource {
  next(): Promise<string | null>;
  cancel(): void;
}

function lineSource(input: ReadableStream<Uint8Array> | AsyncIterable<string>): LineSource {
  if (input instanceof ReadableStream) {
    const reader = input.getReader();
    const splitter = new LineSplitter();
    const ready: string[] = [];
    let done = false;
    return {
      async next() {
        while (ready.length === 0) {
          if (done) return null;
          const result = await reader.read();
          if (result.done) {
            done = true;
            const last = splitter.finish();
            if (last !== null) ready.push(last);
          } else {
            ready.push(...splitter.push(result.value));
          }
        }
        return ready.shift()!;
      },
      cancel() {
        reader.cancel().catch(() => {});
      },
    };
  }
  const iterator = input[Symbol.asyncIterator]();
  return {
    async next() {
      const result = await iterator.next();
      return result.done ? null : result.value;
    },
    cancel() {
      iterator.return?.()?.catch?.(() => {});
    },
  };
}

// ---------------------------------------------------------------------------
// The session
// ---------------------------------------------------------------------------

/** How one connection ended. */
type Ending =
  | { done: number }
  | { lost: string }
  /** The connection ended before we joined: `greeted` if the server had asked for a name. */
  | { failed: string; greeted: boolean };

/** A write to the server failed: the connection is gone, as when a read fails. */
class WriteFailed extends Error {}

/** A command (not a `//` escaped message) that ends the session: the server says bye and closes. */
const QUIT = /^\/quit(?:\s|$)/i;
/** A line the server takes as a command, before a name as after. */
const isCommand = (text: string) => text.startsWith("/") && !text.startsWith("//");

/** A room line shown in this session: live (when it arrived), or replayed (when it was sent). */
interface SeenLine {
  /** The room's key. */
  room: string;
  /** The line, spaces squeezed as the server does. */
  text: string;
  /** Milliseconds since the epoch. */
  time: number;
  /** `time` is the server's (the line was replayed, or matched a replay), not our clock's. */
  exact: boolean;
}

/** A replayed line: the line as the server sent it, its time and the line inside. */
interface Replayed {
  line: string;
  time: Date;
  text: string;
}

/** A block of history being received, from its header to `-- end of history`. */
interface HistoryBlock {
  /** The room it is of, as the header names it. */
  room: string;
  /** An answer to `/history` (`-- earlier in …`), not a replay on entering the room. */
  earlier: boolean;
  /** The header line, and the count it states. */
  header: string;
  count: number;
  /**
   * `show`: as it comes. `skip`: a replay after a reconnect; lines shown before in this
   * session are skipped, the rest held to the end, for a header with the right count.
   * `drop`: the lobby's replay while a reconnect is on its way back to another room.
   */
  mode: "show" | "skip" | "drop";
  held: Replayed[];
  skipped: number;
  headerShown: boolean;
  /** Remembered lines already matched by one of this block's (each matches one line). */
  used: Set<SeenLine>;
}

/** The room and the count stated by a history header line, or `null`. */
function historyHeader(line: string): { room: string; earlier: boolean; count: number } | null {
  const notice = line.startsWith("-- ") ? readNotice(line.slice(3)) : null;
  return notice?.kind === "historyHeader" ? notice : null;
}

/** A room line as the server keeps it: runs of spaces squeezed, no space at either end. */
const squeeze = (text: string) => text.replace(/ {2,}/g, " ").trim();

type Event =
  | { type: "line"; line: string | null }
  | { type: "readError"; error: unknown }
  | { type: "input"; line: string | null }
  | { type: "timeout" }
  | { type: "noGreeting" };

/**
 * Runs a chat session until the user leaves or it cannot go on.
 *
 * Returns the exit code: 0 after leaving cleanly (end of input, `/quit`,
 * `signal` aborted), 1 when the connection fails or drops (and is not
 * re-established), 2 when a non-interactive session's name is refused.
 */
export async function runClient(options: ClientOptions): Promise<number> {
  const client = new Client(options);
  try {
    return await client.run();
  } finally {
    await client.dispose();
  }
}

class Client {
  readonly host: string;
  readonly port: number;
  readonly interactive: boolean;
  readonly reconnect: boolean;
  readonly greetingTimeout: number;
  name: string | undefined;
  /** The most bytes the server takes in a line, once its greeting has said so. */
  maxLine: number | null = null;
  /** The room we are in (or were in, while the connection is down). */
  room = LOBBY;
  /** The room to go back to after a reconnect, until the server says we are in one. */
  returnTo: string | null = null;
  /** The password of our name's account: given, or typed and accepted (for reconnects). */
  password: string | undefined;
  #input: LineSource;
  /** The one outstanding read of input; it outlives a dropped connection. */
  #pendingInput: Promise<Event> | null = null;
  #print: (line: string) => void;
  #flushOutput: () => Promise<void>;
  #errors: (line: string) => void;
  #aborted: Promise<Event>;
  #onAbort = () => {};
  /**
   * The last room lines shown, live or replayed, oldest first (at most SEEN_MAX): a
   * reconnect replays a room's last lines, and those shown already are not shown again.
   * A replayed line matches one shown replayed with the same time and text; or one
   * shown live, with the same text, that arrived within LIVE_SLACK of the line's
   * time, which from then on counts as that line. A clock further off the server's
   * shows such lines twice, rather than hide a new line that says the same.
   */
  #seen: SeenLine[] = [];

  constructor(readonly options: ClientOptions) {
    this.host = options.host ?? DEFAULT_HOST;
    this.port = options.port ?? DEFAULT_PORT;
    this.interactive = options.interactive ?? false;
    this.reconnect = options.reconnect ?? this.interactive;
    this.greetingTimeout = options.greetingTimeout ?? GREETING_TIMEOUT;
    this.name = options.name;
    this.password = options.password;
    this.#input = lineSource(options.input);
    this.#errors = options.errors ?? ((line) => console.error(line));
    const output = options.output;
    if (typeof output === "function") {
      this.#print = output;
      this.#flushOutput = () => Promise.resolve();
    } else {
      // Writes are chained so lines keep their order; errors surface at the end.
      const writer = output.getWriter();
      let chain = Promise.resolve();
      this.#print = (line) => {
        chain = chain.then(() => writer.write(encoder.encode(line + "\n")));
      };
      this.#flushOutput = async () => {
        try {
          await chain;
        } finally {
          writer.releaseLock();
        }
      };
    }
    // An abort reads as the end of input: the user is leaving.
    this.#aborted = new Promise((resolve) => {
      this.#onAbort = () => resolve({ type: "input", line: null });
      if (options.signal?.aborted) this.#onAbort();
      options.signal?.addEventListener("abort", this.#onAbort, { once: true });
    });
  }

  get address(): string {
    return `${this.host}:${this.port}`;
  }

  async dispose(): Promise<void> {
    this.options.signal?.removeEventListener("abort", this.#onAbort);
    this.#input.cancel();
    await this.#flushOutput();
  }

  /**
   * Prints a line from the server (or one of ours) in the display style. A replayed
   * line is shown with the time it was sent, dim (see {@linkcode formatLine}); when not
   * interactive it is printed as it came, marked already.
   */
  show(line: string, own = false): void {
    const replayed = parseHistoryLine(sanitize(line));
    if (replayed && !this.interactive) return this.#print(sanitize(line));
    const now = (this.options.now ?? (() => new Date()))();
    const time = this.options.timestamps && !replayed ? now : undefined;
    const iso = this.options.timestamps === "iso";
    const color = this.options.color ?? false;
    const shown = formatLine(line, { color, own, time, iso, now });
    const columns = this.interactive ? this.options.columns?.() : undefined;
    if (!columns) return this.#print(shown);
    let stamp = time ? timestamp(time, iso).length + 1 : 0;
    if (replayed) stamp = `[${historyStamp(replayed.time, iso, now)}] `.length;
    this.#print(wrapLine(shown, columns, hangingIndent(replayed?.line ?? line, stamp)));
  }

  /** Notes a room line shown, to know it again in a replay. */
  remember(room: string, text: string, time: number, exact: boolean): void {
    this.#seen.push({ room: roomKey(room), text: squeeze(text), time, exact });
    if (this.#seen.length > SEEN_MAX) this.#seen.shift();
  }

  /** Whether `line`, replayed in `block`, was shown before in this session (see #seen). */
  shownBefore(block: HistoryBlock, line: Replayed): boolean {
    const room = roomKey(block.room);
    const text = squeeze(line.text);
    const time = line.time.getTime();
    for (const seen of this.#seen) {
      if (seen.room !== room || seen.text !== text || block.used.has(seen)) continue;
      if (seen.exact ? seen.time !== time : Math.abs(seen.time - time) > LIVE_SLACK) continue;
      block.used.add(seen);
      seen.time = time;
      seen.exact = true;
      return true;
    }
    return false;
  }

  /** Shows a replayed line of `room`'s, and remembers it. */
  showReplayed(room: string, line: Replayed): void {
    this.remember(room, line.text, line.time.getTime(), true);
    this.show(line.line);
  }

  /** Starts a history block at its header; `restoring`: a reconnect is taking us back. */
  startBlock(header: string, restoring: boolean): HistoryBlock {
    const { room, earlier, count } = historyHeader(header)!;
    let mode: HistoryBlock["mode"] = "show";
    if (!earlier && this.returnTo !== null && roomKey(room) !== roomKey(this.returnTo)) {
      mode = "drop";
    } else if (!earlier && restoring) {
      mode = "skip";
    }
    const block: HistoryBlock = {
      room,
      earlier,
      header,
      count,
      mode,
      held: [],
      skipped: 0,
      headerShown: false,
      used: new Set(),
    };
    if (mode === "show") this.#showHeader(block);
    return block;
  }

  /** Takes one line of a history block. */
  blockLine(block: HistoryBlock, line: Replayed): void {
    if (block.mode === "drop") return;
    if (block.mode === "skip" && this.shownBefore(block, line)) {
      block.skipped++;
      return;
    }
    if (block.headerShown) return this.showReplayed(block.room, line);
    block.held.push(line);
    if (block.held.length >= HOLD_MAX) this.#showHeader(block, block.count - block.skipped);
  }

  /** Shows what is left of a history block: at its end line (`ended`), or cut short. */
  endBlock(block: HistoryBlock, ended: boolean): void {
    if (block.mode === "drop") return;
    // A replay of nothing but lines shown already says nothing at all.
    if (!block.headerShown && block.held.length === 0 && block.skipped > 0) return;
    if (!block.headerShown) this.#showHeader(block, block.held.length);
    if (ended) this.show(say.historyEnd);
  }

  /** Shows a block's header, with `count` if lines were skipped, and the lines held. */
  #showHeader(block: HistoryBlock, count = block.count): void {
    const { room, earlier } = block;
    let header = block.header;
    if (block.skipped > 0) header = (earlier ? say.earlierHeader : say.historyHeader)(room, count);
    this.show(header);
    block.headerShown = true;
    for (const line of block.held.splice(0)) this.showReplayed(room, line);
  }

  /** Reports the client's own news: in the chat view when interactive, else on stderr. */
  status(text: string): void {
    if (this.interactive) this.show(`-- ${text}`);
    else this.#errors(text);
  }

  /** Reports something typed that was not sent: in the chat view when interactive, else on stderr. */
  notSent(text: string): void {
    if (this.interactive) this.show(`!! ${text}`);
    else this.#errors(text);
  }

  /**
   * Opens a connection; with TLS, finishes the handshake (Deno would do it on the
   * first read), so that a bad certificate fails here, as a refused connection does,
   * and not later as if an established connection had dropped.
   */
  async connect(): Promise<Deno.Conn> {
    if (this.options.connect) return this.options.connect();
    if (!this.options.tls) return Deno.connect({ hostname: this.host, port: this.port });
    const conn = await Deno.connectTls({
      hostname: this.host,
      port: this.port,
      caCerts: this.options.caCerts,
    });
    const handshake = conn.handshake();
    handshake.catch(() => {}); // it fails once the connection is closed below
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`no TLS handshake within ${formatDelay(this.greetingTimeout)}`)),
        this.greetingTimeout,
      );
    });
    try {
      await Promise.race([handshake, late]);
      return conn;
    } catch (error) {
      conn.close();
      throw new Error(tlsTrouble(error));
    } finally {
      clearTimeout(timer);
    }
  }

  nextInput(): Promise<Event> {
    this.#pendingInput ??= this.#input.next().then(
      (line): Event => ({ type: "input", line }),
      (): Event => ({ type: "input", line: null }),
    );
    return this.#pendingInput;
  }

  takeInput(): void {
    this.#pendingInput = null;
  }

  async run(): Promise<number> {
    let conn: Deno.Conn;
    try {
      conn = await this.connect();
    } catch (error) {
      this.#errors(`cannot connect to ${this.address}: ${reason(error)}`);
      return 1;
    }
    let attempt = 0;
    let rejoining = false;
    for (;;) {
      const ending = await this.session(conn, rejoining, () => attempt = 0);
      if ("done" in ending) return ending.done;
      let why: string;
      if ("failed" in ending) {
        // Never in: on the first connection that is the answer (reconnecting is
        // for a connection we had); after a drop it is one more failed attempt.
        const what = ending.greeted ? "cannot join" : "cannot connect to";
        if (!rejoining) {
          this.#errors(`${what} ${this.address}: ${ending.failed}`);
          return 1;
        }
        why = `${what} ${this.address} (${ending.failed})`;
      } else if (!this.reconnect) {
        this.#errors(`connection to ${this.address} lost: ${ending.lost}`);
        return 1;
      } else {
        why = `connection lost (${ending.lost})`;
      }
      for (;;) {
        const delay = (this.options.reconnectDelay ?? backoff)(attempt++);
        this.status(`${why}; reconnecting in ${formatDelay(delay)}`);
        if (await this.waitOrLeave(delay)) return 0;
        try {
          conn = await this.connect();
          break;
        } catch (error) {
          why = `cannot connect to ${this.address} (${reason(error)})`;
        }
      }
      rejoining = true;
    }
  }

  /** Waits `ms` while disconnected; true if the user left meanwhile. */
  async waitOrLeave(ms: number): Promise<boolean> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<Event>((resolve) => {
      timer = setTimeout(() => resolve({ type: "timeout" }), ms);
    });
    try {
      for (;;) {
        const sources = [timeout, this.#aborted];
        if (!this.options.listen) sources.push(this.nextInput());
        const event = await Promise.race(sources);
        if (event.type !== "input") return false;
        this.takeInput();
        if (event.line === null) return true;
        this.show("!! not connected; that line was not sent");
      }
    } finally {
      clearTimeout(timer);
    }
  }

  /** One connection, from greeting to goodbye. */
  async session(conn: Deno.Conn, rejoining: boolean, onJoined: () => void): Promise<Ending> {
    const lines = new ConnLines(conn);
    const { interactive } = this;
    const listen = this.options.listen ?? false;
    let joined = false;
    let askingName = false; // the server asked and we wait for the user to type a name
    let nameSent = false;
    let askingPassword = false; // the server asked our name's password; the user types it
    let passwordSent: string | null = null; // the password we answered with, until we are in
    let leaving = false; // we said goodbye; the server closing is expected
    let greeted = false; // the server has asked for a name (or welcomed us)
    let refusal: string | null = null; // the last error the server sent before we were in
    let serverNext: Promise<Event> | null = null;
    // A reconnect replays the room's last lines: until the user moves, skip those shown already.
    let restoring = rejoining;
    let block: HistoryBlock | null = null; // history being received
    let deadline: Promise<Event> | null = null;
    let deadlineTimer: ReturnType<typeof setTimeout> | undefined;
    let greetingTimer: ReturnType<typeof setTimeout> | undefined;
    const greeting = new Promise<Event>((resolve) => {
      greetingTimer = setTimeout(() => resolve({ type: "noGreeting" }), this.greetingTimeout);
    });

    const send = async (text: string) => {
      const bytes = encoder.encode(text + "\n");
      try {
        for (let off = 0; off < bytes.length;) off += await conn.write(bytes.subarray(off));
      } catch (error) {
        throw new WriteFailed(reason(error));
      }
    };
    const leave = async (farewell: () => Promise<void>) => {
      leaving = true;
      try {
        await farewell();
      } catch {
        // The connection is already gone; leaving is done either way.
      }
      // Give the server a moment to say goodbye and close, but no more.
      deadline = new Promise((resolve) => {
        deadlineTimer = setTimeout(() => resolve({ type: "timeout" }), LEAVE_TIMEOUT);
      });
    };
    const prompt = () => {
      this.options.setPrompt?.(
        joined ? `${this.name}@${this.room}> ` : askingPassword ? "password> " : "name> ",
      );
    };

    try {
      for (;;) {
        serverNext ??= lines.next().then(
          (line): Event => ({ type: "line", line }),
          (error): Event => ({ type: "readError", error }),
        );
        const sources = [serverNext];
        if (deadline) sources.push(deadline);
        if (!greeted && !leaving) sources.push(greeting);
        if (!leaving) sources.push(this.#aborted);
        if (!leaving && !listen && (joined || askingName || askingPassword)) {
          sources.push(this.nextInput());
        }
        const event = await Promise.race(sources);

        if (event.type === "timeout") return { done: 0 };
        if (event.type === "noGreeting") {
          const waited = formatDelay(this.greetingTimeout);
          return { failed: `no greeting within ${waited} (is it a chat server?)`, greeted };
        }
        if (event.type === "readError" || (event.type === "line" && event.line === null)) {
          if (leaving) return { done: 0 };
          const why = event.type === "readError" ? reason(event.error) : "closed by the server";
          // Before we are in, it is a connection we never had, not one lost.
          return joined ? { lost: why } : { failed: refusal ?? why, greeted };
        }

        if (event.type === "input") {
          this.takeInput();
          const text = event.line;
          if (text === null) {
            // End of input (Ctrl-D, end of a pipe, abort): leave cleanly.
            if (!joined && !nameSent && !interactive && !this.name) {
              this.#errors("no name given");
              return { done: 2 };
            }
            if (interactive || !joined) await leave(() => send("/quit"));
            else await leave(() => conn.closeWrite());
            continue;
          }
          // The server would refuse a longer line; say so here, and show nothing as sent.
          const size = encoder.encode(text).length;
          if (this.maxLine !== null && size > this.maxLine) {
            this.notSent(`line too long (${size} bytes, max ${this.maxLine}); it was not sent`);
            continue;
          }
          if (askingPassword) {
            // Sent as typed, never shown; an empty line goes back to the name question.
            askingPassword = false;
            this.options.hideInput?.(false);
            passwordSent = text;
            await send(text);
            continue;
          }
          if (askingName) {
            const name = text.trim();
            if (name === "") {
              prompt();
              continue;
            }
            if (isCommand(name)) {
              // /help and /quit work before a name; the server answers and asks again.
              if (QUIT.test(name)) await leave(() => send(name));
              else await send(name);
              continue;
            }
            this.name = name;
            askingName = false;
            nameSent = true;
            await send(name);
            continue;
          }
          if (text.trim() === "") continue;
          if (QUIT.test(text)) {
            await leave(() => send(text));
            continue;
          }
          try {
            await send(text);
          } catch (error) {
            if (interactive) this.show("!! not connected; that line was not sent");
            throw error;
          }
          // Where the user asked to go wins over where a reconnect was taking us.
          if (/^\/join\s/i.test(text)) {
            this.returnTo = null;
            restoring = false;
          }
          if (interactive) {
            const own = ownLine(this.name!, sanitize(text));
            if (own !== null) {
              this.show(own, true);
              this.remember(this.room, own, Date.now(), false);
            }
          }
          continue;
        }

        // A line from the server.
        serverNext = null;
        const line = sanitize(event.line!);
        if (!joined) {
          if (line === NAME_PROMPT || helloName(line) !== null) {
            greeted = true;
            clearTimeout(greetingTimer);
          }
          if (line.startsWith("!! ")) refusal = line.slice(3);
          const limit = lineLimit(line);
          if (limit !== null) this.maxLine = limit;
          if (line === NAME_PROMPT) {
            if (this.name !== undefined && !nameSent && isCommand(this.name)) {
              // A command given as the name (`--name /quit`) runs as if typed at the prompt.
              if (!interactive) this.show(line);
              const command = this.name;
              this.name = undefined;
              if (QUIT.test(command)) await leave(() => send(command));
              else await send(command);
            } else if (this.name !== undefined && !nameSent) {
              // We know the name already: answer without showing the question.
              if (!interactive) this.show(line);
              nameSent = true;
              await send(this.name);
            } else {
              this.show(line);
              askingName = true;
              nameSent = false;
              prompt();
            }
            continue;
          }
          const asked = passwordAsked(line);
          if (asked !== null) {
            if (this.password !== undefined && passwordSent !== this.password) {
              // Known already (given, or typed before a reconnect): answer without asking.
              if (!interactive) this.show(line);
              passwordSent = this.password;
              await send(this.password);
            } else if (!interactive) {
              const why = passwordSent === null
                ? `${asked} is registered: give its password with --password-file FILE or CHAT_PASSWORD`
                : `the password for ${asked} was refused`;
              this.#errors(why);
              return { done: 2 };
            } else {
              this.show(line);
              askingPassword = true;
              this.options.hideInput?.(true);
              prompt();
            }
            continue;
          }
          if (line.startsWith("!! ") && nameSent) {
            if (!interactive) {
              this.#errors(`name refused: ${line.slice(3)}`);
              return { done: 2 };
            }
            // Ask again when the server repeats the question.
            this.show(line);
            this.name = undefined;
            continue;
          }
          const hello = helloName(line);
          if (hello !== null) {
            this.name = hello;
            // Accepted: kept in memory, to answer the question again after a reconnect.
            if (passwordSent !== null) this.password = passwordSent;
            passwordSent = null;
            joined = true;
            onJoined();
            this.show(line);
            // Every hello is in the lobby; after a reconnect, go back where we were.
            if (roomKey(this.room) !== roomKey(LOBBY)) this.returnTo = this.room;
            this.room = LOBBY;
            prompt();
            if (this.returnTo !== null) await send(`/join ${this.returnTo}`);
            continue;
          }
          // The greeting again after a reconnect is noise to someone chatting; what
          // answers the user (a refused name, /help at the name prompt) is not.
          if (!(rejoining && interactive && !nameSent && !askingName)) this.show(line);
          continue;
        }
        // History: a header, replayed lines (`[TIME] LINE`), `-- end of history`.
        if (historyHeader(line) !== null) {
          if (block) this.endBlock(block, false);
          block = this.startBlock(line, restoring);
          continue;
        }
        const replayed = parseHistoryLine(line);
        if (block && (replayed || line === say.historyEnd)) {
          if (replayed) this.blockLine(block, { line, time: replayed.time, text: replayed.line });
          else {
            this.endBlock(block, true);
            block = null;
          }
          continue;
        }
        if (block) {
          // Cut short by a line that is not history (no server does that): show what came.
          this.endBlock(block, false);
          block = null;
        }
        if (replayed) {
          this.showReplayed(this.room, { line, time: replayed.time, text: replayed.line });
          continue;
        }
        const receipt = interactive ? privateReceipt(line) : null;
        if (receipt !== null) {
          // The server confirms a private message: only now is it shown as sent.
          this.show(sentPrivateLine(this.name!, receipt.to, receipt.text), true);
          continue;
        }
        const renamed = nameChange(line);
        const moved = roomChange(line);
        if (renamed !== null) this.name = renamed;
        if (moved !== null) {
          this.room = moved;
          this.returnTo = null;
        }
        this.show(line);
        const kind = parseLine(line).kind;
        if (kind === "message" || kind === "action") {
          this.remember(this.room, line, Date.now(), false);
        }
        if (renamed !== null || moved !== null) prompt();
      }
    } catch (error) {
      if (!(error instanceof WriteFailed)) throw error;
      if (leaving) return { done: 0 };
      return joined ? { lost: error.message } : { failed: error.message, greeted };
    } finally {
      // A block cut short by the connection's end: show what came of it.
      if (block) this.endBlock(block, false);
      clearTimeout(deadlineTimer);
      clearTimeout(greetingTimer);
      try {
        conn.close();
      } catch {
        // already closed
      }
    }
  }
}

function formatDelay(ms: number): string {
  return ms >= 1000 ? `${Math.round(ms / 1000)} s` : `${ms} ms`;
}

/** What went wrong in a TLS handshake, with a hint at the usual fix. */
function tlsTrouble(error: unknown): string {
  const why = reason(error);
  if (/^invalid peer certificate: UnknownIssuer\b/.test(why)) return `${why} (try --ca FILE)`;
  // A plain-TCP server answers the client's hello with its greeting, which is no TLS record.
  if (/^received corrupt message/.test(why)) return `not a TLS server: ${why} (try without --tls)`;
  return why;
}

function reason(error: unknown): string {
  if (error instanceof Deno.errors.ConnectionRefused) return "connection refused";
  if (error instanceof Deno.errors.ConnectionReset) return "connection reset";
  if (error instanceof Deno.errors.BrokenPipe) return "broken pipe";
  if (error instanceof Deno.errors.TimedOut) return "timed out";
  const message = error instanceof Error ? error.message : String(error);
  // Deno appends "(os error N)" and sometimes more lines; one short line is enough.
  return message.split("\n")[0].replace(/\s*\(os error \d+\)$/, "");
}

// ---------------------------------------------------------------------------
// Terminal: a readline prompt with the chat printed above it
// ---------------------------------------------------------------------------

/** A readline prompt on stdin/stdout whose lines feed {@linkcode runClient}. */
interface Terminal {
  input: AsyncIterable<string>;
  print(line: string): void;
  /** Writes `line` to stderr on a row of its own, never onto the prompt. */
  error(line: string): void;
  setPrompt(prompt: string): void;
  /** While `true`, what is typed is shown nowhere and not kept in the line history. */
  hideInput(hidden: boolean): void;
  close(): void;
}

/** What readline reads keys from: stdin, passed on by {@linkcode openTerminal}. */
class KeyFeed extends EventEmitter {
  readonly isTTY = true;
  isRaw = false;

  constructor(readonly stdin: typeof process.stdin) {
    super();
  }

  setRawMode(mode: boolean): this {
    this.stdin.setRawMode(mode);
    this.isRaw = mode;
    return this;
  }

  pause(): this {
    this.stdin.pause();
    return this;
  }

  resume(): this {
    this.stdin.resume();
    return this;
  }
}

// Control characters (C0, DEL, C1): keys, or parts of escape sequences, for readline.
// deno-lint-ignore no-control-regex
const CONTROLS = /([\x00-\x1f\x7f-\x9f]+)/;
// An escape sequence left open at the end of a chunk, for the next chunk to finish.
// deno-lint-ignore no-control-regex
const OPEN_ESCAPE = /\x1b\x1b?(?:\[\[?[\x30-\x3f]*[\x20-\x2f]*|O)?$/;

/**
 * Splits a chunk of terminal input into what readline must take key by key
 * (`keys`: control keys, escape sequences, a lone character) and runs of two
 * or more characters of text, from a paste or typed faster than they were read,
 * which can be inserted in one go. A chunk with an escape sequence in it, or
 * after one left open (`escaping`), is all keys.
 */
export function splitKeys(text: string, escaping = false): { text: string; keys: boolean }[] {
  if (escaping || text.includes("\x1b")) return text ? [{ text, keys: true }] : [];
  return text.split(CONTROLS).filter((part) => part !== "").map((part) => ({
    text: part,
    keys: CONTROLS.test(part) || part.length === 1 || [...part].length === 1,
  }));
}

function openTerminal(): Terminal {
  const out = process.stdout;
  // readline reads from a feed, not stdin itself: pasted text goes round it (see below).
  const keys = new KeyFeed(process.stdin);
  const rl = readline.createInterface({
    input: keys as unknown as NodeJS.ReadableStream,
    output: out,
    terminal: true,
    historySize: 1000,
    removeHistoryDuplicates: true,
  });
  // readline's own state: the text and cursor being edited, and how far below the
  // prompt's first row the cursor is.
  const editor = rl as unknown as { prevRows: number; line: string; cursor: number };
  let prompting = false;
  let closed = false;
  const queue: (string | null)[] = [];
  let wake: (() => void) | null = null;
  const push = (line: string | null) => {
    queue.push(line);
    wake?.();
    wake = null;
  };
  /** Moves to the first row of the prompt and clears it and everything below. */
  const clearPrompt = (rows: number) => {
    readline.moveCursor(out, 0, -rows);
    readline.cursorTo(out, 0);
    readline.clearScreenDown(out);
    editor.prevRows = 0;
  };
  /**
   * Inserts pasted text at the cursor. readline would take it character by
   * character, measuring the whole line for each (under Deno, 1,500 characters
   * cost seconds) and redrawing it at every row it fills; at the end of the line
   * the text is written once, with no redraw, and elsewhere the line is redrawn once.
   */
  const paste = (text: string) => {
    const { line, cursor } = editor;
    editor.line = line.slice(0, cursor) + text + line.slice(cursor);
    editor.cursor = cursor + text.length;
    if (cursor < line.length) return rl.prompt(true);
    out.write(text);
    // A text that ends a row leaves the terminal's cursor at that row's end;
    // readline counts it at the start of the next one.
    if (rl.getCursorPos().cols === 0) {
      out.write(" ");
      readline.cursorTo(out, 0);
    }
  };
  const decoder = new TextDecoder();
  let escaping = false;
  // A password is typed past readline (raw mode is on already), so that it is echoed
  // nowhere and never enters the line history.
  let hidden: string[] | null = null;
  const hiddenKeys = (text: string) => {
    for (const char of text) {
      if (hidden === null) return;
      if (char === "\r" || char === "\n") {
        const line = hidden.join("");
        hidden = null;
        push(line);
      } else if (char === "\x03" || (char === "\x04" && hidden.length === 0)) {
        hidden = null;
        rl.close(); // Ctrl-C or Ctrl-D: leave, as at any prompt
      } else if (char === "\x7f" || char === "\b") {
        hidden.pop();
      } else if (char === "\x15") {
        hidden.length = 0; // Ctrl-U
      } else if (char >= " " && char !== "\x1b") {
        hidden.push(char);
      }
    }
  };
  process.stdin.on("data", (chunk: Uint8Array) => {
    if (hidden !== null) return hiddenKeys(decoder.decode(chunk, { stream: true }));
    for (const part of splitKeys(decoder.decode(chunk, { stream: true }), escaping)) {
      if (closed) return;
      if (part.keys || !prompting) {
        keys.emit("data", encoder.encode(part.text));
        escaping = OPEN_ESCAPE.test(part.text);
      } else {
        paste(part.text);
      }
    }
    // readline notes the cursor's row only when it redraws; a wide character that
    // wraps to the next row without one would leave a stale copy of the prompt
    // at the next redraw.
    if (prompting && !closed) editor.prevRows = rl.getCursorPos().rows;
  });
  process.stdin.on("end", () => keys.emit("end"));

  rl.on("line", (line) => {
    // readline has echoed the line and moved below it; erase it so the client
    // can show it once, styled as yours.
    if (prompting) {
      clearPrompt(extraRows(rl.getPrompt() + line, out.columns || 80) + 1);
      rl.prompt();
    }
    push(line);
  });
  rl.on("close", () => {
    if (prompting) clearPrompt(rl.getCursorPos().rows);
    prompting = false;
    closed = true;
    push(null);
  });
  // Ctrl-C leaves like Ctrl-D does, after telling the server.
  rl.on("SIGINT", () => rl.close());

  return {
    input: (async function* () {
      for (;;) {
        while (queue.length === 0) await new Promise<void>((resolve) => wake = resolve);
        const line = queue.shift()!;
        if (line === null) return;
        yield line;
      }
    })(),
    print(line) {
      if (!prompting) return void out.write(line + "\n");
      // Clear the prompt (all its rows), print above it, then redraw what was
      // being typed with the cursor where it was.
      clearPrompt(rl.getCursorPos().rows);
      out.write(line + "\n");
      rl.prompt(true);
    },
    error(line) {
      if (prompting) clearPrompt(rl.getCursorPos().rows);
      process.stderr.write(line + "\n");
      if (prompting) rl.prompt(true);
    },
    setPrompt(prompt) {
      if (prompting) clearPrompt(rl.getCursorPos().rows);
      rl.setPrompt(prompt);
      prompting = true;
      rl.prompt(true);
    },
    hideInput(hide) {
      hidden = hide ? [] : null;
    },
    close() {
      rl.close();
    },
  };
}

// ---------------------------------------------------------------------------
// Main: the command line
// ---------------------------------------------------------------------------

function printUsage(): void {
  console.log(`Chat room client: talk to a server.ts chat room.

USAGE:
  deno run -N -R client.ts [OPTIONS]

  -N lets it connect; -R is needed only to read a --ca FILE.

OPTIONS:
  --host HOST       server address (default ${DEFAULT_HOST})
  --port PORT       server port (default ${DEFAULT_PORT})
  --name NAME       join with this name instead of being asked
  --tls             connect with TLS
  --ca FILE         trust this PEM certificate (a self-signed server); implies --tls
  --no-color        plain text (also when NO_COLOR is set or stdout is not a terminal)
  --timestamps      prefix each line with the local time as HH:MM
  --timestamps=iso  prefix each line with the full UTC time, 2026-11-29T04:51:50.123Z
  --no-reconnect    exit 1 when the connection drops instead of reconnecting
  --password-file FILE
                    the password of --name's account (its first line), for bots and
                    pipes; or set CHAT_PASSWORD (read with --allow-env=CHAT_PASSWORD or -A).
                    In a terminal without either, the client asks, showing nothing typed
  --listen          print everything, send nothing, stay connected (needs --name)
  -h, --help        show this help

In a terminal: type a line to send it; /help lists the server's commands;
/join ROOM moves you (the prompt shows NAME@ROOM); /history [N] shows N
earlier lines of the room; /quit, Ctrl-D or Ctrl-C leave. A room's recent
lines, replayed when you enter it, are shown dim with the time they were sent
([HH:MM], or the UTC time with --timestamps=iso); after a reconnect, lines
already shown are not shown again. With stdin not a terminal: each stdin line
is sent, received lines go to stdout (replayed ones as the server sends them,
[2026-11-29T04:51:50Z] ann: hi), and the client leaves at the end of stdin.

EXIT STATUS:
  0 left cleanly, 1 connection failed or lost, 2 bad usage, name or password refused`);
}

function writeAllSync(file: { writeSync(p: Uint8Array): number }, text: string): void {
  const bytes = encoder.encode(text);
  for (let off = 0; off < bytes.length;) off += file.writeSync(bytes.subarray(off));
}

/** Reads the `--ca` file; exits 1 with one line (not a usage error) if it cannot. */
/**
 * The password for a registered name: the first line of `file` (`--password-file`),
 * else `CHAT_PASSWORD`, else none (asked when needed, at a terminal). Unreadable: exit 1.
 */
function readPassword(file: string | undefined): string | undefined {
  if (file === undefined) {
    // Asked only if allowed (--allow-env or -A): Deno would otherwise prompt for it.
    const env = { name: "env", variable: "CHAT_PASSWORD" } as const;
    if (Deno.permissions.querySync(env).state !== "granted") return undefined;
    return Deno.env.get("CHAT_PASSWORD") || undefined;
  }
  try {
    return Deno.readTextFileSync(file).split("\n")[0].replace(/\r$/, "");
  } catch (error) {
    console.error(`client: cannot read --password-file ${file}: ${(error as Error).message}`);
    Deno.exit(1);
  }
}

function readCa(file: string): string {
  try {
    return Deno.readTextFileSync(file);
  } catch (error) {
    let why = reason(error);
    if (error instanceof Deno.errors.NotFound) why = "no such file";
    if (error instanceof Deno.errors.NotCapable || error instanceof Deno.errors.PermissionDenied) {
      why = "no read permission (run with -R: deno run -N -R client.ts)";
    }
    console.error(`client: cannot read --ca ${file}: ${why}`);
    Deno.exit(1);
  }
}

async function main(): Promise<void> {
  let options: Omit<ClientOptions, "input" | "output" | "interactive">;
  let ca: string | undefined;
  let passwordFile: string | undefined;
  try {
    const { values } = parseArgs({
      // `--timestamps` alone is HH:MM; parseArgs has no option with an optional value.
      args: Deno.args.map((arg) => arg === "--timestamps" ? "--timestamps=HH:MM" : arg),
      options: {
        host: { type: "string" },
        port: { type: "string" },
        name: { type: "string" },
        tls: { type: "boolean" },
        ca: { type: "string" },
        "no-color": { type: "boolean" },
        timestamps: { type: "string" },
        "no-reconnect": { type: "boolean" },
        "password-file": { type: "string" },
        listen: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    });
    if (values.help) return printUsage();
    const port = values.port === undefined ? DEFAULT_PORT : Number(values.port);
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      throw new Error(`--port must be a whole number from 1 to 65535, not "${values.port}"`);
    }
    if (values.listen && values.name === undefined) throw new Error("--listen needs --name");
    const stamps = values.timestamps;
    if (stamps !== undefined && stamps !== "HH:MM" && stamps !== "iso") {
      throw new Error(`--timestamps is HH:MM, or --timestamps=iso, not "${stamps}"`);
    }
    ca = values.ca;
    passwordFile = values["password-file"];
    options = {
      host: values.host,
      port,
      name: values.name,
      tls: values.tls || values.ca !== undefined,
      color: !values["no-color"] && !Deno.noColor && Deno.stdout.isTerminal(),
      timestamps: stamps === "iso" ? "iso" : stamps !== undefined,
      listen: values.listen,
      reconnect: values["no-reconnect"] ? false : undefined,
    };
  } catch (error) {
    console.error(`client: ${error instanceof Error ? error.message : error}`);
    console.error("Run with --help for usage.");
    Deno.exit(2);
  }
  if (ca !== undefined) options.caCerts = [readCa(ca)];
  options.password = readPassword(passwordFile);

  // A person at a terminal gets the prompt; anything else is a pipe or a script.
  const interactive = !options.listen && Deno.stdin.isTerminal();
  let code: number;
  if (interactive) {
    const terminal = openTerminal();
    code = await runClient({
      ...options,
      interactive,
      input: terminal.input,
      output: terminal.print,
      errors: terminal.error,
      setPrompt: terminal.setPrompt,
      hideInput: terminal.hideInput,
      // Wrapped here with a hanging indent, so that the terminal never wraps a line itself.
      columns: Deno.stdout.isTerminal() ? () => process.stdout.columns || 80 : undefined,
    });
    terminal.close();
  } else {
    // Without a prompt to read Ctrl-C, a signal is the way to leave cleanly.
    const controller = new AbortController();
    Deno.addSignalListener("SIGINT", () => controller.abort());
    code = await runClient({
      ...options,
      interactive,
      reconnect: options.reconnect ?? options.listen,
      input: Deno.stdin.readable,
      output: (line) => writeAllSync(Deno.stdout, line + "\n"),
      signal: controller.signal,
    });
  }
  // stdin may still have a read pending; it must not keep the process alive.
  Deno.exit(code);
}

if (import.meta.main) main();
