/**
 * IRC on the wire (RFC 1459/2812 as modern clients speak it, with IRCv3
 * message tags): reading a client's line into its parts, and writing lines
 * that never pass 512 bytes, tags aside.
 *
 * @module
 */

/** A line a client sent, in parts. */
export interface IrcCommand {
  /** The command in upper case (`PRIVMSG`), or a numeric. */
  readonly command: string;
  /** Its parameters, the trailing one (after ` :`) included as it was. */
  readonly params: string[];
}

/** The most bytes of a line, its CRLF included and its tags left out (RFC 1459, 2.3). */
export const LINE_MAX = 512;

/**
 * Reads one line (without its CRLF) into its command and parameters; tags and a
 * source prefix, which a client may send, are skipped. `null` for a line with no command.
 */
export function parseCommand(line: string): IrcCommand | null {
  let pos = 0;
  if (line.startsWith("@")) pos = skipWord(line, 0); // client tags: none is acted on
  pos = skipSpaces(line, pos);
  if (line.startsWith(":", pos)) pos = skipSpaces(line, skipWord(line, pos));
  const end = skipWord(line, pos);
  const command = line.slice(pos, end).toUpperCase();
  if (command === "") return null;
  const params: string[] = [];
  pos = skipSpaces(line, end);
  while (pos < line.length) {
    if (line.startsWith(":", pos)) {
      params.push(line.slice(pos + 1));
      break;
    }
    const next = skipWord(line, pos);
    params.push(line.slice(pos, next));
    pos = skipSpaces(line, next);
  }
  return { command, params };
}

function skipWord(line: string, pos: number): number {
  const space = line.indexOf(" ", pos);
  return space === -1 ? line.length : space;
}

function skipSpaces(line: string, pos: number): number {
  while (line.charCodeAt(pos) === 32) pos++;
  return pos;
}

/**
 * One line, CRLF included: `source` (without its colon, or empty for none), the
 * command, and parameters, the last one written as trailing (` :…`) when it must
 * be or follows others.
 */
export function ircLine(source: string, command: string, ...params: string[]): string {
  let line = source ? `:${source} ${command}` : command;
  for (let i = 0; i < params.length; i++) {
    const param = params[i];
    const last = i === params.length - 1;
    // The text of numerics and of text commands is trailing even when one word, as most
    // servers write it (some clients read a one-word topic or reason better so).
    const trailing = last &&
      ((i > 0 && TEXTUAL.test(command)) || param === "" || param.includes(" ") || param[0] === ":");
    line += trailing ? ` :${param}` : ` ${param}`;
  }
  return line + "\r\n";
}

/** Commands whose last parameter is text. */
const TEXTUAL = /^(?:\d{3}|TOPIC|PART|QUIT|PRIVMSG|NOTICE|CAP|PONG)$/;

/** The `@time=…` tag of a moment, for `server-time` (and a space to follow it). */
export function timeTag(ms: number): string {
  return `@time=${new Date(ms).toISOString()} `;
}

/**
 * Splits `text` into pieces of at most `max` bytes of UTF-8 each, at character
 * boundaries (a piece is never empty; `max` under 4 still fits any one character).
 * With `atSpace`, a piece ends after its last space instead when that space is in
 * the piece's last quarter, so that words are rarely cut. The pieces put together
 * are always `text`.
 */
export function splitUtf8(text: string, max: number, atSpace = false): string[] {
  if (text.length * 3 <= max || byteLength(text) <= max) return [text];
  const pieces: string[] = [];
  const near = max - Math.floor(max / 4); // a space at or past this many bytes is near the end
  let start = 0;
  let bytes = 0;
  let afterSpace = -1; // the index after the piece's last space, or -1
  let bytesToSpace = 0; // the piece's bytes up to and with that space
  let i = 0;
  while (i < text.length) {
    const code = text.codePointAt(i)!;
    const width = code < 0x80 ? 1 : code < 0x800 ? 2 : code < 0x10000 ? 3 : 4;
    const units = code >= 0x10000 ? 2 : 1;
    if (bytes + width > max && i > start) {
      const end = atSpace && afterSpace > start && bytesToSpace >= near ? afterSpace : i;
      pieces.push(text.slice(start, end));
      bytes -= end === i ? bytes : bytesToSpace;
      start = end;
      afterSpace = -1;
    }
    bytes += width;
    i += units;
    if (code === 0x20) {
      afterSpace = i;
      bytesToSpace = bytes;
    }
  }
  pieces.push(text.slice(start));
  return pieces;
}

/** The UTF-8 length of `text`. */
export function byteLength(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) bytes += 1;
    else if (code < 0x800) bytes += 2;
    else if (code >= 0xd800 && code < 0xdc00) {
      bytes += 4; // a surrogate pair: one four-byte character
      i++;
    } else bytes += 3;
  }
  return bytes;
}

/**
 * The pieces that carry `text` whole after `head` (`:src PRIVMSG #room :`), each
 * dressed by `wrap` (CTCP ACTION puts its marks around it): as many as it takes for
 * each line, `head`, piece and CRLF, to stay within {@linkcode LINE_MAX}. Tags before
 * the line are not counted: IRCv3 gives them a budget of their own.
 */
export function textPieces(
  head: string,
  text: string,
  wrap: (piece: string) => string = (piece) => piece,
): string[] {
  const room = LINE_MAX - 2 - byteLength(head) - byteLength(wrap(""));
  return splitUtf8(text, Math.max(room, 16), true).map(wrap);
}

/** The lines of `pieces` (from {@linkcode textPieces}), each as `tags`, `head`, piece and CRLF. */
export function pieceLines(tags: string, head: string, pieces: readonly string[]): string {
  let lines = "";
  for (const piece of pieces) lines += `${tags}${head}${piece}\r\n`;
  return lines;
}
