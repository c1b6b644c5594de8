/**
 * The page as a chat client (src/web/page/), in Chromium through `npm:puppeteer-core`
 * as in `tests/web_page_test.ts`: conversations with unread and mention counts, pane
 * switching that keeps each pane's place, Alt+Up/Down, day separators, the new-messages
 * line, links, Tab completion, the member menu acting on a room (op, then kick), and the
 * cost of a 10,000-line pane (printed in ms). Features built on other branches' server
 * requests (`history` with `before`, `markRead`/`readMarker`, `search`, `deleted`,
 * `conversations`) are played with the JSON stand-in, and their absence (`unknownType`)
 * too. Skipped where no `chromium` is on the PATH.
 *
 * @module
 */

import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
// A test-only package, named here rather than in deno.json (see web_page_test.ts).
// deno-lint-ignore no-import-prefix
import type { Browser, Page } from "npm:puppeteer-core@25.16.0";
import { browserTest, startChat, type WebServer } from "./browser_util.ts";
import { LineClient } from "./test_util.ts";
import { JsonStandIn, type PlayedSocket } from "./json_stand_in.ts";

interface ChatPage {
  page: Page;
  errors: string[];
}

async function openPage(
  browser: Browser,
  url: string,
  keepSockets = false,
  init = "",
): Promise<ChatPage> {
  const page = await browser.newPage();
  if (init) await page.evaluateOnNewDocument(init);
  if (keepSockets) {
    await page.evaluateOnNewDocument(`window.sockets = [];
    const Native = WebSocket;
    window.WebSocket = class extends Native {
      constructor(...args) { super(...args); window.sockets.push(this); }
    };`);
  }
  const errors: string[] = [];
  page.on("pageerror", (error) => errors.push(String(error)));
  page.on("console", (message) => {
    if (message.type() === "error") errors.push(`console: ${message.text()}`);
  });
  await page.setViewport({ width: 1100, height: 600 });
  await page.goto(url);
  return { page, errors };
}

const pageUrl = (server: WebServer) => `http://127.0.0.1:${server.webAddr.port}/`;

async function until(page: Page, expression: string, what: string): Promise<void> {
  try {
    await page.waitForFunction(expression, { timeout: 10_000, polling: 20 });
  } catch (error) {
    const lines = await logLines(page).catch(() => []);
    throw new Error(`${what}: ${(error as Error).message}; the page shows ${lines.slice(-12)}`);
  }
}

async function logLines(page: Page): Promise<string[]> {
  return await page.evaluate(
    `[...document.querySelectorAll("#log .line .body")].map((e) => e.textContent)`,
  ) as string[];
}

/** Waits for a line reading `text` in the pane shown; returns its classes. */
async function seeLine(page: Page, text: string): Promise<string> {
  const find = `[...document.querySelectorAll("#log .line")].find((e) => ` +
    `e.querySelector(".body").textContent === ${JSON.stringify(text)})`;
  await until(page, `!!${find}`, `the line ${JSON.stringify(text)}`);
  return await page.evaluate(`${find}.className`) as string;
}

async function untilText(page: Page, selector: string, text: string): Promise<void> {
  await until(
    page,
    `document.querySelector(${JSON.stringify(selector)})?.textContent === ${JSON.stringify(text)}`,
    `${selector} to read ${JSON.stringify(text)}`,
  );
}

async function joinPage(browser: Browser, server: WebServer, name: string): Promise<ChatPage> {
  const chat = await openPage(browser, pageUrl(server));
  await giveName(chat.page, name);
  await untilText(chat.page, "#status", `Connected as ${name}`);
  return chat;
}

async function giveName(page: Page, name: string): Promise<void> {
  await until(page, `!document.querySelector("#name-input").disabled`, "the name field");
  await page.focus("#name-input");
  await page.keyboard.type(name);
  await page.keyboard.press("Enter");
}

async function type(page: Page, line: string): Promise<void> {
  await page.focus("#input");
  await page.keyboard.type(line);
  await page.keyboard.press("Enter");
  await until(page, `document.querySelector("#input").value === ""`, `${line} to be sent`);
}

