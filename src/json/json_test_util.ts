/**
 * A JSON client in memory for tests (no socket): what a {@linkcode JsonSession} writes is
 * read back as objects. For tests of features the JSON protocol carries.
 *
 * @module
 */

import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { JsonSession, type MessageConnection } from "./session.ts";
import type { Session } from "../core/session.ts";
import type { Hub } from "../core/hub.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** An object the session sent. */
export type Json = Record<string, unknown>;

/** A WebSocket connection in memory: it reads back the frames a JSON session writes. */
export class JsonClient implements MessageConnection {
  readonly remote = "memory";
  queuedBytes = 0;
  wholeMessages = false;
  closed: boolean | undefined;
  session!: Session;
  /** Objects delivered and not yet taken. */
  readonly objects: Json[] = [];

  /** A client of `hub`, greeted (the greeting taken). */
  constructor(hub: Hub) {
    this.session = hub.connect(this, new JsonSession(hub, this, 65536))!;
    this.take();
  }

  deliver(bytes: Uint8Array): void {
    if (this.closed !== undefined) return;
    let at = 0;
    while (at < bytes.length) {
      assertEquals(bytes[at], 0x81); // a whole text frame
      let length = bytes[at + 1];
      let header = 2;
      if (length === 126) [length, header] = [(bytes[at + 2] << 8) | bytes[at + 3], 4];
      else if (length === 127) {
        [length, header] = [new DataView(bytes.buffer, bytes.byteOffset).getUint32(at + 6), 10];
      }
      this.objects.push(
        JSON.parse(decoder.decode(bytes.subarray(at + header, at + header + length))),
      );
      at += header + length;
    }
  }
  close(drain: boolean): void {
    this.closed ??= drain;
  }
  pause(): void {}
  resume(): void {}

  /** Sends one request. */
  send(message: Json): void {
    this.session.receive(encoder.encode(JSON.stringify(message)));
  }

  /** Takes what was sent so far, without `time` (an ISO string: checked apart). */
  take(): Json[] {
    return this.objects.splice(0).map(({ time, ...rest }) => {
      if (typeof time !== "string" || Number.isNaN(Date.parse(time))) {
        throw new Error(`time ${time}`);
      }
      return rest;
    });
  }
}
