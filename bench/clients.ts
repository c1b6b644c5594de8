/**
 * The bench's own clients and their receive path (the hot loop: bytes only, no strings). They
 * live in this process, in one event loop, on `node:net` sockets: in Deno 2.9 a `node:net` read
 * or write costs about half of a `Deno.Conn` one, and the generator must stay well under one
 * core to measure the server rather than itself. A replayed history line (`[TIME] NAME: TEXT`,
 * after the welcome) is never a delivery, a loss, corruption or an error.
 *
 * @module
 */

import net from "node:net";
import {
  ANNOUNCE,
  BRACKET,
  CARRY_MAX,
  CHECK_WIDTH,
  checksum,
  DASHES,
  decoder,
  encoder,
  ERROR_MARK,
  HELLO,
  HISTORY_END,
  HISTORY_HEADER,
  MAGIC,
  MIN_PAYLOAD,
  NEWLINE,
  PREFIX_MAX,
  PROMPT,
  QUESTION,
  readDigits,
  SENDER_AT,
  SENDER_WIDTH,
  SEQ_AT,
  SEQ_WIDTH,
  SPACE,
  startsWith,
  TS_AT,
  TS_WIDTH,
} from "./message.ts";
import { Histogram } from "./histogram.ts";
import type { PrefixKind, TargetSpec } from "./targets.ts";

/** Connection states: waiting for the name prompt, for the welcome (or probe), in the room. */
const WAIT_PROMPT = 0;
const WAIT_READY = 1;
const READY = 2;

/** One of this process's clients: its socket and where it is in the handshake and replay. */
export interface Client {
  index: number;
  socket: net.Socket;
  /** The unfinished end of the last chunk; allocated on first use. */
  carry: Uint8Array | null;
  carryLen: number;
  state: number;
  onReady: (() => void) | null;
  /**
   * A joiner of the replay scenario: in the room (READY) at the welcome, but counted as in
   * only once its replay ended (`-- end of history`).
   */
  awaitReplay: boolean;
  /** Lines the replay header announced (-1 before one), lines replayed, and whether it ended. */
  historyWant: number;
  historyGot: number;
  historyDone: boolean;
  /** Sender 0's highest sequence number when the replay ended (the newest line it held). */
  replayHigh: number;
}

/** A client record before its socket is opened. */
export function newClient(index: number, named: boolean, awaitReplay = false): Client {
  return {
    index,
    socket: null!,
    carry: null,
    carryLen: 0,
    state: named ? WAIT_PROMPT : WAIT_READY,
    onReady: null,
    awaitReplay,
    historyWant: -1,
    historyGot: 0,
    historyDone: false,
    replayHigh: -1,
  };
}

/** Everything counted during one run; shared by all clients of the run. */
export class Meter {
  latency = new Histogram();
  delivered = 0;
  corrupted = 0;
  reordered = 0;
  errors = 0;
  firstError = "";
  reads = 0;
  /** Bytes read, all clients. */
  bytes = 0;
  ready = 0;
  /** Clients whose connection closed (by the server, or at the end of a run). */
  closed = 0;
  /** Messages sent before this time (performance.now() in µs) are not timed: warm-up. */
  timedFromUs = 0;
  /** Bytes in a payload, without prefix and newline. */
  payloadSize = 64;
  /** performance.now() in µs of the last read that delivered a message. */
  lastDeliveryUs = 0;
  /**
   * Called from the read path at most every PUMP_EVERY_US: it runs the senders' schedules, so
   * a long run of reads (one event-loop turn can parse megabytes) does not hold them back
   * until the next timer.
   */
  onTick: (() => void) | null = null;
  lastTickUs = 0;
  /** Per receiver and sender, the highest sequence number seen. */
  lastSeq: Int32Array;
  /**
   * Replayed history lines read (after the welcome, starting with `[`): never deliveries, loss,
   * corruption or errors. Those that carry a payload with a sequence number of at least
   * `liveFromSeq` (a message sent during the replay scenario's join) are counted in
   * `replayedLive`, and move the receiver's last sequence number on, so that a live copy of
   * the same message afterwards counts as reordered (a duplicate).
   */
  historyLines = 0;
  replayedLive = 0;
  liveFromSeq = Infinity;

  constructor(readonly spec: TargetSpec, readonly clients: number, readonly senders: number) {
    this.lastSeq = new Int32Array(clients * senders).fill(-1);
  }

  /** Forgets what the connect phase counted. */
  reset(): void {
    this.latency = new Histogram();
    this.delivered =
      this.corrupted =
      this.reordered =
      this.errors =
      this.reads =
        0;
    this.firstError = "";
  }
}

