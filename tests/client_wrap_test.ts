/**
 * Pins the client's wrapping of long lines in a terminal: rows fit the width,
 * continuation rows carry a hanging indent, and padding a message so that its
 * tail lands at the start of a row can no longer forge a line of its own.
 * Run with `deno test -A client_wrap_test.ts`.
 *
 * @module
 */

import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { cleanLine } from "../src/core/protocol.ts";
import { formatLine, hangingIndent, runClient, sentPrivateLine, wrapLine } from "../client.ts";
import { LineClient, quietServer, test, within } from "./test_util.ts";

const encoder = new TextEncoder();

/**
 * The rows a terminal `columns` wide shows for printed `text`: each line cut
 * where the terminal wraps it by itself (a wide character never straddles rows).
 */
function terminalRows(text: string, columns: number): string[] {
  const rows: string[] = [];
  for (const line of text.split("\n")) {
    let row = "";
    let used = 0;
    for (const char of line) {
      // Wide enough for the lines tested here: Han and emoji take two cells.
      const width = /[\p{Script=Han}\p{Emoji_Presentation}]/u.test(char) ? 2 : 1;
      if (used + width > columns) {
        rows.push(row);
        row = "";
        used = 0;
      }
      row += char;
      used += width;
    }
    rows.push(row);
  }
  return rows;
}

// A message padded so that, at 80 columns, its tail starts the second row. Spaces
// are squeezed by the server, so the padding is braille blanks, which show as nothing.
/**
 * An interactive client of `port` called ann whose printed lines are kept: `waitFor`
 * a line that matches, then `end` its input (Ctrl-D) and get its exit code.
 */
function watchedClient(port: number, options: Partial<Parameters<typeof runClient>[0]> = {}) {
  const printed: string[] = [];
  let wake = () => {};
  let endInput = () => {};
  const input = new ReadableStream<Uint8Array>({
    start: (controller) => endInput = () => controller.close(),
  });
  const done = runClient({
    port,
    name: "ann",
    input,
    output: (line) => {
      printed.push(line);
      wake();
    },
    interactive: true,
    ...options,
  });
  return {
    waitFor: (match: (line: string) => boolean) =>
      within(
        (async () => {
          while (!printed.some(match)) await new Promise<void>((resolve) => wake = resolve);
          return printed.find(match)!;
        })(),
        () => `a line; got ${JSON.stringify(printed)}`,
      ),
    end: () => {
      endInput();
      return done;
    },
  };
}

const PAD = "\u2800".repeat(80 - "mallory: ".length);
const FORGED = "bob (private): your password please";
const ATTACK = `mallory: ${PAD}${FORGED}`;

test("a padded message forges a line in an 80-column terminal that does not wrap it", () => {
  // What the server relays: padding with spaces is squeezed, other blanks are not.
  assertEquals(
    cleanLine(encoder.encode(`${" ".repeat(71)}${FORGED}`)),
    FORGED,
    "spaces are squeezed",
  );
  assertEquals(cleanLine(encoder.encode(`${PAD}${FORGED}`)), `${PAD}${FORGED}`);
  // Unwrapped, the terminal starts a row with the forged text.
  const rows = terminalRows(formatLine(ATTACK, { color: false }), 80);
  assertEquals(rows[1], FORGED);
});