/** Clicks in `page`, brought to the front first (a click waits for frames, which a page
 * behind another never draws). */
async function tap(page: Page, selector: string): Promise<void> {
  await page.bringToFront();
  await page.click(selector);
}

const conv = (key: string) => `.conv[data-key=${JSON.stringify(key)}]`;

/** The unread and mention counts a conversation shows ("" for none). */
async function counts(page: Page, key: string): Promise<[string, string]> {
  return await page.evaluate(`(() => {
    const item = document.querySelector(${JSON.stringify(conv(key))});
    return [item.querySelector(".unread")?.textContent ?? "",
      item.querySelector(".mentions")?.textContent ?? ""];
  })()`) as [string, string];
}

async function expectLine(client: LineClient, line: string): Promise<void> {
  await client.until((got) => got === line);
}

// ---------------------------------------------------------------------------
// The real server: two browsers and an nc user
// ---------------------------------------------------------------------------

browserTest(
  "client: panes, unread and mention counts, place kept, Alt+Up/Down, day line, links, Tab",
  async (browser) => {
    await using server = await startChat();
    const ann = await joinPage(browser, server, "ann");
    const bob = await joinPage(browser, server, "bob");
    using carol = await LineClient.join(server, "carol");
    const { page } = ann;
    await until(page, `document.querySelector("#members").textContent.includes("carol")`, "carol");

    // A day separator above the first line of the day.
    assertEquals(
      await page.evaluate(
        `[...document.querySelectorAll("#log .day-sep")].map((e) => e.textContent)`,
      ),
      ["Today"],
    );

    // A mention is highlighted; links (http and https only) open apart, nothing else is one.
    await carol.write("ann: see https://example.com/a?b=1, or javascript:alert(1) (x)\n");
    const classes = await seeLine(
      page,
      "carol: ann: see https://example.com/a?b=1, or " +
        "javascript:alert(1) (x)",
    );
    assert(classes.includes("mention"), classes);
    assertEquals(
      await page.evaluate(`[...document.querySelectorAll("#log a")].map((a) =>
        [a.getAttribute("href"), a.textContent, a.rel, a.target])`),
      [["https://example.com/a?b=1", "https://example.com/a?b=1", "noopener noreferrer", "_blank"]],
    );
    assert(
      !(await seeLine(
        bob.page,
        "carol: ann: see https://example.com/a?b=1, or " +
          "javascript:alert(1) (x)",
      )).includes("mention"),
      "no mention for bob",
    );

    // A private message opens a conversation, counted apart (a private line is a mention).
    await carol.write("/msg ann psst\n");
    await until(page, `!!document.querySelector(${JSON.stringify(conv("@carol"))})`, "a pane");
    assertEquals(await counts(page, "@carol"), ["1", "1"]);
    assertEquals(
      await page.evaluate(`document.querySelector(${JSON.stringify(conv("@carol"))}).ariaLabel`),
      "Private conversation with carol, 1 unread, 1 mention",
    );

    // 60 lines in the lobby; ann scrolls up to a place, goes to carol's pane, comes back.
    await carol.write(Array.from({ length: 60 }, (_, i) => `line ${i}\n`).join(""));
    await seeLine(page, "carol: line 59");
    await page.evaluate(`document.querySelector("#log").scrollTop = 300`);
    await until(page, `document.querySelector("#log").scrollTop === 300`, "scrolled up");
    await tap(page, conv("@carol"));
    await seeLine(page, "carol: psst");
    assertEquals(await counts(page, "@carol"), ["", ""]);
    await untilText(page, "#room", "carol");
    // While ann reads carol's pane, the lobby counts: 2 unread, 1 of them naming ann.
    await carol.write("one\nann, two\n");
    await until(
      page,
      `!!document.querySelector(${JSON.stringify(conv("#lobby") + " .unread")})`,
      "the lobby's count",
    );
    await until(
      page,
      `document.querySelector(${JSON.stringify(conv("#lobby") + " .unread")})
      .textContent === "2"`,
      "2 unread",
    );
    assertEquals(await counts(page, "#lobby"), ["2", "1"]);
    // Alt+Up: the lobby again, at the place ann left it; a "new messages" line before "one".
    await page.keyboard.down("Alt");
    await page.keyboard.press("ArrowUp");
    await page.keyboard.up("Alt");
    await untilText(page, "#room", "lobby");
    assertEquals(await page.evaluate(`document.querySelector("#log").scrollTop`), 300);
    assertEquals(await counts(page, "#lobby"), ["", ""]);
    assertEquals(
      await page.evaluate(`(() => {
        const mark = document.querySelector("#log .new-marker");
        return [mark.textContent, mark.nextElementSibling.querySelector(".body").textContent];
      })()`),
      ["New messages", "carol: one"],
    );
    // Alt+Down: carol's pane (the list wraps around too).
    await page.keyboard.down("Alt");
    await page.keyboard.press("ArrowDown");
    await page.keyboard.up("Alt");
    await untilText(page, "#room", "carol");
    await page.keyboard.down("Alt");
    await page.keyboard.press("ArrowDown");
    await page.keyboard.up("Alt");
    await untilText(page, "#room", "lobby");

    // Tab completes commands at the start, names elsewhere ("name: " at the start).
    await page.focus("#input");
    await page.keyboard.type("/jo");
    await page.keyboard.press("Tab");
    assertEquals(await page.evaluate(`document.querySelector("#input").value`), "/join ");
    await page.evaluate(`document.querySelector("#input").value = ""`);
    await page.keyboard.type("ca");
    await page.keyboard.press("Tab");
    assertEquals(await page.evaluate(`document.querySelector("#input").value`), "carol: ");
    await page.keyboard.type("hi, b");
    await page.keyboard.press("Tab");
    assertEquals(await page.evaluate(`document.querySelector("#input").value`), "carol: hi, bob ");
    await page.keyboard.press("Enter");
    await expectLine(carol, "ann: carol: hi, bob");
    assert((await seeLine(bob.page, "ann: carol: hi, bob")).includes("mention"));
    assertEquals([...ann.errors, ...bob.errors], []);
  },
);

