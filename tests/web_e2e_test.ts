/**
 * The page (src/web/page/) end to end against the real server, in Chromium through
 * `npm:puppeteer-core`: two browsers (separate browser contexts, so separate login
 * cookies) logged in to two accounts, and an `nc` user, in the same rooms. What
 * `tests/web_client_test.ts` played with a stand-in is checked here with the server's own
 * replies: unread and mention counts, private conversations kept and listed after a reload
 * and paged back, offline delivery, read markers across two browsers of one account,
 * paging a 600-line room back to its start under the history byte rating, search, deletion
 * and the member menu acting on the `nc` user. Skipped where no `chromium` is on the PATH.
 *
 * @module
 */

import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
// deno-lint-ignore no-import-prefix
import type { BrowserContext, Page } from "npm:puppeteer-core@25.16.0";
import type { ServerOptions } from "../server.ts";
import { browserTest, startChat as startWebChat, type WebServer } from "./browser_util.ts";
import { LineClient } from "./test_util.ts";

/** Cheap password hashes: accounts cost milliseconds, not a second each. */
const CHEAP = { n: 1 << 10, r: 8, p: 1, scramIterations: 16 };

function startChat(options: ServerOptions = {}): Promise<WebServer> {
  return startWebChat({ hashCost: CHEAP, ...options });
}

interface ChatPage {
  page: Page;
  errors: string[];
}

/** A page of the chat in `where` (a browser context: its own cookies). */
async function openPage(where: BrowserContext, server: WebServer): Promise<ChatPage> {
  const page = await where.newPage();
  // The error codes the server sent the page, to see what the page met.
  await page.evaluateOnNewDocument(`window.errorCodes = [];
    const Native = WebSocket;
    window.WebSocket = class extends Native {
      constructor(...args) {
        super(...args);
        this.addEventListener("message", (message) => {
          const event = JSON.parse(message.data);
          if (event.type === "error") window.errorCodes.push(event.code);
        });
      }
    };`);
  const errors: string[] = [];
  page.on("pageerror", (error) => errors.push(String(error)));
  page.on("console", (message) => {
    if (message.type() !== "error") return;
    // What a reload's closed socket may say.
    if (/^WebSocket connection to .* failed/.test(message.text())) return;
    errors.push(`console: ${message.text()}`);
  });
  await page.setViewport({ width: 1100, height: 600 });
  await page.goto(`http://127.0.0.1:${server.webAddr.port}/`);
  return { page, errors };
}

const WAIT = 10_000;

async function until(page: Page, expression: string, what: string, timeout = WAIT) {
  try {
    await page.waitForFunction(expression, { timeout, polling: 20 });
  } catch (error) {
    const lines = await logLines(page).catch(() => []);
    const input = await page.evaluate(`document.querySelector("#input-error").textContent`)
      .catch(() => "");
    throw new Error(
      `${what}: ${(error as Error).message}; the page shows ${
        JSON.stringify(lines.slice(-12))
      }, input error ${JSON.stringify(input)}`,
    );
  }
}

async function logLines(page: Page): Promise<string[]> {
  return await page.evaluate(
    `[...document.querySelectorAll("#log .line .body")].map((e) => e.textContent)`,
  ) as string[];
}

const findLine = (text: string) =>
  `[...document.querySelectorAll("#log .line")].find((e) => ` +
  `e.querySelector(".body").textContent === ${JSON.stringify(text)})`;

/** Waits for a line reading `text` in the pane shown; returns its classes. */
async function seeLine(page: Page, text: string): Promise<string> {
  await until(page, `!!${findLine(text)}`, `the line ${JSON.stringify(text)}`);
  return await page.evaluate(`${findLine(text)}.className`) as string;
}

async function untilText(page: Page, selector: string, text: string): Promise<void> {
  await until(
    page,
    `document.querySelector(${JSON.stringify(selector)})?.textContent === ${JSON.stringify(text)}`,
    `${selector} to read ${JSON.stringify(text)}`,
  );
}

async function nameField(page: Page, text: string): Promise<void> {
  await until(page, `!document.querySelector("#name-input").disabled`, "the name field");
  await page.focus("#name-input");
  await page.keyboard.type(text);
  await page.keyboard.press("Enter");
}