/**
 * The buffer every client reads into: a chunk is parsed before the next read, and the
 * unfinished end of one is copied to the client's carry, so one buffer serves all.
 */
const READ_BUFFER = new Uint8Array(64 * 1024);

/**
 * Connects a client whose socket hands each chunk it reads to the parser. The `onread` form
 * of `node:net` reads into READ_BUFFER and calls back with the byte count: no Buffer per
 * chunk and no stream machinery, which takes about a third off the generator's CPU per read
 * (measured on Deno 2.9.6 against `socket.on("data")`).
 */
export function openClient(m: Meter, c: Client, port: number): net.Socket {
  return net.connect({
    host: "127.0.0.1",
    port,
    onread: {
      buffer: READ_BUFFER,
      callback: (n: number, buf: Uint8Array) => {
        m.reads++;
        m.bytes += n;
        // A plain view, so indexOf and subarray are the typed array's own, not Buffer's.
        processChunk(m, c, new Uint8Array(buf.buffer, buf.byteOffset, n));
        return true;
      },
    },
  });
}

/** How often the read path runs the senders' schedules, µs. */
const PUMP_EVERY_US = 500;

/** Splits a chunk at newlines, joining a line cut by the previous read. */
function processChunk(m: Meter, c: Client, data: Uint8Array): void {
  const nowUs = performance.now() * 1000;
  if (m.onTick !== null && nowUs - m.lastTickUs >= PUMP_EVERY_US) {
    m.lastTickUs = nowUs;
    m.onTick();
  }
  const before = m.delivered;
  const end = data.length;
  let start = 0;
  if (c.carryLen > 0) {
    const nl = data.indexOf(NEWLINE);
    appendCarry(c, data, 0, nl === -1 ? end : nl);
    if (nl === -1) return;
    handleLine(m, c, c.carry!, 0, Math.min(c.carryLen, CARRY_MAX), nowUs, c.carryLen > CARRY_MAX);
    c.carryLen = 0;
    start = nl + 1;
  }
  while (start < end) {
    const nl = data.indexOf(NEWLINE, start);
    if (nl === -1) {
      appendCarry(c, data, start, end);
      break;
    }
    handleLine(m, c, data, start, nl, nowUs, false);
    start = nl + 1;
  }
  if (m.delivered !== before) m.lastDeliveryUs = nowUs;
}

/** Keeps the unfinished end of a chunk (its first CARRY_MAX bytes; the length counts all). */
function appendCarry(c: Client, data: Uint8Array, start: number, end: number): void {
  const room = CARRY_MAX - c.carryLen;
  c.carry ??= new Uint8Array(CARRY_MAX);
  if (room > 0) c.carry.set(data.subarray(start, start + Math.min(room, end - start)), c.carryLen);
  c.carryLen += end - start;
}

/** Parses one line `b[s, e)`: a payload is counted, checked for order and timed. */
function handleLine(
  m: Meter,
  c: Client,
  b: Uint8Array,
  s: number,
  e: number,
  nowUs: number,
  truncated: boolean,
): void {
  const limit = e - s < PREFIX_MAX ? e : s + PREFIX_MAX;
  let p = s;
  if (b[s] === BRACKET && c.state === READY && m.spec.named) {
    return handleHistoryLine(m, c, b, s, e);
  }
  while (p < limit && b[p] !== MAGIC) p++;
  if (p === limit || truncated) return handleOtherLine(m, c, b, s, e);
  const size = e - p;
  if (
    b[p + SENDER_AT + SENDER_WIDTH] !== SPACE || b[p + SEQ_AT + SEQ_WIDTH] !== SPACE ||
    b[p + TS_AT + TS_WIDTH] !== SPACE || b[e - CHECK_WIDTH - 1] !== SPACE ||
    size < MIN_PAYLOAD || (p !== s && !prefixOk(m.spec.prefix, b, s, p))
  ) {
    m.corrupted++;
    return;
  }
  const sender = readDigits(b, p + SENDER_AT, SENDER_WIDTH);
  const seq = readDigits(b, p + SEQ_AT, SEQ_WIDTH);
  const ts = readDigits(b, p + TS_AT, TS_WIDTH);
  const check = readDigits(b, e - CHECK_WIDTH, CHECK_WIDTH);
  if (
    sender < 0 || seq < 0 || ts < 0 || check < 0 || sender >= m.senders ||
    checksum(sender, seq, ts) !== check || size !== m.payloadSize
  ) {
    m.corrupted++;
    return;
  }
  m.delivered++;
  if (ts >= m.timedFromUs) m.latency.record(nowUs - ts);
  const slot = c.index * m.senders + sender;
  if (seq <= m.lastSeq[slot]) m.reordered++;
  else m.lastSeq[slot] = seq;
}

