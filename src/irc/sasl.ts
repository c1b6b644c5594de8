/**
 * SASL for IRC (`CAP sasl`, AUTHENTICATE): the payloads of PLAIN (RFC 4616) and the
 * server's side of SCRAM-SHA-256 (RFC 5802, RFC 7677), as pure functions over the
 * decoded messages. What is checked against the account store, and the numerics, are
 * the IRC front-end's (`irc.ts`); this module never sees a session.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { createHash, createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import type { ScramVerifier } from "../core/passwords.ts";

/** The mechanisms offered, as `CAP LS 302` and 908 list them. */
export const SASL_MECHANISMS = ["PLAIN", "SCRAM-SHA-256"] as const;

/** A chunk of an AUTHENTICATE payload is at most this long; one this long means more follow. */
export const CHUNK_MAX = 400;

/**
 * The most base64 one exchange may gather: a PLAIN message with the longest password
 * (1,024 bytes) and two names fits with room to spare; more is refused (904), so that
 * a client cannot make the server keep an endless payload.
 */
export const PAYLOAD_MAX = 8 * CHUNK_MAX;

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/** The bytes of strict base64 `text` (padding required), or `null` if it is not base64. */
export function decodeBase64(text: string): Uint8Array | null {
  if (!BASE64.test(text)) return null;
  return new Uint8Array(Buffer.from(text, "base64"));
}

/** `bytes` as UTF-8 text, or `null` if they are not UTF-8. */
function utf8(bytes: Uint8Array): string | null {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return null;
  }
}

/**
 * A PLAIN message (`[authzid] NUL authcid NUL passwd`): the account and password, or
 * `null` if it is malformed, a part is empty, or the authzid names another account
 * (no one may act as another here).
 */
export function parsePlain(
  bytes: Uint8Array,
  sameAccount: (a: string, b: string) => boolean,
): { account: string; password: string } | null {
  const text = utf8(bytes);
  if (text === null) return null;
  const parts = text.split("\0");
  if (parts.length !== 3) return null;
  const [authzid, account, password] = parts;
  if (account === "" || password === "") return null;
  if (authzid !== "" && !sameAccount(authzid, account)) return null;
  return { account, password };
}

/** The client-first message of SCRAM, parsed: what the rest of the exchange needs. */
export interface ScramFirst {
  /** The GS2 header (`n,,` or `y,,`), which the client-final message repeats in `c=`. */
  readonly gs2: string;
  /** The account named (`n=`, its `=2C` and `=3D` unescaped). */
  readonly account: string;
  /** The client's nonce (`r=`). */
  readonly clientNonce: string;
  /** `client-first-message-bare`, part of the AuthMessage. */
  readonly bare: string;
}

/**
 * The client-first message (RFC 5802 §7), or `null` if it is malformed or asks for
 * channel binding (`p=`), which IRC over this server does not offer.
 */
export function parseScramFirst(bytes: Uint8Array): ScramFirst | null {
  const text = utf8(bytes);
  if (text === null) return null;
  const match = /^([ny]),(?:a=[^,]*)?,(n=([^,]*),r=([\x21-\x2b\x2d-\x7e]+)(?:,.*)?)$/s.exec(text);
  if (!match) return null;
  const [, , bare, rawName, clientNonce] = match;
  const account = unescapeName(rawName);
  if (account === null || account === "") return null;
  const gs2 = text.slice(0, text.length - bare.length);
  return { gs2, account, clientNonce, bare };
}

/** A SCRAM `saslname` unescaped (`=2C` is `,`, `=3D` is `=`); `null` for another `=`. */
function unescapeName(name: string): string | null {
  if (/=(?!2C|3D)/.test(name)) return null;
  return name.replaceAll("=2C", ",").replaceAll("=3D", "=");
}

/** The server's state between its first message and the client's proof. */
export interface ScramServer {
  readonly first: ScramFirst;
  /** The combined nonce (the client's and the server's). */
  readonly nonce: string;
  /** `server-first-message`, part of the AuthMessage. */
  readonly serverFirst: string;
  readonly verifier: ScramVerifier;
}