/** A guest named `name` in a new page of `where`. */
async function joinPage(where: BrowserContext, server: WebServer, name: string) {
  const chat = await openPage(where, server);
  await nameField(chat.page, name);
  await untilText(chat.page, "#status", `Connected as ${name}`);
  return chat;
}

/** A page of `where` that took `name` and registered it as an account (see `register`). */
async function registeredPage(where: BrowserContext, server: WebServer, name: string) {
  const chat = await joinPage(where, server, name);
  await register(chat.page, name);
  return chat;
}

/** A page of `where` logged in to the account `name` by its password, at the name prompt. */
async function loginPage(where: BrowserContext, server: WebServer, name: string) {
  const chat = await openPage(where, server);
  await nameField(chat.page, name);
  await untilText(chat.page, "#name-label", `${name} is registered. Its password:`);
  await nameField(chat.page, `${name}-secret-1`);
  await untilText(chat.page, "#status", `Connected as ${name}`);
  await untilText(chat.page, "#account-status", `Logged in as ${name}.`);
  return chat;
}

/** Registers the name the page holds; settles once the browser has its login cookie. */
async function register(page: Page, name: string): Promise<void> {
  const cookie = page.waitForResponse(
    (response) => response.url().endsWith("/session") && response.request().method() === "POST",
    { timeout: WAIT },
  );
  await type(page, `/register ${name}-secret-1`);
  await seeLine(page, `${name} is now your account. Accounts on this server last until it stops.`);
  assert((await cookie).ok(), "the login cookie is set");
}

async function type(page: Page, line: string): Promise<void> {
  await page.focus("#input");
  await page.keyboard.type(line);
  await page.keyboard.press("Enter");
  await until(page, `document.querySelector("#input").value === ""`, `${line} to be sent`);
}

/** Sends `lines` from the input at once (as fast as one can press Enter). */
async function sendAll(page: Page, lines: string[]): Promise<void> {
  await page.evaluate(`(() => {
    const input = document.querySelector("#input");
    for (const line of ${JSON.stringify(lines)}) {
      input.value = line;
      document.querySelector("#form").requestSubmit();
    }
  })()`);
}

/** Clicks in `page`, brought to the front first (a page behind another draws no frames). */
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

async function untilCounts(page: Page, key: string, want: [string, string]): Promise<void> {
  await until(
    page,
    `(() => {
      const item = document.querySelector(${JSON.stringify(conv(key))});
      return !!item && (item.querySelector(".unread")?.textContent ?? "") === ${
      JSON.stringify(want[0])
    } && (item.querySelector(".mentions")?.textContent ?? "") === ${JSON.stringify(want[1])};
    })()`,
    `${key} to count ${JSON.stringify(want)}`,
  );
}

/** Scrolls the pane shown to its top, until `done` holds (each page comes on a scroll). */
async function scrollBackUntil(page: Page, done: string, what: string, timeout = WAIT) {
  await until(
    page,
    `(() => {
      if (${done}) return true;
      const log = document.querySelector("#log");
      if (log.scrollTop !== 0) log.scrollTop = 0;
      return false;
    })()`,
    what,
    timeout,
  );
}

// ---------------------------------------------------------------------------