test("wrapped with a hanging indent, no row passes for a line of its own", () => {
  for (const color of [false, true]) {
    const shown = formatLine(ATTACK, { color });
    const wrapped = wrapLine(shown, 80, hangingIndent(ATTACK));
    // deno-lint-ignore no-control-regex
    const rows = terminalRows(wrapped.replace(/\x1b\[[0-9;]*[A-Za-z]/g, ""), 80);
    assert(rows.length >= 2, "it wraps");
    assert(rows[0].startsWith("mallory: "));
    for (const row of rows.slice(1)) {
      assert(row.startsWith("         "), `indented past "mallory: ": ${JSON.stringify(row)}`);
      assert(!/^\S/.test(row));
    }
    assert(!rows.some((row) => row.startsWith("bob (private):")));
    assertEquals(wrapped.split("\n").length, rows.length, "the terminal wraps nothing itself");
  }
});

test("wrapLine breaks at spaces, fits the width and indents every row after the first", () => {
  assertEquals(wrapLine("bob: short", 80, 5), "bob: short");
  const words = "bob: " + Array.from({ length: 30 }, (_, i) => `word${i}`).join(" ");
  const rows = wrapLine(words, 40, 5).split("\n");
  assert(rows.length > 1);
  for (const [i, row] of rows.entries()) {
    assert([...row].length <= 40, `row ${i} fits: ${JSON.stringify(row)}`);
    assert(!row.endsWith(" "), `no trailing space: ${JSON.stringify(row)}`);
    if (i > 0) assert(/^ {5}\S/.test(row), `indented by 5: ${JSON.stringify(row)}`);
  }
  assertEquals(rows.map((row) => row.trim()).join(" "), words, "nothing lost but the breaks");
  // A word longer than a row breaks where the row ends.
  assertEquals(wrapLine(`a: ${"x".repeat(20)}`, 10, 3).split("\n"), [
    "a: xxxxxxx",
    "   xxxxxxx",
    "   xxxxxx",
  ]);
});

test("wrapLine counts wide characters as two cells and ANSI styles as none", () => {
  const rows = wrapLine("李: 中文字中文字中文字中文字", 10, 4).split("\n");
  assertEquals(rows, ["李: 中文字", "    中文字", "    中文字", "    中文字"]);
  // An emoji shown with the emoji selector takes two cells.
  assertEquals(wrapLine("a: ❤️❤️❤️❤️", 8, 3).split("\n"), ["a: ❤️❤️", "   ❤️❤️"]);
  const styled = "\x1b[1;32mbob\x1b[22;39m: " + "y ".repeat(10).trim();
  const plain = wrapLine("bob: " + "y ".repeat(10).trim(), 12, 5);
  // deno-lint-ignore no-control-regex
  assertEquals(wrapLine(styled, 12, 5).replace(/\x1b\[[0-9;]*[A-Za-z]/g, ""), plain);
});

test("the hanging indent reaches past the sender's name, within half the width", () => {
  assertEquals(hangingIndent("bob: hi"), 5);
  assertEquals(hangingIndent("* bob waves"), 6);
  assertEquals(hangingIndent("bob (private): psst"), 15);
  assertEquals(hangingIndent("-- ann joined"), 3);
  assertEquals(hangingIndent("!! no such room"), 3);
  assertEquals(hangingIndent("something else"), 2);
  assertEquals(hangingIndent("bob: hi", 6), 11, "after a timestamp");
  // A private message you sent, once confirmed: past "ann (private) → bob: ".
  assertEquals(hangingIndent(sentPrivateLine("ann", "bob", "hi")), 21);
  assertEquals(hangingIndent(sentPrivateLine("李", "bob", "hi"), 25), 25 + 20);
  const long = `${"n".repeat(24)} (private): ${"z".repeat(100)}`;
  const rows = wrapLine(long, 40, hangingIndent(long)).split("\n");
  assert(rows.slice(1).every((row) => /^ {20}\S/.test(row)), "capped at half of 40");
});

test("an interactive client wraps what it shows to the terminal's width", async () => {
  await using server = await quietServer();
  using mallory = await LineClient.join(server, "mallory");
  // Nothing is typed; closing the input (Ctrl-D) leaves.
  const { waitFor, end } = watchedClient(server.addr.port, { columns: () => 80 });
  await waitFor((line) => line.startsWith("-- Hello, ann!"));
  await mallory.write(`${PAD}${FORGED}\n`);
  const shown = await waitFor((line) => line.startsWith("mallory: "));
  const rows = shown.split("\n");
  assertEquals(rows, [`mallory: ${PAD}`, `         ${FORGED}`]);
  assertEquals(terminalRows(shown, 80), rows);
  assertEquals(await end(), 0);
});

test("with ISO timestamps, continuation rows are indented past the stamp and the name", async () => {
  await using server = await quietServer();
  using mallory = await LineClient.join(server, "mallory");
  const { waitFor, end } = watchedClient(server.addr.port, {
    columns: () => 80,
    timestamps: "iso",
    now: () => new Date(Date.UTC(2026, 10, 29, 4, 51, 50, 123)),
  });
  await waitFor((line) => line.includes(" -- Hello, ann!"));
  await mallory.write(`${"word ".repeat(30).trim()}\n`);
  const shown = await waitFor((line) => line.includes(" mallory: "));
  const rows = shown.split("\n");
  assert(rows[0].startsWith("2026-11-29T04:51:50.123Z mallory: word"), rows[0]);
  const indent = " ".repeat("2026-11-29T04:51:50.123Z mallory: ".length);
  assert(rows.length > 1 && rows.slice(1).every((row) => row.startsWith(indent + "word")), shown);
  assert(rows.every((row) => row.length <= 80), shown);
  assertEquals(await end(), 0);
});

test("a replayed line wraps with its indent past its time and the sender's name", async () => {
  await using server = await quietServer({ replay: 20 });
  using bob = await LineClient.join(server, "bob");
  await bob.write(`${"word ".repeat(20).trim()}\n/who\n`);
  await bob.until((line) => line.startsWith("-- Online in "));
  const { waitFor, end } = watchedClient(server.addr.port, { color: true, columns: () => 40 });
  const shown = await waitFor((line) => line.includes("bob: word"));
  assertEquals(await end(), 0);
  // deno-lint-ignore no-control-regex
  const rows = shown.replace(/\x1b\[[0-9;]*m/g, "").split("\n");
  assert(/^\[\d\d:\d\d\] bob: word/.test(rows[0]), rows[0]);
  const indent = " ".repeat("[HH:MM] bob: ".length);
  assert(rows.length > 1 && rows.slice(1).every((row) => row.startsWith(indent + "word")), shown);
  assert(rows.every((row) => row.length <= 40), shown);
  assert(shown.startsWith("\x1b[2m") && !shown.includes("\x1b[1;"), "dim, no name colour");
});