/** Whether the bytes before a payload are what this target puts there. */
function prefixOk(kind: PrefixKind, b: Uint8Array, s: number, p: number): boolean {
  if (kind === "name") return p - s >= 3 && b[p - 1] === SPACE && b[p - 2] === 58; // "NAME: "
  if (kind === "ncat") return b[s] === 60 && b[p - 1] === SPACE && b[p - 2] === 62; // "<userN> "
  return false;
}

/**
 * A replayed line (`[TIME] NAME: TEXT`, after the welcome): counted, never a delivery. If it
 * carries a well-formed payload of a message sent live in this run, the receiver has that
 * message (see Meter.replayedLive).
 */
function handleHistoryLine(m: Meter, c: Client, b: Uint8Array, s: number, e: number): void {
  c.historyGot++;
  m.historyLines++;
  const limit = e - s < PREFIX_MAX ? e : s + PREFIX_MAX;
  let p = s;
  while (p < limit && b[p] !== MAGIC) p++;
  if (
    p === limit || e - p !== m.payloadSize || b[p + SENDER_AT + SENDER_WIDTH] !== SPACE ||
    b[p + SEQ_AT + SEQ_WIDTH] !== SPACE || b[p + TS_AT + TS_WIDTH] !== SPACE ||
    b[e - CHECK_WIDTH - 1] !== SPACE || !prefixOk("name", b, s, p)
  ) return;
  const sender = readDigits(b, p + SENDER_AT, SENDER_WIDTH);
  const seq = readDigits(b, p + SEQ_AT, SEQ_WIDTH);
  const ts = readDigits(b, p + TS_AT, TS_WIDTH);
  const check = readDigits(b, e - CHECK_WIDTH, CHECK_WIDTH);
  if (
    sender < 0 || seq < 0 || ts < 0 || sender >= m.senders ||
    checksum(sender, seq, ts) !== check || seq < m.liveFromSeq
  ) return;
  m.replayedLive++;
  const slot = c.index * m.senders + sender;
  if (seq > m.lastSeq[slot]) m.lastSeq[slot] = seq;
}

/** A line without a payload: the name handshake, notices, the readiness probe, or garbage. */
function handleOtherLine(m: Meter, c: Client, b: Uint8Array, s: number, e: number): void {
  if (e === s) return;
  if (b[s] === BRACKET && c.state === READY && m.spec.named) {
    return handleHistoryLine(m, c, b, s, e);
  }
  if (startsWith(b, s, e, DASHES)) {
    if (c.state === WAIT_PROMPT && e - s === PROMPT.length && startsWith(b, s, e, PROMPT)) {
      c.state = WAIT_READY;
      c.socket.write(encoder.encode(`c${c.index}\n`));
    } else if (c.state === WAIT_READY && m.spec.named && startsWith(b, s, e, HELLO)) {
      // Replayed lines follow the welcome; a joiner waiting for its replay is in at its end.
      c.state = READY;
      if (!c.awaitReplay) markReady(m, c);
    } else if (c.state === READY && startsWith(b, s, e, HISTORY_HEADER)) {
      const count = /: (\d+) lines?, oldest first$/.exec(decoder.decode(b.subarray(s, e)));
      c.historyWant = count ? Number(count[1]) : 0;
    } else if (
      c.state === READY && e - s === HISTORY_END.length && startsWith(b, s, e, HISTORY_END)
    ) {
      c.historyDone = true;
      c.replayHigh = m.lastSeq[c.index * m.senders];
      if (c.awaitReplay) {
        c.awaitReplay = false;
        markReady(m, c);
      }
    }
    return;
  }
  if (startsWith(b, s, e, ANNOUNCE)) return;
  if (startsWith(b, s, e, ERROR_MARK)) {
    m.errors++;
    if (!m.firstError) m.firstError = decoder.decode(b.subarray(s, Math.min(e, s + 200)));
    return;
  }
  if (!m.spec.named && b.subarray(s, e).includes(QUESTION)) {
    if (c.state !== READY) markReady(m, c);
    return;
  }
  m.corrupted++;
}

/** Marks a client as in the room. */
export function markReady(m: Meter, c: Client): void {
  c.state = READY;
  m.ready++;
  const resolve = c.onReady;
  c.onReady = null;
  resolve?.();
}