browserTest(
  "e2e: counts and mentions; a private conversation on both sides, listed after a reload " +
    "and paged back to its start",
  async (browser) => {
    await using server = await startChat();
    const annBrowser = await browser.createBrowserContext();
    const bobBrowser = await browser.createBrowserContext();
    const ann = await registeredPage(annBrowser, server, "ann");
    const bob = await registeredPage(bobBrowser, server, "bob");
    using carol = await LineClient.join(server, "carol");
    await until(
      ann.page,
      `document.querySelector("#members").textContent.includes("carol")`,
      "carol listed",
    );

    // ann writes to bob: her own pane for it opens; bob's pane for ann counts it.
    await type(ann.page, "/msg bob hi bob");
    await untilText(ann.page, "#room", "bob");
    await seeLine(ann.page, "ann: hi bob");
    await untilCounts(bob.page, "@ann", ["1", "1"]);

    // While ann reads bob's pane, carol speaks in the lobby: counted, one naming ann.
    await carol.write("lunch?\nann: lunch?\n");
    await untilCounts(ann.page, "#lobby", ["2", "1"]);
    await tap(ann.page, conv("#lobby"));
    assert((await seeLine(ann.page, "carol: ann: lunch?")).includes("mention"));
    assert(!(await seeLine(ann.page, "carol: lunch?")).includes("mention"));
    assertEquals(await counts(ann.page, "#lobby"), ["", ""]);
    // bob sees the same line, not as a mention of him.
    assert(!(await seeLine(bob.page, "carol: ann: lunch?")).includes("mention"));

    // bob answers in his pane for ann: 60 lines.
    await tap(bob.page, conv("@ann"));
    await seeLine(bob.page, "ann: hi bob");
    assertEquals(await counts(bob.page, "@ann"), ["", ""]);
    const said = Array.from({ length: 60 }, (_, i) => `answer ${i}`);
    await sendAll(bob.page, said);
    await seeLine(bob.page, "bob: answer 59");
    await untilCounts(ann.page, "@bob", ["60", "60"]);

    // ann reloads: her login cookie logs her in, bob's conversation is listed with its last
    // line, and scrolling up pages it back to its start.
    await ann.page.reload();
    await untilText(ann.page, "#status", "Connected as ann");
    await until(ann.page, `!!document.querySelector(${JSON.stringify(conv("@bob"))})`, "listed");
    await tap(ann.page, conv("@bob"));
    await seeLine(ann.page, "bob: answer 59");
    await ann.page.focus("#log");
    await ann.page.keyboard.press("Home");
    await scrollBackUntil(
      ann.page,
      `!!${findLine("This is the start of bob.")}`,
      "the start of the conversation",
    );
    const lines = await logLines(ann.page);
    assertEquals(lines.slice(0, 3), ["This is the start of bob.", "ann: hi bob", "bob: answer 0"]);
    assertEquals(lines.filter((line) => line.startsWith("bob: answer")).length, 60);
    // bob's page, reloaded too, lists ann's.
    await bob.page.reload();
    await untilText(bob.page, "#status", "Connected as bob");
    await until(bob.page, `!!document.querySelector(${JSON.stringify(conv("@ann"))})`, "listed");
    assertEquals([...ann.errors, ...bob.errors], []);
  },
);

