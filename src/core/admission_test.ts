/**
 * Pins admission at the door: the total cap, the per-address cap (IPv6 by
 * /64), the per-address connection rate, exempt networks, and address parsing.
 *
 * @module
 */

import { deepStrictEqual as assertEquals, throws as assertThrows } from "node:assert/strict";
import { addressKey, Admission, type AdmissionOptions, parseCidr, parseIp } from "./admission.ts";
import { test } from "../../tests/test_util.ts";

const OFF: AdmissionOptions = {
  maxClients: 1000,
  maxPerAddress: 0,
  connectRate: 0,
  connectBurst: 10,
  exempt: [],
};

test("past maxClients everyone is refused, and a release lets the next one in", () => {
  const admission = new Admission({ ...OFF, maxClients: 2 });
  assertEquals(admission.admit("10.0.0.1"), null);
  assertEquals(admission.admit("10.0.0.2"), null);
  assertEquals(admission.admit("10.0.0.3"), "serverFull");
  admission.release("10.0.0.1");
  assertEquals(admission.admit("10.0.0.3"), null);
  assertEquals(admission.open, 2);
});

test("one address may hold maxPerAddress connections; an IPv6 /64 counts as one address", () => {
  const admission = new Admission({ ...OFF, maxPerAddress: 2 });
  assertEquals(admission.admit("192.0.2.1"), null);
  assertEquals(admission.admit("::ffff:192.0.2.1"), null); // the same address, IPv4-mapped
  assertEquals(admission.admit("192.0.2.1"), "tooManyFromAddress");
  assertEquals(admission.admit("192.0.2.2"), null); // another address is not affected
  assertEquals(admission.admit("2001:db8:1:2::a"), null);
  assertEquals(admission.admit("2001:db8:1:2:ffff::b"), null);
  assertEquals(admission.admit("2001:db8:1:2::c"), "tooManyFromAddress");
  assertEquals(admission.admit("2001:db8:1:3::c"), null); // the next /64
  admission.release("192.0.2.1");
  assertEquals(admission.admit("192.0.2.1"), null);
});

test("an address opening connections too fast is refused after its burst", () => {
  const admission = new Admission({ ...OFF, connectRate: 30, connectBurst: 3 });
  for (let i = 0; i < 3; i++) {
    assertEquals(admission.admit("198.51.100.7"), null);
    admission.release("198.51.100.7"); // closing does not give the token back
  }
  assertEquals(admission.admit("198.51.100.7"), "connectingTooFast");
  assertEquals(admission.admit("198.51.100.8"), null);
});

test("exempt networks skip the per-address limits but not maxClients", () => {
  const admission = new Admission({
    ...OFF,
    maxClients: 5,
    maxPerAddress: 1,
    exempt: ["127.0.0.0/8", "fd00::/8"],
  });
  for (let i = 0; i < 3; i++) assertEquals(admission.admit("127.0.0.1"), null);
  assertEquals(admission.admit("fd12::1"), null);
  assertEquals(admission.admit("10.1.1.1"), null);
  assertEquals(admission.admit("10.1.1.1"), "serverFull");
  admission.release("127.0.0.1");
  assertEquals(admission.admit("10.1.1.1"), "tooManyFromAddress");
});

test("addresses and networks parse, and malformed ones are refused", () => {
  assertEquals(parseIp("::1"), [...Array(15).fill(0), 1]);
  assertEquals(parseIp("::ffff:1.2.3.4"), [1, 2, 3, 4]);
  assertEquals(parseIp("1.2.3.256"), null);
  assertEquals(parseIp("1::2::3"), null);
  assertEquals(parseIp("nonsense"), null);
  assertEquals(addressKey("2001:db8:0:0:1:2:3:4"), "2001:db8:0:0::/64");
  assertEquals(parseCidr("10.0.0.0/8").contains([10, 200, 1, 1]), true);
  assertEquals(parseCidr("10.0.0.0/8").contains([11, 0, 0, 1]), false);
  assertEquals(parseCidr("192.168.1.128/25").contains([192, 168, 1, 200]), true);
  assertEquals(parseCidr("192.168.1.128/25").contains([192, 168, 1, 100]), false);
  assertEquals(parseCidr("::1").contains(parseIp("::1")!), true);
  assertEquals(parseCidr(" 10.0.0.0/8 ").contains([10, 0, 0, 1]), true);
  const bad = ["10.0.0.0/33", "fd00::/129", "x/8", "10.0.0.0/a", "10.0.0.0/", "/8", ""];
  for (const cidr of [...bad, "10.0.0.0/8/9", "10.0.0.0/-1", "10.0.0.0/+8", "10.0.0.0/ 8"]) {
    assertThrows(() => parseCidr(cidr), /not a network/, cidr);
  }
});
