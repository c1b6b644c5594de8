/**
 * Tests of cloaks: a keyed hash of an address, stable under one key.
 *
 * @module
 */

import {
  deepStrictEqual as assertEquals,
  match as assertMatch,
  notEqual,
} from "node:assert/strict";
import { Cloaks, newCloakSecret } from "./cloak.ts";
import { test } from "../../tests/test_util.ts";

test("cloaks: one key and address give one cloak; an IPv6 /64 is one address", () => {
  const secret = newCloakSecret();
  assertMatch(secret, /^[0-9a-f]{64}$/);
  notEqual(secret, newCloakSecret());
  const cloaks = new Cloaks(secret);
  const again = new Cloaks(secret); // after a restart, with the kept key
  assertMatch(cloaks.of("192.0.2.1"), /^[a-z2-7]{13}\.cloak$/);
  assertEquals(cloaks.of("192.0.2.1"), again.of("192.0.2.1"));
  assertEquals(cloaks.of("::ffff:192.0.2.1"), cloaks.of("192.0.2.1"));
  notEqual(cloaks.of("192.0.2.1"), cloaks.of("192.0.2.2"));
  assertEquals(cloaks.of("2001:db8::1"), cloaks.of("2001:db8:0:0:ffff::2"));
  notEqual(cloaks.of("2001:db8::1"), cloaks.of("2001:db8:0:1::1"));
  // Another key, other cloaks: the address cannot be told from a cloak without the key.
  notEqual(new Cloaks(newCloakSecret()).of("192.0.2.1"), cloaks.of("192.0.2.1"));
  // The first 65 bits of HMAC-SHA256("0123456789abcdef", "192.0.2.1"), in base32.
  assertEquals(new Cloaks("0123456789abcdef").of("192.0.2.1"), KNOWN);
});

/** Worked out apart, with Python's hmac and base64. */
const KNOWN = "qnder5tsjqygu.cloak";