browserTest(
  "e2e: a message held for a logged-out account is in its pane at login; reading it in one " +
    "browser clears the count in the other",
  async (browser) => {
    await using server = await startChat();
    const annBrowser = await browser.createBrowserContext();
    const bob1 = await browser.createBrowserContext();
    const bob2 = await browser.createBrowserContext();
    const ann = await registeredPage(annBrowser, server, "ann");
    {
      const bob = await registeredPage(bob1, server, "bob");
      await tap(bob.page, "#logout");
      await untilText(
        bob.page,
        "#account-status",
        "Not logged in: anyone may take this name once you leave.",
      );
      await bob.page.close();
    }
    using carol = await LineClient.join(server, "carol");
    await until(
      ann.page,
      `!document.querySelector("#members").textContent.includes("bob")`,
      "bob gone",
    );

    // Typed in the lobby: the conversation's pane shows the line, and that it waits.
    await type(ann.page, "/msg bob while you were out");
    await untilText(ann.page, "#room", "bob");
    assertEquals((await logLines(ann.page)).slice(-2), [
      "ann: while you were out",
      "bob is away; they will get it when they next log in.",
    ]);

    // Typed in the conversation's pane, the same.
    await type(ann.page, "and another");
    await until(
      ann.page,
      `[...document.querySelectorAll("#log .line .body")].map((e) => e.textContent)
        .filter((text) => text.startsWith("bob is away")).length === 2`,
      "the second held line",
    );
    assertEquals((await logLines(ann.page)).slice(-2), [
      "ann: and another",
      "bob is away; they will get it when they next log in.",
    ]);

    // bob logs in in a browser: both lines are in ann's pane, in order, counted (the login's
    // conversation list, which comes first, shows the newest already).
    const bob = await loginPage(bob1, server, "bob");
    await untilCounts(bob.page, "@ann", ["2", "2"]);
    await tap(bob.page, conv("@ann"));
    await seeLine(bob.page, "ann: and another");
    assertEquals((await logLines(bob.page)).slice(-2), [
      "ann: while you were out",
      "ann: and another",
    ]);

    // bob in a second browser too; both show the lobby.
    const bobToo = await loginPage(bob2, server, "bob");
    await until(bobToo.page, `!!document.querySelector(${JSON.stringify(conv("@ann"))})`, "ann");
    await tap(bob.page, conv("#lobby"));
    await type(ann.page, "/msg bob are you there?");
    await untilCounts(bob.page, "@ann", ["1", "1"]);
    await untilCounts(bobToo.page, "@ann", ["1", "1"]);
    // Read in the first: the second's count goes (readMarker).
    await tap(bob.page, conv("@ann"));
    await seeLine(bob.page, "ann: are you there?");
    await untilCounts(bobToo.page, "@ann", ["", ""]);
    // What bob writes from the first browser is in the second's pane too, as his own, uncounted.
    await type(bob.page, "here now");
    await seeLine(ann.page, "bob: here now");
    // ann pages her pane back to its start: what she sent while bob was away is there once.
    await ann.page.focus("#log");
    await ann.page.keyboard.press("Home");
    await scrollBackUntil(
      ann.page,
      `!!${findLine("This is the start of bob.")}`,
      "the start of ann's conversation with bob",
    );
    assertEquals(
      (await logLines(ann.page)).filter((line) => line.startsWith("ann: ")),
      ["ann: while you were out", "ann: and another", "ann: are you there?"],
    );
    await tap(bobToo.page, conv("@ann"));
    assert((await seeLine(bobToo.page, "bob: here now")).includes("own"));
    // And the lobby: carol's line read in the second clears it in the first.
    await tap(bobToo.page, conv("#lobby"));
    await carol.write("hello all\n");
    await untilCounts(bob.page, "#lobby", ["1", ""]);
    await seeLine(bobToo.page, "carol: hello all");
    await untilCounts(bob.page, "#lobby", ["", ""]);
    assertEquals([...ann.errors, ...bob.errors, ...bobToo.errors], []);
  },
);

browserTest(
  "e2e: scrolling up pages a 600-line room back to its start, waiting out the history rating",
  async (browser) => {
    await using server = await startChat();
    // 600 lines of about 400 bytes: more than the 256 KiB the rating gives at once.
    {
      using dan = await LineClient.join(server, "dan");
      const pad = "x".repeat(380);
      await dan.write(
        Array.from({ length: 600 }, (_, i) => `kept ${String(i).padStart(3, "0")} ${pad}\n`)
          .join(""),
      );
      // Lines are taken in order: the answer to a command after them means all are kept.
      await dan.write("/who\n");
      await dan.until((line) => line.startsWith("-- ") && line.includes("dan"));
    }
    const ctx = await browser.createBrowserContext();
    const ann = await joinPage(ctx, server, "ann");
    const { page } = ann;
    const pad = "x".repeat(380);
    await seeLine(page, `dan: kept 599 ${pad}`);
    const started = performance.now();
    await scrollBackUntil(
      page,
      `!!${findLine("This is the start of lobby.")}`,
      "the start of the lobby",
      30_000,
    );
    const ms = performance.now() - started;
    // Every kept line once, in order, from the first.
    const ids = await page.evaluate(`(() => {
      const pane = [...document.querySelectorAll("#log .line .body")].map((e) => e.textContent);
      return pane;
    })()`) as string[];
    assertEquals(ids[0], "This is the start of lobby.");
    assertEquals(ids[1], `dan: kept 000 ${pad}`);
    assertEquals(await page.evaluate(`document.querySelector("#input-error").textContent`), "");
    // The rating was met (the page waited it out, saying nothing).
    const codes = await page.evaluate(`window.errorCodes`) as string[];
    assert(codes.length > 0 && codes.every((code) => code === "historyTooFast"), `${codes}`);
    console.log(
      `600 lines of 400 bytes paged back in ${ms.toFixed(0)} ms, ${codes.length} historyTooFast`,
    );
    assertEquals(ann.errors, []);
  },
);