browserTest(
  "client: roles in the member list; the member menu gives operator, then kicks",
  async (browser) => {
    await using server = await startChat();
    const ann = await joinPage(browser, server, "ann");
    const bob = await joinPage(browser, server, "bob");
    await type(ann.page, "/register ann-secret-1");
    await seeLine(
      ann.page,
      "ann is now your account. Accounts on this server last until it stops.",
    );
    await type(bob.page, "/register bob-secret-1");
    await seeLine(
      bob.page,
      "bob is now your account. Accounts on this server last until it stops.",
    );
    // ann makes a room while logged in: its founder.
    await type(ann.page, "/join ops");
    await untilText(ann.page, "#room", "ops");
    await type(bob.page, "/join ops");
    await untilText(bob.page, "#room", "ops");
    using carol = await LineClient.join(server, "carol");
    await carol.write("/join ops\n");
    await expectLine(carol, "-- You are now in ops. Also here (2): ann and bob.");
    await until(
      ann.page,
      `document.querySelector("#members").textContent.includes("carol")`,
      "carol in ann's list",
    );
    await until(
      ann.page,
      `!!document.querySelector('#members [data-name="ann"] .role-founder')`,
      "ann shown as the founder",
    );
    await until(
      bob.page,
      `!!document.querySelector('#members [data-name="ann"] .role-founder')`,
      "ann shown to bob as the founder",
    );
    assertEquals(
      await ann.page.evaluate(
        `document.querySelector('#members [data-name="ann"] .role').ariaLabel`,
      ),
      "founder",
    );

    // bob holds no role: his menu for carol has no moderation in it.
    const menu = (page: Page) =>
      page.evaluate(
        `[...document.querySelectorAll("#member-menu button")].map((b) => b.textContent)`,
      );
    await tap(bob.page, '#members [data-name="carol"]');
    assertEquals(await menu(bob.page), ["Private message", "Who is this?"]);
    await bob.page.keyboard.press("Escape");
    await until(bob.page, `document.querySelector("#member-menu").hidden`, "bob's menu shut");
    assertEquals(await bob.page.evaluate(`document.activeElement.dataset.name`), "carol");

    // ann (founder) opens bob's menu: everything; "Make operator" ops him.
    await tap(ann.page, '#members [data-name="bob"]');
    assertEquals(await menu(ann.page), [
      "Private message",
      "Who is this?",
      "Make operator",
      "Give voice",
      "Kick out of the room",
      "Ban from the room",
      "Mute in the room",
    ]);
    assertEquals(await ann.page.evaluate(`document.activeElement.textContent`), "Private message");
    await tap(ann.page, '#member-menu [data-action="Make operator"]');
    assertEquals(await seeLine(ann.page, "ann gave operator to bob."), "line notice moderation");
    await seeLine(bob.page, "ann gave operator to bob.");
    await expectLine(carol, "-- ann gave operator to bob");
    await until(
      bob.page,
      `!!document.querySelector('#members [data-name="bob"] .role-op')`,
      "bob shown as an operator",
    );
    // Now bob's menu for carol has the moderation he may do.
    await tap(bob.page, '#members [data-name="carol"]');
    assert((await menu(bob.page) as string[]).includes("Kick out of the room"));
    await bob.page.keyboard.press("Escape");

    // ann kicks carol from the menu: carol is told, everyone sees it as an event.
    await tap(ann.page, '#members [data-name="carol"]');
    await tap(ann.page, '#member-menu [data-action="Kick out of the room"]');
    await expectLine(carol, "-- ann kicked you out of ops");
    assertEquals(await seeLine(ann.page, "ann kicked carol."), "line notice moderation");
    await seeLine(bob.page, "ann kicked carol.");
    await until(
      ann.page,
      `!document.querySelector("#members").textContent.includes("carol")`,
      "carol gone from the list",
    );
    // bob, an operator now: ann's menu takes it back, or kicks him; the kicked page is told
    // and finds itself in the lobby.
    await tap(ann.page, '#members [data-name="bob"]');
    assert((await menu(ann.page) as string[]).includes("Take operator"));
    await tap(ann.page, '#member-menu [data-action="Kick out of the room"]');
    await seeLine(ann.page, "ann kicked bob.");
    await untilText(bob.page, "#room", "lobby");
    assertEquals(await seeLine(bob.page, "ann kicked you out of ops."), "line notice moderation");
    assertEquals([...ann.errors, ...bob.errors], []);
  },
);

