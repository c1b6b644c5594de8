/**
 * Klines: server-wide bans set by server operators (`/kline MASK DURATION [REASON]`) on an
 * address, a CIDR (IPv4 or IPv6), an account (`account:NAME`) or a name glob, each for a time
 * or for good. The hub asks {@linkcode Klines.matchAddress} at every connection (one size
 * check while there are no address klines) and {@linkcode Klines.match} when a name is taken,
 * a login made or a name changed; an expired kline stops applying by itself (checked where it
 * is matched) and is swept when listed or when one is added.
 *
 * @module
 */

import type { Problem } from "./events.ts";
import { isGlob, matchGlob } from "./glob.ts";
import { parseCidr, parseIp } from "./admission.ts";
import { type MaskKind, parseMask, type Subject } from "./moderation.ts";
import { nameKey } from "./protocol.ts";

/** The most klines kept at once (each connection is matched against the address ones). */
export const KLINES_MAX = 1_000;
/** The longest kline mask, in characters. */
export const KLINE_MASK_MAX = 100;
/** The longest kline reason, in characters. */
export const KLINE_REASON_MAX = 200;
/** The longest kline: a year (`perm` has no end). */
const DURATION_MAX = 366 * 86_400_000;

/** One kline as kept (JSON in the `--db` file and in Redis). */
export interface Kline {
  readonly kind: MaskKind;
  /** As written (`192.0.2.0/24`, `account:bob`, `spam*`). */
  readonly mask: string;
  /** Who set it (the server operator's name). */
  readonly by: string;
  /** When it was set (ms since the epoch). */
  readonly time: number;
  /** When it ends (ms since the epoch), or `null`: for good. */
  readonly expires: number | null;
  readonly reason: string;
}

/** Where klines are kept (`--db`), or nowhere (memory; Redis keeps them through the bus). */
export interface KlineStore {
  load(): Kline[];
  /** Keeps `kline` (replacing one of the same mask). */
  save(kline: Kline): void;
  /** Forgets the kline of `mask` (its {@linkcode klineKey}). */
  remove(key: string): void;
}

/** Keeps nothing. */
export class MemoryKlineStore implements KlineStore {
  load(): Kline[] {
    return [];
  }
  save(): void {}
  remove(): void {}
}

/** The key a kline is kept under: its mask, folded (one kline per mask). */
export function klineKey(mask: string): string {
  return mask.toLowerCase();
}

/**
 * Milliseconds of a duration such as `30m`, `2h`, `7d`, `1w`, `45s` (a bare number is
 * minutes), `null` for `perm`, or `undefined` if `text` is none (or over a year).
 */
export function parseDuration(text: string): number | null | undefined {
  if (/^(perm|permanent|0)$/i.test(text)) return null;
  const match = /^(\d{1,6})([smhdw]?)$/i.exec(text);
  if (!match) return undefined;
  const unit = { "": 60_000, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 }[
    match[2].toLowerCase() as "" | "s" | "m" | "h" | "d" | "w"
  ];
  const ms = Number(match[1]) * unit;
  return ms > 0 && ms <= DURATION_MAX ? ms : undefined;
}

/** A kline made of `text` (see {@linkcode parseMask}), or why it is none. */
export function makeKline(
  text: string,
  by: string,
  duration: number | null,
  reason: string,
  now = Date.now(),
): Kline | Problem {
  if (text.length > KLINE_MASK_MAX) return { code: "badMask", mask: text.slice(0, 40) + "…" };
  const mask = parseMask(text, by, now);
  if ("code" in mask) return mask;
  // A glob of nothing but wildcards would shut everyone out: refused.
  if (/^[*?]*$/.test(mask.mask) || /\/0$/.test(mask.mask)) return { code: "badMask", mask: text };
  return {
    kind: mask.kind,
    mask: text,
    by,
    time: now,
    expires: duration === null ? null : now + duration,
    reason: [...reason].slice(0, KLINE_REASON_MAX).join(""),
  };
}