browserTest(
  "e2e: the search box finds the nc user's line; their /delete takes it from the other " +
    "browser; the member menu ops then kicks the nc user",
  async (browser) => {
    await using server = await startChat();
    const annBrowser = await browser.createBrowserContext();
    const bobBrowser = await browser.createBrowserContext();
    const ann = await registeredPage(annBrowser, server, "ann");
    const bob = await joinPage(bobBrowser, server, "bob");
    using carol = await LineClient.join(server, "carol");
    await until(
      ann.page,
      `document.querySelector("#members").textContent.includes("carol")`,
      "carol listed",
    );
    await carol.write("the deploy is at noon\n");
    await seeLine(bob.page, "carol: the deploy is at noon");
    await seeLine(ann.page, "carol: the deploy is at noon");

    await ann.page.type("#search-text", "deploy");
    await tap(ann.page, "#search-submit");
    await untilText(ann.page, "#search-status", "1 found for “deploy”.");
    assert(
      (await ann.page.evaluate(`document.querySelector("#search-results").textContent`) as string)
        .includes("carol: the deploy is at noon"),
    );

    // A result opens its conversation.
    await tap(bob.page, conv("#lobby"));
    await tap(ann.page, "#search-results button");
    await untilText(ann.page, "#room", "lobby");

    await carol.write("/delete\n");
    await until(
      bob.page,
      `!${findLine("carol: the deploy is at noon")}`,
      "the line gone from bob's page",
    );
    await until(
      ann.page,
      `!${findLine("carol: the deploy is at noon")}`,
      "the line gone from ann's page",
    );
    await until(
      ann.page,
      `document.querySelectorAll("#search-results button").length === 0`,
      "the line gone from ann's search results",
    );

    // bob, a guest, has carol's private line; his pane for it has nothing kept to page back
    // to: asked once (notLoggedIn), then not again, and nothing said.
    await carol.write("/msg bob psst\n");
    await untilCounts(bob.page, "@carol", ["1", "1"]);
    await tap(bob.page, conv("@carol"));
    await seeLine(bob.page, "carol: psst");
    await bob.page.focus("#log");
    await bob.page.keyboard.press("Home");
    await until(bob.page, `window.errorCodes.includes("notLoggedIn")`, "refused");
    await bob.page.keyboard.press("Home");
    await type(bob.page, "//after");
    await carol.until((line) => line === "bob (private): /after");
    await seeLine(bob.page, "bob: /after"); // any refusal of the second Home came before
    assertEquals(await bob.page.evaluate(`window.errorCodes`), ["notLoggedIn"]);
    assertEquals(await bob.page.evaluate(`document.querySelector("#input-error").textContent`), "");

    // ann makes a room (its founder), carol comes in; ann's menu ops carol, then kicks her.
    await type(ann.page, "/join ops");
    await untilText(ann.page, "#room", "ops");
    await carol.write("/join ops\n");
    await carol.until((line) => line.startsWith("-- You are now in ops."));
    await until(
      ann.page,
      `document.querySelector("#members").textContent.includes("carol")`,
      "carol in ops",
    );
    await until(
      ann.page,
      `!!document.querySelector('#members [data-name="ann"] .role-founder')`,
      "ann the founder",
    );
    await tap(ann.page, '#members [data-name="carol"]');
    await tap(ann.page, '#member-menu [data-action="Make operator"]');
    await carol.until((line) => line === "-- ann gave operator to carol");
    await until(
      ann.page,
      `!!document.querySelector('#members [data-name="carol"] .role-op')`,
      "carol shown as an operator",
    );
    await tap(ann.page, '#members [data-name="carol"]');
    await tap(ann.page, '#member-menu [data-action="Kick out of the room"]');
    await carol.until((line) => line === "-- ann kicked you out of ops");
    await seeLine(ann.page, "ann kicked carol.");
    assertEquals([...ann.errors, ...bob.errors], []);
  },
);
