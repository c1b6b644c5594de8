/**
 * Cloaks: what IRC shows in place of a user's address. IRC puts a host in every
 * `nick!user@host` (JOIN, PART, QUIT, NICK, WHO, WHOIS, USERHOST, MONITOR…), so
 * the real address would reach anyone who asks `WHO *`. A cloak is a keyed hash
 * of the address instead, as Ergo makes them: HMAC-SHA256 under a secret key, of
 * the address as admission counts it (`addressKey`: IPv4 as is, IPv6 by its /64,
 * so one user's privacy addresses are one cloak), the first 65 bits written in
 * base32 under `.cloak`, e.g. `k3x9q2fh8d4mw.cloak`. The same key and address
 * always give the same cloak (so bans by mask and "who is this" keep working);
 * without the key, nobody can tell the address back (trying every IPv4 address
 * needs the key).
 *
 * The key is the server's: generated once ({@linkcode newCloakSecret}) and kept
 * with the data (the `--db` file, or Redis for a whole cluster), or given with
 * `--cloak-secret`.
 *
 * @module
 */

import { createHmac } from "node:crypto";
import { addressKey } from "./admission.ts";

/** What every cloak ends with. */
export const CLOAK_SUFFIX = ".cloak";
/** Characters of a cloak's label: 13 base32 characters are 65 bits of the hash. */
const LABEL_LENGTH = 13;
/** RFC 4648 base32, in lower case (hosts are shown in lower case). */
const BASE32 = "abcdefghijklmnopqrstuvwxyz234567";
/** The shortest `--cloak-secret` taken: a short key could be guessed, and every address with it. */
export const CLOAK_SECRET_MIN = 16;

/** A new random key: 32 bytes from `crypto.getRandomValues`, in hex. */
export function newCloakSecret(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

/** Makes the cloaks of addresses under one secret key. */
export class Cloaks {
  readonly #secret: string;

  /** Cloaks under `secret` (a fresh random key if none is given). */
  constructor(secret: string = newCloakSecret()) {
    this.#secret = secret;
  }

  /** The cloak of `address` (an IP address, or any other string a transport calls its peer). */
  of(address: string): string {
    const hash = createHmac("sha256", this.#secret).update(addressKey(address)).digest();
    let label = "";
    // Five bits at a time from the front of the hash.
    for (let bit = 0; label.length < LABEL_LENGTH; bit += 5) {
      const byte = bit >> 3;
      const pair = (hash[byte] << 8) | hash[byte + 1];
      label += BASE32[(pair >> (11 - (bit & 7))) & 31];
    }
    return label + CLOAK_SUFFIX;
  }
}