// ---------------------------------------------------------------------------
// The stand-in: other branches' requests, and their absence
// ---------------------------------------------------------------------------

async function playIn(
  browser: Browser,
  stand: JsonStandIn,
  name: string,
  account?: string,
  init = "",
): Promise<{ chat: ChatPage; socket: PlayedSocket }> {
  const chat = await openPage(browser, stand.url, true, init);
  const socket = await stand.socket();
  socket.send({ type: "greeting", maxLine: 4096 });
  await giveName(chat.page, name);
  const hello = await socket.expect("hello");
  socket.send({
    type: "welcome",
    name,
    room: "lobby",
    others: ["bob"],
    count: 1,
    topic: "",
    ref: hello.ref,
    ...(account ? { account } : {}),
  });
  await untilText(chat.page, "#status", `Connected as ${name}`);
  return { chat, socket };
}

/** `count` lobby messages from bob, ids `prefix` + a zero-padded number (so they sort). */
const lines = (count: number, prefix: string, from = 0) =>
  Array.from({ length: count }, (_, i) => ({
    type: "message",
    id: prefix + String(from + i).padStart(6, "0"),
    room: "lobby",
    from: "bob",
    text: `line ${from + i}`,
  }));

browserTest(
  "client: scrolling up pages history by id until the start; deleted lines go",
  async (browser) => {
    await using stand = new JsonStandIn();
    const { chat, socket } = await playIn(browser, stand, "ann");
    const { page } = chat;
    socket.send(...lines(40, "m", 100));
    await seeLine(page, "bob: line 139");
    await page.evaluate(`document.querySelector("#log").scrollTop = 0`);
    const first = await socket.expect("history");
    assertEquals([first.room, first.before, first.limit], ["lobby", "m000100", 50]);
    socket.send({
      type: "history",
      room: "lobby",
      earlier: true,
      // Without "type": a message (the default the server may leave out).
      entries: lines(50, "m", 50).map(({ id, from, text }) => ({
        id,
        from,
        text,
        time: "2026-12-01T10:00:00.000Z",
      })),
      more: true,
      ref: first.ref,
    });
    await until(page, `document.querySelector("#log .line[data-id='m000050']") !== null`, "page 1");
    assertEquals(
      await page.evaluate(`document.querySelector("#log .line[data-id='m000050']").className`),
      "line message history",
    );
    // The reader stays where they were: the new lines are above.
    assert(await page.evaluate(`document.querySelector("#log").scrollTop > 0`));
    // The day of the older page has its own separator, before today's.
    assertEquals(
      await page.evaluate(`[...document.querySelectorAll("#log .day-sep")].length`),
      2,
    );
    await page.evaluate(`document.querySelector("#log").scrollTop = 0`);
    const second = await socket.expect("history");
    assertEquals(second.before, "m000050");
    socket.send({
      type: "history",
      room: "lobby",
      earlier: true,
      entries: [{
        id: "m000001",
        type: "message",
        from: "bob",
        text: "the first",
        time: "2026-11-30T10:00:00.000Z",
      }],
      more: false,
      ref: second.ref,
    });
    await seeLine(page, "This is the start of lobby.");
    assertEquals((await logLines(page)).slice(0, 2), [
      "This is the start of lobby.",
      "bob: the first",
    ]);

    // A deleted line leaves the pane.
    socket.send({ type: "deleted", id: "m000139", room: "lobby", by: "bob" });
    await until(page, `document.querySelector("#log .line[data-id='m000139']") === null`, "gone");
    assert((await logLines(page)).includes("bob: line 138"));
    assertEquals(chat.errors, []);
  },
);

