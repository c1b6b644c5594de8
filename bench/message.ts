/**
 * The bench's message format, shared by its clients, its senders and crowdgen
 * (`bench/crowdgen/main.go` follows it byte for byte). Every message is one fixed-format line,
 *
 * ```text
 * ~SSSS QQQQQQQQQ TTTTTTTTTTTT xxxx…xxxx CCCCC
 * ```
 *
 * (sender, sequence number, send time in microseconds, padding, checksum), so receivers parse
 * it by byte offsets, and a line cut and spliced with another one (the Go server relays raw
 * 2048-byte chunks) is caught by its length, digits or checksum and counted as corrupted. Also
 * here: the server lines the receivers recognize (name prompt, welcome, notices, history).
 *
 * @module
 */

/** Starts every payload ("~"); in no name and no prefix. */
export const MAGIC = 0x7e;
/** The byte that ends every line. */
export const NEWLINE = 10;
/** The byte between a payload's fields. */
export const SPACE = 32;
/** Offsets inside a payload. */
export const SENDER_AT = 1;
export const SENDER_WIDTH = 4;
export const SEQ_AT = 6;
export const SEQ_WIDTH = 9;
export const TS_AT = 16;
export const TS_WIDTH = 12;
const PAD_AT = 29;
export const CHECK_WIDTH = 5;
/** The smallest payload: the fields, one padding byte and the checksum. */
export const MIN_PAYLOAD = PAD_AT + 1 + 1 + CHECK_WIDTH;
/** A payload must start within this many bytes of the line start (after a name or `<userN> `). */
export const PREFIX_MAX = 48;
/** Longest line kept whole across reads; longer ones are only classified by their start. */
export const CARRY_MAX = 1024;

/** Encodes every line this bench writes. */
export const encoder = new TextEncoder();
/** Decodes the few server lines read as text (errors, history headers, tool output). */
export const decoder = new TextDecoder();
/** Our server's name prompt, welcome and notice prefix. */
export const PROMPT = encoder.encode("-- What should we call you?");
export const HELLO = encoder.encode("-- Hello, ");
export const DASHES = encoder.encode("-- ");
/** ncat --chat's join and leave notices. */
export const ANNOUNCE = encoder.encode("<announce>");
/** Starts our server's error lines. */
export const ERROR_MARK = encoder.encode("!! ");
/**
 * The WebSocket subprotocol of the json-ws scenario's clients (`bench/crowdgen/wsjson.go`):
 * JSON objects instead of text lines.
 */
export const JSON_SUBPROTOCOL = "chat.v1.json";
/** The readiness probe of servers without names; a line carrying QUESTION. */
export const PROBE = encoder.encode("?probe\n");
export const QUESTION = 63;
/** Starts every replayed history line (`[2026-11-29T04:51:50Z] NAME: TEXT`); no live one. */
export const BRACKET = 91;

/** Opens a replay: `-- history of ROOM: N lines, oldest first`. */
export const HISTORY_HEADER = encoder.encode("-- history of ");

/** Closes it. */
export const HISTORY_END = encoder.encode("-- end of history");

/** The checksum that ends a payload; a spliced line almost never matches it. */
export function checksum(sender: number, seq: number, ts: number): number {
  return (sender * 7919 + seq * 31 + ts) % 99991;
}

/** Writes `value` as `width` zero-padded decimal digits at `pos`. */
export function putDigits(buf: Uint8Array, pos: number, width: number, value: number): void {
  for (let i = pos + width - 1; i >= pos; i--) {
    buf[i] = 48 + (value % 10);
    value = Math.floor(value / 10);
  }
}

/** Reads `width` decimal digits at `pos`, or -1 if any byte is not a digit. */
export function readDigits(buf: Uint8Array, pos: number, width: number): number {
  let value = 0;
  for (let i = pos; i < pos + width; i++) {
    const d = buf[i] - 48;
    if (d < 0 || d > 9) return -1;
    value = value * 10 + d;
  }
  return value;
}

/** One payload line (with its newline) whose numeric fields are zeros, to be filled in. */
export function lineTemplate(size: number): Uint8Array {
  const text = "~" + "0".repeat(SENDER_WIDTH) + " " + "0".repeat(SEQ_WIDTH) + " " +
    "0".repeat(TS_WIDTH) + " " + "x".repeat(size - MIN_PAYLOAD + 1) + " " +
    "0".repeat(CHECK_WIDTH) + "\n";
  return encoder.encode(text);
}

/** Fills in sender, sequence number, send time and checksum of the `size`-byte line at `off`. */
export function stampLine(
  buf: Uint8Array,
  off: number,
  size: number,
  sender: number,
  seq: number,
  ts: number,
): void {
  putDigits(buf, off + SENDER_AT, SENDER_WIDTH, sender);
  putDigits(buf, off + SEQ_AT, SEQ_WIDTH, seq);
  putDigits(buf, off + TS_AT, TS_WIDTH, ts);
  putDigits(buf, off + size - 1 - CHECK_WIDTH, CHECK_WIDTH, checksum(sender, seq, ts));
}

/** Whether `buf[start, end)` begins with `prefix`. */
export function startsWith(
  buf: Uint8Array,
  start: number,
  end: number,
  prefix: Uint8Array,
): boolean {
  if (end - start < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (buf[start + i] !== prefix[i]) return false;
  return true;
}