/**
 * The server-first message for `first` with the account's `verifier` (its salt and
 * iterations): `r=NONCE,s=SALT,i=ITERATIONS`.
 */
export function scramServerFirst(first: ScramFirst, verifier: ScramVerifier): ScramServer {
  const nonce = first.clientNonce + randomBytes(18).toString("base64");
  const serverFirst = `r=${nonce},s=${verifier.salt},i=${verifier.iterations}`;
  return { first, nonce, serverFirst, verifier };
}

/**
 * A verifier for an account that does not exist: a salt derived from the name under
 * `secret`, so that the same name gets the same salt and the exchange goes on as for a
 * real account (the answer is the same failure as a wrong password), telling no one
 * which accounts exist. No proof matches its keys.
 */
export function decoyVerifier(account: string, secret: Uint8Array): ScramVerifier {
  const salt = createHmac("sha256", secret).update(account).digest().subarray(0, 16);
  const unmatched = randomBytes(32).toString("base64");
  return {
    salt: salt.toString("base64"),
    iterations: 4096,
    storedKey: unmatched,
    serverKey: unmatched,
  };
}

/**
 * Checks the client-final message (RFC 5802 §7: `c=`, `r=`, then `p=`) against the
 * exchange: `nonce` if the nonce or channel binding does not match or it is malformed,
 * `proof` if the proof is wrong, else the server-final message (`v=SIGNATURE`).
 */
export function scramFinal(
  server: ScramServer,
  bytes: Uint8Array,
): { ok: true; serverFinal: string } | { ok: false; why: "malformed" | "nonce" | "proof" } {
  const text = utf8(bytes);
  if (text === null) return { ok: false, why: "malformed" };
  const match = /^(c=([^,]*),r=([^,]*)(?:,.*?)?),p=([A-Za-z0-9+/=]+)$/s.exec(text);
  if (!match) return { ok: false, why: "malformed" };
  const [, withoutProof, binding, nonce, proofText] = match;
  if (nonce !== server.nonce) return { ok: false, why: "nonce" };
  if (binding !== Buffer.from(server.first.gs2).toString("base64")) {
    return { ok: false, why: "nonce" };
  }
  const proof = decodeBase64(proofText);
  if (proof === null || proof.length !== 32) return { ok: false, why: "malformed" };
  const authMessage = `${server.first.bare},${server.serverFirst},${withoutProof}`;
  const storedKey = Buffer.from(server.verifier.storedKey, "base64");
  const signature = createHmac("sha256", storedKey).update(authMessage).digest();
  const clientKey = Buffer.alloc(32);
  for (let i = 0; i < 32; i++) clientKey[i] = proof[i] ^ signature[i];
  const derived = createHash("sha256").update(clientKey).digest();
  if (storedKey.length !== 32 || !timingSafeEqual(derived, storedKey)) {
    return { ok: false, why: "proof" };
  }
  const serverKey = Buffer.from(server.verifier.serverKey, "base64");
  const serverSignature = createHmac("sha256", serverKey).update(authMessage).digest("base64");
  return { ok: true, serverFinal: `v=${serverSignature}` };
}

/**
 * Gathers one AUTHENTICATE payload from its chunks: each `add` is one line's
 * parameter. `+` alone is an empty chunk; a chunk of exactly {@linkcode CHUNK_MAX}
 * bytes means more follow.
 */
export class ChunkGatherer {
  #parts: string[] = [];
  #length = 0;

  /**
   * Adds `chunk`: `more` (wait for the next), `tooLong` (a chunk over 400 bytes: 905),
   * `overflow` (the whole over {@linkcode PAYLOAD_MAX}: 904), or the complete payload
   * (base64, `""` for an empty one).
   */
  add(chunk: string): "more" | "tooLong" | "overflow" | { payload: string } {
    if (chunk.length > CHUNK_MAX) return "tooLong";
    if (chunk !== "+") {
      this.#length += chunk.length;
      if (this.#length > PAYLOAD_MAX) return "overflow";
      this.#parts.push(chunk);
      if (chunk.length === CHUNK_MAX) return "more";
    }
    const payload = this.#parts.join("");
    this.#parts = [];
    this.#length = 0;
    return { payload };
  }
}