browserTest(
  "client: a server without history paging, read markers or search (unknownType) degrades",
  async (browser) => {
    await using stand = new JsonStandIn();
    const { chat, socket } = await playIn(browser, stand, "ann", "ann");
    const { page } = chat;
    socket.send(...lines(60, "m", 100));
    await seeLine(page, "bob: line 159");
    const mark = await socket.expect("markRead");
    assertEquals([mark.room, mark.id], ["lobby", "m000159"]);
    socket.send({ type: "error", code: "unknownType", got: "markRead", ref: mark.ref });
    await page.evaluate(`document.querySelector("#log").scrollTop = 0`);
    const asked = await socket.expect("history");
    socket.send({ type: "error", code: "unknownType", got: "history", ref: asked.ref });
    // Then the text protocol's /history, for the room one is in.
    const text = await socket.expectLine("/history 50");
    socket.send({ type: "noEarlier", room: "lobby", ref: text.ref });
    await seeLine(page, "This is the start of lobby.");
    assertEquals(await page.evaluate(`document.querySelector("#input-error").textContent`), "");
    // Search: not offered by the server, said so next to the box.
    await page.type("#search-text", "line");
    await tap(page, "#search-submit");
    const search = await socket.expect("search");
    socket.send({ type: "error", code: "unknownType", got: "search", ref: search.ref });
    await untilText(page, "#search-status", "This server cannot search yet.");
    assertEquals(chat.errors, []);
  },
);

