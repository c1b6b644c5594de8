/**
 * Sending, open loop: each sender has a fixed schedule by wall clock, and whatever is due (the
 * backlog, if it fell behind) goes out in one write; a slow server never slows the schedule
 * down.
 *
 * @module
 */

import type net from "node:net";
import {
  CHECK_WIDTH,
  checksum,
  putDigits,
  SENDER_AT,
  SENDER_WIDTH,
  SEQ_AT,
  SEQ_WIDTH,
  TS_AT,
  TS_WIDTH,
} from "./message.ts";
import type { Histogram } from "./histogram.ts";
import { sleep } from "./settings.ts";

/** A client that sends: its socket and how far along its schedule it is. */
export interface Sender {
  id: number;
  socket: net.Socket;
  /** Messages handed to a completed write. */
  sent: number;
  /** Messages put into writes so far (written or in flight). */
  queued: number;
  /** A write is in flight; its callback sends what fell due meanwhile. */
  busy: boolean;
  /** The server closed the sender's connection: the rest of its schedule is lost. */
  dead: boolean;
  /** When the last write completed (ms); messages due before that waited for the socket. */
  freeSince: number;
  buf: Uint8Array;
}

/** The schedule all senders share: start, messages each, interval, the line to stamp. */
export interface SendPlan {
  t0: number;
  total: number;
  intervalMs: number;
  senders: number;
  template: Uint8Array;
  lag: Histogram;
}

/** Index of the first message not yet due at `now` (ms) for sender `id`. */
function dueCount(plan: SendPlan, id: number, now: number): number {
  const k = Math.floor((now - plan.t0) / plan.intervalMs - id / plan.senders) + 1;
  return k < 0 ? 0 : k > plan.total ? plan.total : k;
}

/** When message `k` of sender `id` is due, ms. */
function dueAt(plan: SendPlan, id: number, k: number): number {
  return plan.t0 + (k + id / plan.senders) * plan.intervalMs;
}

/** Writes everything due for one sender in one write, unless a write is in flight. */
export function pump(plan: SendPlan, s: Sender): void {
  if (s.busy) return;
  const now = performance.now();
  const due = dueCount(plan, s.id, now);
  const count = due - s.queued;
  if (count <= 0) return;
  const lineSize = plan.template.length;
  if (s.buf.length < count * lineSize) {
    s.buf = new Uint8Array(Math.max(count * 2, 16) * lineSize);
    for (let off = 0; off < s.buf.length; off += lineSize) s.buf.set(plan.template, off);
  }
  const nowUs = Math.round(now * 1000);
  const buf = s.buf;
  for (let i = 0; i < count; i++) {
    const k = s.queued + i;
    const intended = dueAt(plan, s.id, k);
    // A message that fell due while the socket was blocked carries its due time, so the
    // server's backpressure counts as latency; otherwise it carries the real send time.
    const ts = intended < s.freeSince ? Math.round(intended * 1000) : nowUs;
    if (i === 0) plan.lag.record((now - Math.max(intended, s.freeSince)) * 1000);
    const off = i * lineSize;
    putDigits(buf, off + SENDER_AT, SENDER_WIDTH, s.id);
    putDigits(buf, off + SEQ_AT, SEQ_WIDTH, k);
    putDigits(buf, off + TS_AT, TS_WIDTH, ts);
    putDigits(buf, off + lineSize - 1 - CHECK_WIDTH, CHECK_WIDTH, checksum(s.id, k, ts));
  }
  s.queued += count;
  s.busy = true;
  // The callback runs once the kernel took every byte; until then `buf` is not touched.
  s.socket.write(buf.subarray(0, count * lineSize), (error) => {
    // If the server closed the sender, it stays busy, and what it did not send is lost.
    if (error) {
      s.dead = true;
      return;
    }
    s.busy = false;
    s.sent += count;
    s.freeSince = performance.now();
    pump(plan, s);
  });
}

/** Runs the senders' schedules for the whole duration; resolves when all is due and queued. */
export async function runSenders(plan: SendPlan, senders: Sender[]): Promise<void> {
  const endAt = dueAt(plan, senders.length - 1, plan.total - 1);
  while (true) {
    for (const s of senders) pump(plan, s);
    const now = performance.now();
    // Done when every schedule is queued or dead; a write the server never lets finish (it
    // stopped reading) is waited for SEND_GRACE_MS, then what it holds back counts as unsent.
    const done = senders.every((s) => s.queued === plan.total || s.dead);
    if (now > endAt && (done || now > endAt + SEND_GRACE_MS)) return;
    // A busy sender is pumped by its write's callback when that comes; if the write is still
    // in flight when its next message falls due, this loop looks again 1 ms later.
    let next = Infinity;
    for (const s of senders) {
      if (s.queued === plan.total) continue;
      const due = dueAt(plan, s.id, s.queued);
      next = Math.min(next, s.busy ? Math.max(due, now + 1) : due);
    }
    await sleep(Math.max(0, Math.min(next, now + 50) - now));
  }
}

/** How long, after the schedule ends, a sender whose write is blocked is waited for. */
export const SEND_GRACE_MS = 10_000;
