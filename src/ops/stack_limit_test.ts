import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { test } from "../../tests/test_util.ts";

const PRIMED = `
import { stripTypeScriptTypes } from "node:module";
import { primeStackLimit } from ${
  JSON.stringify(new URL("./stack_limit.ts", import.meta.url).href)
};
if (Deno.args[0] === "prime") primeStackLimit();
const files = [];
try {
  for (;;) files.push(Deno.openSync("/dev/null"));
} catch {
  // every descriptor is taken: EMFILE
}
// Without primeStackLimit, Deno 2.9 panics here (stacker cannot open /proc/self/maps).
console.log(stripTypeScriptTypes("if (x) {}"));
for (const file of files) file.close();
`;

test("primeStackLimit: the parser runs at the open-file limit once it has been primed", async () => {
  const { code, stdout, stderr } = await new Deno.Command("sh", {
    args: ["-c", `ulimit -n 64 && exec "${Deno.execPath()}" eval --ext=ts "$0" prime`, PRIMED],
    stdin: "null",
  }).output();
  const decoder = new TextDecoder();
  assertEquals(
    { code, out: decoder.decode(stdout).trim() },
    { code: 0, out: "if (x) {}" },
    decoder.decode(stderr),
  );
});