browserTest(
  "client: read markers put the new-messages line; search results open their pane; kept " +
    "conversations are listed",
  async (browser) => {
    await using stand = new JsonStandIn();
    const { chat, socket } = await playIn(browser, stand, "ann", "ann");
    const { page } = chat;
    socket.send({
      type: "conversations",
      list: [{
        with: "dan",
        last: {
          id: "p1",
          type: "private",
          from: "dan",
          to: "ann",
          text: "see you",
          time: "2026-12-05T10:00:00.000Z",
        },
      }],
    });
    await until(page, `!!document.querySelector(${JSON.stringify(conv("@dan"))})`, "dan's pane");
    socket.send({ type: "private", id: "p2", from: "dan", to: "ann", text: "again" });
    await until(
      page,
      `document.querySelector(${JSON.stringify(conv("@dan") + " .unread")})?.textContent === "1"`,
      "1 unread",
    );
    // Read on another device: the count goes.
    socket.send({ type: "readMarker", with: "dan", id: "p2" });
    await until(
      page,
      `!document.querySelector(${JSON.stringify(conv("@dan") + " .unread")})`,
      "read",
    );
    // The lobby: read up to m000101 elsewhere; the new-messages line after it.
    socket.send(...lines(5, "m", 100));
    await seeLine(page, "bob: line 104");
    await tap(page, conv("@dan"));
    await seeLine(page, "dan: again");
    socket.send({ type: "readMarker", room: "lobby", id: "m000101" });
    await tap(page, conv("#lobby"));
    assertEquals(
      await page.evaluate(`document.querySelector("#log .new-marker").nextElementSibling
        .querySelector(".body").textContent`),
      "bob: line 102",
    );
    // Search: results listed, one opens its pane.
    await page.type("#search-text", "again");
    await tap(page, "#search-submit");
    const search = await socket.expect("search");
    assertEquals(search.text, "again");
    socket.send({
      type: "searchResults",
      text: "again",
      results: [{
        id: "p2",
        with: "dan",
        type: "private",
        from: "dan",
        text: "again",
        time: "2026-12-05T10:01:00.000Z",
      }],
      more: false,
      ref: search.ref,
    });
    await untilText(page, "#search-status", "1 found for “again”.");
    await tap(page, "#search-results button");
    await untilText(page, "#room", "dan");
    assertEquals(chat.errors, []);
  },
);

/** Plays `events` into the page's socket as frames (synchronously, in the page). */
function playFrames(events: unknown[]): string {
  return `(() => {
    const ws = window.sockets.at(-1);
    const t0 = performance.now();
    for (const event of ${JSON.stringify(events)}) {
      ws.dispatchEvent(new MessageEvent("message", { data: JSON.stringify(event) }));
    }
    document.querySelector("#log").scrollHeight; // layout included
    return new Promise((resolve) => queueMicrotask(() => {
      document.querySelector("#log").scrollTop;
      resolve(performance.now() - t0);
    }));
  })()`;
}

browserTest(
  "client: 10,000 lines: switching to the pane and adding 1,000 lines each < 100 ms",
  async (browser) => {
    await using stand = new JsonStandIn();
    const { chat, socket } = await playIn(browser, stand, "ann");
    const { page } = chat;
    socket.send({ type: "private", from: "dan", to: "ann", text: "hi" });
    await until(page, `!!document.querySelector(${JSON.stringify(conv("@dan"))})`, "dan's pane");
    await tap(page, conv("@dan"));
    await untilText(page, "#room", "dan");
    // 10,000 lines into the lobby while ann reads dan's pane.
    const fill = await page.evaluate(playFrames(lines(10_000, "b", 0))) as number;
    const switchMs: number[] = [];
    const appendMs: number[] = [];
    for (let round = 0; round < 3; round++) {
      switchMs.push(
        await page.evaluate(`(() => {
      const t0 = performance.now();
      document.querySelector(${JSON.stringify(conv("#lobby"))}).click();
      document.querySelector("#log").scrollHeight;
      return new Promise((resolve) => requestAnimationFrame(() => resolve(performance.now() - t0)));
    })()`) as number,
      );
      await seeLine(page, `bob: line ${9_999 + round * 1000}`);
      appendMs.push(
        await page.evaluate(playFrames(lines(1000, "b", 10_000 + round * 1000))) as number,
      );
      await seeLine(page, `bob: line ${10_999 + round * 1000}`);
      await tap(page, conv("@dan"));
      await untilText(page, "#room", "dan");
    }
    const nodes = await page.evaluate(`document.querySelectorAll("#log li").length`) as number;
    await tap(page, conv("#lobby"));
    const lobbyNodes = await page.evaluate(`document.querySelectorAll("#log li").length`) as number;
    const best = (list: number[]) => Math.min(...list);
    console.log(
      `10k lines: filled in ${fill.toFixed(0)} ms; switch to the 10k pane ` +
        `${switchMs.map((ms) => ms.toFixed(1)).join(", ")} ms; 1,000 lines added ` +
        `${appendMs.map((ms) => ms.toFixed(1)).join(", ")} ms; ${lobbyNodes} nodes in the log`,
    );
    assert(nodes < 20 && lobbyNodes <= 160, `few nodes: ${nodes}, ${lobbyNodes}`);
    assert(best(switchMs) < 100, `switching took ${switchMs}`);
    assert(best(appendMs) < 100, `adding took ${appendMs}`);
    // The pane is at its end, and scrolling up brings earlier lines from memory.
    await page.evaluate(`document.querySelector("#log").scrollTop = 0`);
    await until(page, `document.querySelectorAll("#log li").length > 200`, "earlier lines");
    assertEquals(chat.errors, []);
  },
);