/** A kline with its matcher made once (a CIDR parsed, a glob folded). */
interface Entry {
  readonly kline: Kline;
  /** `bytes`: the subject's address parsed (once for all klines), or `null`. */
  readonly test: (subject: Subject, bytes: number[] | null) => boolean;
}

/** The klines in force, matched in bounded steps (no regular expressions). */
export class Klines {
  /** Every kline by {@linkcode klineKey}. */
  readonly #all = new Map<string, Entry>();
  /** How many of them are on addresses (the connect check is one comparison while none is). */
  #addresses = 0;

  /** How many klines are kept (expired ones not yet swept included). */
  get size(): number {
    return this.#all.size;
  }

  /** Adds (or replaces) `kline`; `false` if the list is full. */
  add(kline: Kline, now = Date.now()): boolean {
    const key = klineKey(kline.mask);
    if (!this.#all.has(key) && this.#all.size >= KLINES_MAX) {
      this.sweep(now);
      if (this.#all.size >= KLINES_MAX) return false;
    }
    this.#drop(key);
    this.#all.set(key, { kline, test: matcher(kline) });
    if (kline.kind === "address") this.#addresses++;
    return true;
  }

  /** Removes the kline of `mask`; the kline removed, or `undefined`. */
  remove(mask: string): Kline | undefined {
    const key = klineKey(mask);
    const entry = this.#all.get(key);
    this.#drop(key);
    return entry?.kline;
  }

  #drop(key: string): void {
    const old = this.#all.get(key);
    if (old === undefined) return;
    this.#all.delete(key);
    if (old.kline.kind === "address") this.#addresses--;
  }

  /** Forgets the klines that have ended; gives back their keys. */
  sweep(now = Date.now()): string[] {
    const gone: string[] = [];
    for (const [key, { kline }] of this.#all) {
      if (kline.expires !== null && kline.expires <= now) gone.push(key);
    }
    for (const key of gone) this.#drop(key);
    return gone;
  }

  /** The klines in force, oldest first. */
  list(now = Date.now()): Kline[] {
    this.sweep(now);
    return [...this.#all.values()].map((entry) => entry.kline).sort((a, b) => a.time - b.time);
  }

  /** The kline in force on the address `address` (a connection's), or `null`. */
  matchAddress(address: string, now = Date.now()): Kline | null {
    if (this.#addresses === 0) return null;
    return this.match({ name: "", account: null, address }, now);
  }

  /** The kline in force that matches `subject` (an empty name matches no name kline), or `null`. */
  match(subject: Subject, now = Date.now()): Kline | null {
    if (this.#all.size === 0) return null;
    const bytes = this.#addresses > 0 ? parseIp(subject.address) : null;
    for (const { kline, test } of this.#all.values()) {
      if (kline.expires !== null && kline.expires <= now) continue;
      if (test(subject, bytes)) return kline;
    }
    return null;
  }
}

/** The test of `kline` against a subject, made once. */
function matcher(kline: Kline): (subject: Subject, bytes: number[] | null) => boolean {
  const mask = parseMask(kline.mask, kline.by);
  if ("code" in mask) return () => false;
  const text = mask.mask;
  switch (mask.kind) {
    case "name":
      return isGlob(text)
        ? (subject) => subject.name !== "" && globFolded(text, subject.name)
        : (subject) => subject.name !== "" && nameKey(subject.name) === nameKey(text);
    case "account":
      return isGlob(text)
        ? (subject) => subject.account !== null && globFolded(text, subject.account)
        : (subject) => subject.account !== null && subject.account === nameKey(text);
    case "address": {
      if (parseIp(text) !== null || text.includes("/")) {
        try {
          const network = parseCidr(text);
          return (_, bytes) => bytes !== null && network.contains(bytes);
        } catch {
          // not a network: matched as a glob below
        }
      }
      const lower = text.toLowerCase();
      return (subject) => matchGlob(lower, subject.address.toLowerCase());
    }
  }
}

/** A glob against a name or account, folded as names are. */
function globFolded(glob: string, name: string): boolean {
  const lower = glob.toLowerCase();
  return matchGlob(lower, nameKey(name).toLowerCase()) || matchGlob(lower, name.toLowerCase());
}
