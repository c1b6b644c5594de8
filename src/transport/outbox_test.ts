/**
 * Pins output batching: one write in flight, everything queued since in the
 * next write, in order; the queue cap; and one joined buffer shared by the
 * outboxes of a batch.
 *
 * @module
 */

import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { FlushScheduler, Outbox } from "./outbox.ts";
import { test } from "../../tests/test_util.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** An outbox whose writes complete only when the test says so. */
class TestOutbox extends Outbox {
  writes: Uint8Array[] = [];
  overflows = 0;
  drains = 0;
  protected write(bytes: Uint8Array): void {
    this.writes.push(bytes);
  }
  protected drained(): void {
    this.drains++;
  }
  protected overflowed(): void {
    this.overflows++;
  }
  /** Completes the write in flight. */
  complete(): void {
    this.written();
  }
  /** Accepts nothing more; `drained` follows once all is written. */
  shut(): void {
    this.shutOutput();
  }
}

/** Settles after the scheduler's flush (a microtask) has run. */
const nextBatch = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

test("an outbox writes once per batch, and what queues during a write goes out next, in order", async () => {
  const outbox = new TestOutbox(new FlushScheduler(), 1 << 20);
  outbox.enqueue(encoder.encode("a\n"));
  outbox.enqueue(encoder.encode("b\n"));
  assertEquals(outbox.writes.length, 0); // not before the batch ends
  await nextBatch();
  assertEquals(outbox.writes.map((bytes) => decoder.decode(bytes)), ["a\nb\n"]);
  // 10,000 lines while the write is in flight: one write after it, every line in order.
  const lines = Array.from({ length: 10_000 }, (_, i) => `line ${i}\n`);
  for (const line of lines) outbox.enqueue(encoder.encode(line));
  assertEquals(outbox.queuedBytes, 4 + lines.join("").length);
  outbox.complete();
  await nextBatch();
  assertEquals(outbox.writes.length, 2);
  assertEquals(decoder.decode(outbox.writes[1]), lines.join(""));
  outbox.complete();
  assertEquals(outbox.queuedBytes, 0);
  outbox.shut();
  assertEquals(outbox.drains, 1);
});

test("past the queue cap the outbox empties and reports an overflow once", async () => {
  const outbox = new TestOutbox(new FlushScheduler(), 10);
  outbox.enqueue(encoder.encode("12345\n"));
  await nextBatch(); // 6 bytes in flight
  outbox.enqueue(encoder.encode("1234\n")); // 11 > 10
  assertEquals(outbox.overflows, 1);
  outbox.enqueue(encoder.encode("more\n"));
  assertEquals(outbox.overflows, 1);
  outbox.complete();
  await nextBatch();
  assertEquals(outbox.writes.length, 1);
});

test("outboxes flushed in one batch with the same chunks share one joined buffer", async () => {
  const scheduler = new FlushScheduler();
  const outboxes = [1, 2, 3].map(() => new TestOutbox(scheduler, 1 << 20));
  const lines = ["x\n", "y\n"].map((line) => encoder.encode(line));
  for (const line of lines) for (const outbox of outboxes) outbox.enqueue(line);
  await nextBatch();
  const [first, ...rest] = outboxes.map((outbox) => outbox.writes[0]);
  assertEquals(decoder.decode(first), "x\ny\n");
  assert(rest.every((bytes) => bytes === first), "each outbox copied the lines itself");
});