/** A Notification that records what the page shows and asks, granted once asked. */
const FAKE_NOTIFICATION = `window.notes = []; window.asked = 0; window.granted = false;
  window.Notification = class {
    constructor(title, options) { window.notes.push([title, options.body, options.tag]); }
    close() {}
    addEventListener() {}
    static get permission() { return window.granted ? "granted" : "default"; }
    static requestPermission() {
      window.asked++;
      window.granted = true;
      return Promise.resolve("granted");
    }
  };`;

browserTest(
  "client: notifications are asked from the button only; mentions and private lines notify " +
    "while hidden",
  async (browser) => {
    await using stand = new JsonStandIn();
    const { chat, socket } = await playIn(browser, stand, "ann", undefined, FAKE_NOTIFICATION);
    const { page } = chat;
    await untilText(page, "#notify", "Notify me");
    assertEquals(await page.evaluate(`window.asked`), 0, "not asked on load");
    await tap(page, "#notify");
    await untilText(page, "#notify", "Notifications on");
    assertEquals(
      await page.evaluate(`[window.asked, document.querySelector("#notify").ariaPressed]`),
      [
        1,
        "true",
      ],
    );
    const hide = (hidden: boolean) =>
      page.evaluate(
        `Object.defineProperty(document, "hidden", { configurable: true, get: () => ${hidden} });
      document.dispatchEvent(new Event("visibilitychange"));`,
      );
    await hide(true);
    socket.send(
      { type: "message", id: "1", room: "lobby", from: "bob", text: "lunch?" },
      { type: "message", id: "2", room: "lobby", from: "bob", text: "Ann, lunch?" },
      { type: "private", from: "dan", to: "ann", text: "psst" },
    );
    await until(page, `window.notes.length === 2`, "two notifications");
    assertEquals(await page.evaluate(`window.notes`), [
      ["bob in lobby", "Ann, lunch?", "#lobby"],
      ["dan (private)", "psst", "@dan"],
    ]);
    await hide(false);
    socket.send({ type: "message", id: "3", room: "lobby", from: "bob", text: "ann?" });
    await seeLine(page, "bob: ann?");
    assertEquals(await page.evaluate(`window.notes.length`), 2, "none while shown");
    // Off again from the same button.
    await tap(page, "#notify");
    await untilText(page, "#notify", "Notifications off");
    assertEquals(chat.errors, []);
  },
);

browserTest("client: a pane too short to scroll pages back from the keyboard", async (browser) => {
  await using stand = new JsonStandIn();
  const { chat, socket } = await playIn(browser, stand, "ann");
  const { page } = chat;
  socket.send(...lines(2, "m", 100));
  await seeLine(page, "bob: line 101");
  await page.focus("#log");
  await page.keyboard.press("Home");
  const asked = await socket.expect("history");
  assertEquals([asked.room, asked.before], ["lobby", "m000100"]);
  socket.send({
    type: "history",
    room: "lobby",
    earlier: true,
    entries: [{
      id: "m000099",
      type: "action",
      from: "bob",
      text: "was first",
      time: new Date().toISOString(),
    }],
    more: false,
    ref: asked.ref,
  });
  await seeLine(page, "* bob was first");
  assertEquals((await logLines(page)).slice(0, 3), [
    "This is the start of lobby.",
    "* bob was first",
    "You are in lobby. Also here: bob.",
  ]);
  assertEquals(chat.errors, []);
});
