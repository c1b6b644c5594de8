/**
 * Admission at the door, before any handshake or greeting: at most
 * `maxClients` connections in all, at most `maxPerAddress` from one address
 * (an IPv6 address counts by its /64), and a connection-rate limit per address,
 * so that one host cannot fill the server or storm it. Trusted networks are
 * exempt from the per-address limits.
 *
 * @module
 */

/** Why a connection is refused at the door: a key of `say`, the wording each front-end renders. */
export type Refusal = "serverFull" | "tooManyFromAddress" | "connectingTooFast";

/** The limits; `0` turns a per-address limit off. */
export interface AdmissionOptions {
  /** Connections at once, from everyone. */
  maxClients: number;
  /** Connections at once from one address (IPv6: one /64). */
  maxPerAddress: number;
  /** New connections per minute from one address, on average. */
  connectRate: number;
  /** New connections one address may open at once before `connectRate` applies. */
  connectBurst: number;
  /** Networks exempt from the per-address limits, as CIDRs (`10.0.0.0/8`, `::1/128`). */
  exempt: readonly string[];
}

/** What is kept per address: its open connections and its connection-rate bucket. */
interface AddressState {
  open: number;
  tokens: number;
  refilledAt: number;
}

/** Counts connections by address and says which may come in. */
export class Admission {
  /** Connections admitted and not yet released. */
  open = 0;
  readonly #addresses = new Map<string, AddressState>();
  readonly #exempt: Network[];
  #sweepAt = 0;

  /** Makes an admission with `options`; throws on a malformed exempt CIDR. */
  constructor(readonly options: AdmissionOptions) {
    this.#exempt = options.exempt.map(parseCidr);
  }

  /**
   * Admits a connection from `address` and counts it, or returns why not (a
   * line to send it). Every admitted connection must be {@linkcode release}d.
   */
  admit(address: string): Refusal | null {
    if (this.open >= this.options.maxClients) return "serverFull";
    const key = this.#limited(address) ? addressKey(address) : null;
    if (key !== null) {
      const { maxPerAddress, connectRate, connectBurst } = this.options;
      const now = performance.now();
      this.#sweep(now);
      let state = this.#addresses.get(key);
      if (!state) {
        state = { open: 0, tokens: connectBurst, refilledAt: now };
        this.#addresses.set(key, state);
      }
      if (maxPerAddress > 0 && state.open >= maxPerAddress) return "tooManyFromAddress";
      if (connectRate > 0) {
        const refill = (now - state.refilledAt) * connectRate / 60_000;
        state.tokens = Math.min(connectBurst, state.tokens + refill);
        state.refilledAt = now;
        if (state.tokens < 1) return "connectingTooFast";
        state.tokens -= 1;
      }
      state.open++;
    }
    this.open++;
    return null;
  }

  /** Forgets a connection that {@linkcode admit} let in. */
  release(address: string): void {
    this.open--;
    if (!this.#limited(address)) return;
    const state = this.#addresses.get(addressKey(address));
    if (state) state.open--;
  }

  /**
   * The key `address` is counted under for what is bounded per address (connections,
   * rooms made: see {@linkcode addressKey}), or `null` if it is in an exempt network.
   */
  keyOf(address: string): string | null {
    return this.#exempted(address) ? null : addressKey(address);
  }

  /** Whether the per-address limits apply to `address`. */
  #limited(address: string): boolean {
    const { maxPerAddress, connectRate } = this.options;
    if (maxPerAddress <= 0 && connectRate <= 0) return false;
    return !this.#exempted(address);
  }

  #exempted(address: string): boolean {
    if (this.#exempt.length === 0) return false;
    const bytes = parseIp(address);
    return bytes !== null && this.#exempt.some((network) => network.contains(bytes));
  }

  /** Drops, at most once a minute, addresses with nothing open and a full bucket. */
  #sweep(now: number): void {
    if (now < this.#sweepAt) return;
    this.#sweepAt = now + 60_000;
    const { connectRate, connectBurst } = this.options;
    for (const [key, state] of this.#addresses) {
      const tokens = state.tokens + (now - state.refilledAt) * connectRate / 60_000;
      if (state.open === 0 && (connectRate <= 0 || tokens >= connectBurst)) {
        this.#addresses.delete(key);
      }
    }
  }
}

/** The key an address is counted under: IPv4 as is, IPv6 by its /64. */
export function addressKey(address: string): string {
  const bytes = parseIp(address);
  if (bytes === null) return address;
  if (bytes.length === 4) return bytes.join(".");
  const hextets = [];
  for (let i = 0; i < 8; i += 2) hextets.push(((bytes[i] << 8) | bytes[i + 1]).toString(16));
  return `${hextets.join(":")}::/64`;
}

/** The bytes of an IPv4 or IPv6 address (IPv4-mapped IPv6 as IPv4), or `null`. */
export function parseIp(address: string): number[] | null {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) address = mapped[1];
  if (/^\d+\.\d+\.\d+\.\d+$/.test(address)) {
    const bytes = address.split(".").map(Number);
    return bytes.every((byte) => byte <= 255) ? bytes : null;
  }
  if (!address.includes(":")) return null;
  const halves = address.split("::");
  if (halves.length > 2) return null;
  const parse = (part: string) => part === "" ? [] : part.split(":");
  const head = parse(halves[0]);
  const tail = halves.length === 2 ? parse(halves[1]) : [];
  const missing = 8 - head.length - tail.length;
  if (missing < 0 || (halves.length === 1 && missing !== 0)) return null;
  const hextets = [...head, ...Array(missing).fill("0"), ...tail];
  const bytes: number[] = [];
  for (const hextet of hextets) {
    if (!/^[0-9a-f]{1,4}$/i.test(hextet)) return null;
    const value = parseInt(hextet, 16);
    bytes.push(value >> 8, value & 0xff);
  }
  return bytes;
}

/** A network such as `10.0.0.0/8`. */
interface Network {
  contains(bytes: number[]): boolean;
}

/** Parses a CIDR (an address alone is a network of one); throws on anything else. */
export function parseCidr(cidr: string): Network {
  const match = /^([^/]+)(?:\/(\d{1,3}))?$/.exec(cidr.trim());
  const base = match && parseIp(match[1]);
  const width = base ? base.length * 8 : 0;
  const prefix = match?.[2] === undefined ? width : Number(match[2]);
  // A "/" takes a prefix: "10.0.0.0/" is refused, never read as /0 (which is everyone).
  if (!base || prefix > width) {
    throw new Error(`not a network: "${cidr}" (expected e.g. 10.0.0.0/8 or fd00::/8)`);
  }
  return {
    contains(bytes) {
      if (bytes.length !== base.length) return false;
      for (let bit = 0; bit < prefix; bit += 8) {
        const mask = prefix - bit >= 8 ? 0xff : (0xff << (8 - (prefix - bit))) & 0xff;
        if ((bytes[bit / 8] & mask) !== (base[bit / 8] & mask)) return false;
      }
      return true;
    },
  };
}
