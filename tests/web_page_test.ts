/**
 * The web page (`src/web/page.ts`) in a real browser: Debian's `chromium`, driven
 * through `npm:puppeteer-core` (which downloads no browser of its own), against
 * a server started in this process with its web port on. The tests skip, saying
 * why, where no `chromium` is on the PATH (`apt-get install -y chromium`; CI's
 * `.ci/run` installs it).
 *
 * They also write the README's screenshots, `docs/page-desktop.png` and
 * `docs/page-phone.png`.
 *
 * @module
 */

import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
// A test-only package, named here rather than in deno.json: every package deno.json names is
// installed as soon as the project runs, and a lone server must download nothing.
// deno-lint-ignore no-import-prefix
import puppeteer, { type Browser, type Page } from "npm:puppeteer-core@25.16.0";
import { PAGE_CSS, PAGE_HTML, PAGE_JS } from "../src/web/page.ts";
import { checkName, NAME_COLORS, nameColor, say } from "../src/core/protocol.ts";
import { type ChatServer, type ServerOptions, startServer } from "../server.ts";
import { LineClient, sanitized, test } from "./test_util.ts";

// ---------------------------------------------------------------------------
// The browser
// ---------------------------------------------------------------------------

/** The first `chromium` (or `chromium-browser`) on the PATH, or `undefined`. */
function findChromium(): string | undefined {
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    for (const name of ["chromium", "chromium-browser"]) {
      try {
        const path = `${dir || "."}/${name}`;
        if (Deno.statSync(path).isFile) return path;
      } catch {
        // not here
      }
    }
  }
  return undefined;
}

const CHROMIUM = findChromium();
if (!CHROMIUM) {
  console.warn(
    "web_page_test.ts: no chromium on the PATH, so the browser tests are skipped " +
      "(install it with: apt-get install -y chromium)",
  );
}

const BROWSER_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--no-first-run",
  "--disable-sync",
];

function launch(): Promise<Browser> {
  return puppeteer.launch({
    executablePath: CHROMIUM,
    args: BROWSER_ARGS,
    // Puppeteer's own signal handlers would outlive the test.
    handleSIGINT: false,
    handleSIGTERM: false,
    handleSIGHUP: false,
  });
}

/** A test with a browser of its own, closed at its end; skipped where there is none. */
function browserTest(name: string, fn: (browser: Browser) => Promise<void>): void {
  Deno.test({
    name,
    ignore: !CHROMIUM,
    ...sanitized,
    async fn() {
      const browser = await launch();
      try {
        await fn(browser);
      } finally {
        await browser.close();
      }
    },
  });
}

// ---------------------------------------------------------------------------
// The server
// ---------------------------------------------------------------------------

type WebServer = ChatServer & { readonly webAddr: Deno.NetAddr };

/** A server with its web page on a free port, everything that would slow a test off. */
async function startChat(options: ServerOptions = {}): Promise<WebServer> {
  const server = await startServer({
    port: 0,
    web: 0,
    log: () => {},
    maxPerAddress: 0,
    connectRate: 0,
    rate: 0,
    noticeInterval: 0,
    joinGrace: 0,
    ...options,
  });
  assert(server.webAddr, "the server has a web address");
  return server as WebServer;
}

// ---------------------------------------------------------------------------
// Pages
// ---------------------------------------------------------------------------

const WAIT = 10_000;

/** A page of the chat, with what it did that it should not have: dialogs, script errors. */
interface ChatPage {
  page: Page;
  dialogs: string[];
  errors: string[];
}

async function openPage(
  browser: Browser,
  server: WebServer,
  options: {
    width?: number;
    height?: number;
    dark?: boolean;
    scale?: number;
    keepSockets?: boolean;
  } = {},
): Promise<ChatPage> {
  const page = await browser.newPage();
  if (options.keepSockets) await keepSockets(page);
  const dialogs: string[] = [];
  const errors: string[] = [];
  page.on("dialog", (dialog) => {
    dialogs.push(dialog.message());
    dialog.dismiss().catch(() => {});
  });
  page.on("pageerror", (error) => errors.push(String(error)));
  // Console errors too (a CSP violation is one).
  page.on("console", (message) => {
    if (message.type() !== "error") return;
    // What a reconnect attempt meets while the server is away.
    if (/^WebSocket connection to .* failed/.test(message.text())) return;
    errors.push(`console: ${message.text()} (${message.location().url})`);
  });
  await page.setViewport({
    width: options.width ?? 1000,
    height: options.height ?? 700,
    deviceScaleFactor: options.scale ?? 1,
  });
  await page.emulateMediaFeatures([
    { name: "prefers-color-scheme", value: options.dark ? "dark" : "light" },
  ]);
  await page.goto(`http://127.0.0.1:${server.webAddr.port}/`);
  return { page, dialogs, errors };
}

/** Waits for a JavaScript expression to hold in the page, saying what it shows if it never does. */
async function until(page: Page, expression: string, what: string): Promise<void> {
  try {
    await page.waitForFunction(expression, { timeout: WAIT, polling: 20 });
  } catch (error) {
    const lines = await logLines(page).catch(() => []);
    throw new Error(
      `${what}: ${(error as Error).message}; the page shows ${JSON.stringify(lines.slice(-15))}`,
    );
  }
}

/** The text of each line in the page's log, without its time. */
async function logLines(page: Page): Promise<string[]> {
  return await page.evaluate(
    `[...document.querySelectorAll("#log .line .body")].map((e) => e.textContent)`,
  ) as string[];
}

/** Waits for a line whose text is `text` in the log, and returns its classes. */
async function seeLine(page: Page, text: string): Promise<string> {
  const find = `[...document.querySelectorAll("#log .line")].find((e) => ` +
    `e.querySelector(".body").textContent === ${JSON.stringify(text)})`;
  await until(page, `!!${find}`, `the line ${JSON.stringify(text)}`);
  return await page.evaluate(`${find}.className`) as string;
}

/** The text of the element `selector` names. */
async function textOf(page: Page, selector: string): Promise<string> {
  return await page.evaluate(
    `document.querySelector(${JSON.stringify(selector)}).textContent`,
  ) as string;
}

/** Waits for the element `selector` names to have exactly `text`. */
async function untilText(page: Page, selector: string, text: string): Promise<void> {
  await until(
    page,
    `document.querySelector(${JSON.stringify(selector)})?.textContent === ${JSON.stringify(text)}`,
    `${selector} to read ${JSON.stringify(text)}`,
  );
}

/** Types a name at the page's question and presses Enter. */
async function giveName({ page }: ChatPage, name: string): Promise<void> {
  await until(page, `!document.querySelector("#name-input").disabled`, "the name field");
  await page.click("#name-input", { count: 3 });
  await page.keyboard.press("Backspace");
  await page.keyboard.type(name);
  await page.keyboard.press("Enter");
}

/** Opens a page and joins as `name`. */
async function joinPage(
  browser: Browser,
  server: WebServer,
  name: string,
  options?: Parameters<typeof openPage>[2],
): Promise<ChatPage> {
  const chat = await openPage(browser, server, options);
  await giveName(chat, name);
  await until(
    chat.page,
    `document.querySelector("#name-view").hidden && ` +
      `document.querySelector("#status").textContent === ${JSON.stringify(`Connected as ${name}`)}`,
    `${name} to be in`,
  );
  return chat;
}

/** Types a line into the page's input and presses Enter; waits for it to go unless `kept`. */
async function type({ page }: ChatPage, line: string, kept = false): Promise<void> {
  await page.focus("#input");
  await page.keyboard.type(line);
  await page.keyboard.press("Enter");
  if (kept) return;
  await until(page, `document.querySelector("#input").value === ""`, `${line} to be sent`);
}

/** The colour class `client.ts`'s function gives `name`. */
const colorOf = (name: string) => `c${nameColor(name)}`;

async function nameClass(page: Page, text: string): Promise<string> {
  return await page.evaluate(
    `[...document.querySelectorAll("#log .line")].find((e) => ` +
      `e.querySelector(".body").textContent === ${
        JSON.stringify(text)
      }).querySelector(".name").className`,
  ) as string;
}

/** Reads TCP lines until `line` comes, skipping others (joins, leaves, who answers). */
async function expectLine(client: LineClient, line: string): Promise<void> {
  await client.until((got) => got === line);
}

function noHorizontalScroll(page: Page): Promise<unknown> {
  return page.evaluate(`(() => {
    const doc = document.documentElement;
    const log = document.querySelector("#log");
    return doc.scrollWidth <= doc.clientWidth && document.body.scrollWidth <= doc.clientWidth &&
      log.scrollWidth <= log.clientWidth;
  })()`);
}

const DOCS = new URL("../docs/", import.meta.url);

// ---------------------------------------------------------------------------
// The tests
// ---------------------------------------------------------------------------

test("web page: no inline script or style, no HTML from strings, the script parses", () => {
  assert(!/<script(?![^>]*\ssrc=)/i.test(PAGE_HTML), "no inline script");
  assert(!/<style|\sstyle=|\son[a-z]+=/i.test(PAGE_HTML), "no inline style or handler");
  assert(!/innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(/.test(PAGE_JS));
  assert(PAGE_JS.includes(nameColor.toString()), "client.ts's colour function, as it is");
  new Function(PAGE_JS); // parses; runs nothing
  for (const code of NAME_COLORS) {
    assert(PAGE_CSS.includes(`.c${code} {`), `a CSS colour for ${code}`);
  }
});

browserTest(
  "web page: two pages and a TCP client chat both ways, Chinese and emoji intact",
  async (browser) => {
    await using server = await startChat();
    const ann = await joinPage(browser, server, "ann");
    const bob = await joinPage(browser, server, "bob");
    using carol = await LineClient.join(server, "carol");
    await until(
      ann.page,
      `document.querySelector("#members").textContent.includes("carol")`,
      "carol in ann's list of people",
    );

    // From nc to both pages, the name in client.ts's colour.
    await carol.write("你好 👋 from carol\n");
    for (const { page } of [ann, bob]) {
      assert((await seeLine(page, "carol: 你好 👋 from carol")).includes("message"));
      assertEquals(await nameClass(page, "carol: 你好 👋 from carol"), `name ${colorOf("carol")}`);
    }

    // From a page to the other page and to nc; shown once to its sender, after sending.
    await type(ann, "早上好 🌅 from ann");
    await expectLine(carol, "ann: 早上好 🌅 from ann");
    assertEquals(await nameClass(bob.page, "ann: 早上好 🌅 from ann"), `name ${colorOf("ann")}`);
    assert((await seeLine(ann.page, "ann: 早上好 🌅 from ann")).includes("own"));
    assertEquals(
      (await logLines(ann.page)).filter((line) => line === "ann: 早上好 🌅 from ann").length,
      1,
    );

    // An action, in italics.
    await type(bob, "/me 挥手 👋");
    await expectLine(carol, "* bob 挥手 👋");
    assert((await seeLine(ann.page, "* bob 挥手 👋")).includes("action"));
    const style = await ann.page.evaluate(
      `getComputedStyle([...document.querySelectorAll("#log .action .body")].at(-1)).fontStyle`,
    );
    assertEquals(style, "italic");

    // Private messages both ways: highlighted; your own shown once the server confirms it.
    await carol.write("/msg ann 秘密 🤫\n");
    assert((await seeLine(ann.page, "carol (private): 秘密 🤫")).includes("private"));
    await type(ann, "/msg carol got it ✅");
    await expectLine(carol, "ann (private): got it ✅");
    const sent = await seeLine(ann.page, "ann (private) → carol: got it ✅");
    assert(sent.includes("private") && sent.includes("own"), sent);
    assert(!(await logLines(bob.page)).some((line) => line.includes("秘密")));

    // The people in the room, and Up/Down through what ann sent.
    await until(
      ann.page,
      `document.querySelector("#members").textContent === "ann (you)bobcarol"`,
      "ann's list of people",
    );
    await ann.page.focus("#input");
    await ann.page.keyboard.type("draft");
    const input = () => ann.page.evaluate(`document.querySelector("#input").value`);
    await ann.page.keyboard.press("ArrowUp");
    assertEquals(await input(), "/msg carol got it ✅");
    await ann.page.keyboard.press("ArrowUp");
    assertEquals(await input(), "早上好 🌅 from ann");
    await ann.page.keyboard.press("ArrowDown");
    assertEquals(await input(), "/msg carol got it ✅");
    await ann.page.keyboard.press("ArrowDown");
    assertEquals(await input(), "draft");

    assertEquals([...ann.errors, ...bob.errors], []);
  },
);

browserTest("web page: an HTML line from nc shows as text and runs nothing", async (browser) => {
  await using server = await startChat();
  const ann = await joinPage(browser, server, "ann");
  using mallory = await LineClient.join(server, "mallory");
  const attacks = [
    "<img src=x onerror=alert(1)>",
    "<script>alert(2)</script>",
    `"><svg onload=alert(3)>`,
    "<b>bold?</b> &amp; &lt;",
  ];
  for (const attack of attacks) await mallory.write(`${attack}\n`);
  await mallory.write("/topic <img src=y onerror=alert(4)>\n");
  for (const attack of attacks) await seeLine(ann.page, `mallory: ${attack}`);
  await untilText(ann.page, "#topic", "<img src=y onerror=alert(4)>");
  await new Promise((resolve) => setTimeout(resolve, 300)); // time for anything to run
  assertEquals(ann.dialogs, []);
  assertEquals(
    await ann.page.evaluate(`document.querySelectorAll("img, svg, b, main script").length`),
    0,
  );
  assertEquals(ann.errors, []);
});

browserTest(
  "web page: a bad or taken name shows the server's reason and asks again",
  async (browser) => {
    await using server = await startChat();
    using _dora = await LineClient.join(server, "dora");
    const chat = await openPage(browser, server);
    await giveName(chat, "bad name!");
    await untilText(chat.page, "#name-error", checkName("bad name!")!);
    assertEquals(await chat.page.evaluate(`document.querySelector("#name-view").hidden`), false);
    await giveName(chat, "Dora");
    await untilText(chat.page, "#name-error", say.nameTaken("Dora").slice(3));
    await giveName(chat, "ann");
    await untilText(chat.page, "#status", "Connected as ann");
    await untilText(chat.page, "#room", "lobby");
    assertEquals(await textOf(chat.page, "#name-error"), "");
    assertEquals(chat.errors, []);
  },
);

browserTest(
  "web page: after the name timeout it waits for a name, then connects",
  async (browser) => {
    await using server = await startChat({ nameTimeout: 300 });
    const chat = await openPage(browser, server);
    await untilText(chat.page, "#name-error", say.noNameInTime.slice(3));
    await untilText(chat.page, "#status", "Disconnected; choosing a name connects again");
    await giveName(chat, "ann");
    await untilText(chat.page, "#status", "Connected as ann");
    assertEquals(chat.errors, []);
  },
);

browserTest("web page: a line over the server's limit is not sent", async (browser) => {
  await using server = await startChat({ maxLine: 40 });
  const ann = await joinPage(browser, server, "ann");
  using carol = await LineClient.join(server, "carol");
  await type(ann, "é".repeat(21), true);
  await seeLine(ann.page, "!! line too long (42 bytes, max 40); it was not sent");
  // Kept in the input, to shorten.
  assertEquals(await ann.page.evaluate(`document.querySelector("#input").value`), "é".repeat(21));
  await ann.page.evaluate(`document.querySelector("#input").value = ""`);
  await type(ann, "short 👍");
  await expectLine(carol, "ann: short 👍");
  assertEquals(ann.errors, []);
});

browserTest(
  "web page: /join moves the page to another room, and the room list back",
  async (browser) => {
    await using server = await startChat();
    using carol = await LineClient.join(server, "carol");
    await carol.write("/join #dev\n/topic release on Friday 🚀\n");
    await expectLine(carol, say.topicSet("carol", "release on Friday 🚀"));
    const ann = await joinPage(browser, server, "ann");
    await untilText(ann.page, "#room", "lobby");

    await type(ann, "/join #dev"); // the room dev, which IRC shows as #dev
    await untilText(ann.page, "#room", "dev");
    await untilText(ann.page, "#topic", "release on Friday 🚀");
    await expectLine(carol, "-- ann joined");
    await until(
      ann.page,
      `document.querySelector("#members").textContent === "ann (you)carol"`,
      "the people in dev",
    );
    await until(
      ann.page,
      `document.querySelector('#rooms button[aria-current="true"]')?.dataset.room === "dev"`,
      "dev marked in the room list",
    );
    await carol.write("welcome to #dev 🎉\n");
    await seeLine(ann.page, "carol: welcome to #dev 🎉");

    // Back to the lobby from the room list, by keyboard.
    await until(ann.page, `!!document.querySelector('#rooms button[data-room="lobby"]')`, "lobby");
    await ann.page.focus('#rooms button[data-room="lobby"]');
    await ann.page.keyboard.press("Enter");
    await untilText(ann.page, "#room", "lobby");
    await untilText(ann.page, "#topic", "");
    await expectLine(carol, "-- ann went to lobby");
    assertEquals(ann.errors, []);
  },
);

browserTest(
  "web page: reconnects after a server restart, as the same name in the same room",
  async (browser) => {
    const first = await startChat();
    let second: WebServer | undefined;
    try {
      const ann = await joinPage(browser, first, "ann");
      await type(ann, "/join #dev");
      await untilText(ann.page, "#room", "dev");

      await first.close();
      await until(
        ann.page,
        `document.querySelector("#status").textContent.startsWith("Disconnected; reconnecting in")`,
        "the page to notice",
      );
      second = await startChat({ port: first.addr.port, web: first.webAddr.port });
      await untilText(ann.page, "#status", "Connected as ann");
      using carol = await LineClient.join(second, "carol");
      await carol.write("/join #dev\n");
      await expectLine(carol, "-- You are now in dev. Also here (1): ann.");
      await untilText(ann.page, "#room", "dev");
      await carol.write("welcome back 🎉\n");
      await seeLine(ann.page, "carol: welcome back 🎉");
      await type(ann, "thanks 🙏");
      await expectLine(carol, "ann: thanks 🙏");
      // The greeting is shown once, not again on reconnecting.
      const lines = await logLines(ann.page);
      assertEquals(lines.filter((line) => line.startsWith("-- Welcome")).length, 1);
      assertEquals(ann.errors, []);
    } finally {
      await first.close();
      await second?.close();
    }
  },
);

/** Keeps the page's WebSockets in `window.sockets`, so that a test can drop one. */
async function keepSockets(page: Page): Promise<void> {
  await page.evaluateOnNewDocument(`window.sockets = [];
  const Native = WebSocket;
  window.WebSocket = class extends Native {
    constructor(...args) { super(...args); window.sockets.push(this); }
  };`);
}

/** The text of the page's history marks (header, end) in its log. */
async function historyMarks(page: Page): Promise<string[]> {
  return await page.evaluate(
    `[...document.querySelectorAll("#log .history-mark .body")].map((e) => e.textContent)`,
  ) as string[];
}

browserTest(
  "web page: a replay of lines all seen live shows no history header or end",
  async (browser) => {
    await using server = await startChat();
    using carol = await LineClient.join(server, "carol");
    await carol.write("before ann\n");
    const ann = await openPage(browser, server, { keepSockets: true });
    await giveName(ann, "ann");
    await untilText(ann.page, "#status", "Connected as ann");
    // A replay with a line not seen live shows its header and end.
    await seeLine(ann.page, "carol: before ann");
    await seeLine(ann.page, "-- end of history");
    const fresh = await historyMarks(ann.page);
    assertEquals(fresh, ["-- history of lobby: 1 line, oldest first", "-- end of history"]);

    await carol.write("one\ntwo\n");
    await seeLine(ann.page, "carol: two");
    await ann.page.evaluate(`window.sockets[window.sockets.length - 1].close()`);
    await until(
      ann.page,
      `document.querySelector("#status").textContent.startsWith("Disconnected; reconnecting in")`,
      "the page to notice",
    );
    await untilText(ann.page, "#status", "Connected as ann");
    // Said after the replay on the same socket, so the replay has been read when it shows.
    await carol.write("after\n");
    await seeLine(ann.page, "carol: after");
    assertEquals(await historyMarks(ann.page), fresh);
    assertEquals(ann.errors, []);
  },
);

browserTest(
  "web page: after /quit no one is listed, not even you, and no rooms",
  async (browser) => {
    await using server = await startChat();
    const ann = await joinPage(browser, server, "ann");
    await until(ann.page, `!!document.querySelector("#members .you")`, "ann listed as you");
    await until(ann.page, `document.querySelectorAll("#rooms li").length > 0`, "the rooms listed");
    await type(ann, "/quit");
    await untilText(ann.page, "#status", "You left the chat.");
    assertEquals(await ann.page.evaluate(`document.querySelectorAll("#members li").length`), 0);
    assertEquals(await ann.page.evaluate(`document.querySelectorAll("#rooms li").length`), 0);
    assertEquals(await textOf(ann.page, "#members-title"), "People");
    assertEquals(ann.errors, []);
  },
);

browserTest(
  "web page: unread count in the title while hidden; autoscroll stops when scrolled up",
  async (browser) => {
    await using server = await startChat();
    const ann = await joinPage(browser, server, "ann", { height: 400 });
    using carol = await LineClient.join(server, "carol");
    const { page } = ann;
    await untilText(page, "title", "lobby — chat");

    await page.evaluate(
      `Object.defineProperty(document, "hidden", { configurable: true, get: () => true });
    document.dispatchEvent(new Event("visibilitychange"));`,
    );
    await carol.write("one\ntwo\n");
    await untilText(page, "title", "(2) lobby — chat");
    await page.evaluate(
      `Object.defineProperty(document, "hidden", { configurable: true, get: () => false });
    document.dispatchEvent(new Event("visibilitychange"));`,
    );
    await untilText(page, "title", "lobby — chat");

    const bottom = `(() => { const log = document.querySelector("#log");
    return log.scrollHeight - log.scrollTop - log.clientHeight < 2; })()`;
    await carol.write(Array.from({ length: 60 }, (_, i) => `line ${i}\n`).join(""));
    await seeLine(page, "carol: line 59");
    await until(page, bottom, "the log to follow");
    await page.evaluate(`document.querySelector("#log").scrollTop = 0`);
    await until(page, `document.querySelector("#log").scrollTop === 0`, "scrolled up");
    await page.evaluate(`new Promise((resolve) => requestAnimationFrame(() => resolve()))`);
    await carol.write("one more\n");
    await seeLine(page, "carol: one more");
    assertEquals(await page.evaluate(`document.querySelector("#log").scrollTop`), 0);
    await until(page, `!document.querySelector("#jump").hidden`, "the jump button");
    await page.click("#jump");
    await until(page, bottom, "the log at its end again");
    // Messages are announced to screen readers.
    assertEquals(await textOf(page, "#announce p:last-child"), "carol: one more");
    assertEquals(ann.errors, []);
  },
);

/**
 * A short session for the screenshots (a topic, history, an action, private
 * messages), as ann sees it; `then` runs on ann's page while everyone is still in.
 */
async function session(
  browser: Browser,
  server: WebServer,
  options: Parameters<typeof openPage>[2],
  then: (ann: ChatPage) => Promise<void>,
): Promise<void> {
  using carol = await LineClient.join(server, "carol");
  const bob = await joinPage(browser, server, "bob");
  await carol.write("/topic release on Friday 🚀\n");
  await type(bob, "morning! anyone up for lunch at 12?");
  await expectLine(carol, "bob: morning! anyone up for lunch at 12?");
  await carol.write("/me waves\n");
  const ann = await joinPage(browser, server, "ann", options);
  await seeLine(ann.page, "* carol waves");
  await carol.write("sure, the usual place? 🍜\n");
  await type(ann, "I'm in. 12:00 at 小笼包 🥟");
  await expectLine(carol, "ann: I'm in. 12:00 at 小笼包 🥟");
  await carol.write("/msg ann can you bring the slides?\n");
  await type(ann, "/msg carol yes ✅");
  await expectLine(carol, "ann (private): yes ✅");
  await type(bob, "/me is booking a table");
  await seeLine(ann.page, "* bob is booking a table");
  await until(
    ann.page,
    `document.querySelector("#members").textContent === "ann (you)bobcarol"`,
    "everyone in ann's list of people",
  );
  await until(ann.page, `document.querySelectorAll("#rooms li").length === 1`, "the room list");
  await ann.page.evaluate(`document.activeElement.blur()`);
  await then(ann);
}

/**
 * Takes a screenshot of `page`; with `UPDATE_SCREENSHOTS=1` in the environment it
 * replaces `docs/NAME` (the README's), so that a plain test run changes no file.
 */
async function screenshot(page: Page, name: string): Promise<void> {
  const image = await page.screenshot({ type: "png" });
  assertEquals([...image.subarray(1, 4)], [0x50, 0x4e, 0x47], "a PNG");
  if (Deno.env.get("UPDATE_SCREENSHOTS") !== "1") return;
  await Deno.mkdir(DOCS, { recursive: true });
  await Deno.writeFile(new URL(name, DOCS), image);
}

browserTest("web page: a session on the desktop (screenshot)", async (browser) => {
  await using server = await startChat();
  await session(browser, server, { width: 1000, height: 560 }, async (ann) => {
    assertEquals(await noHorizontalScroll(ann.page), true);
    await screenshot(ann.page, "page-desktop.png");
    assertEquals(ann.errors, []);
  });
});

browserTest(
  "web page: 360 px wide in dark mode, no horizontal scroll (screenshot)",
  async (browser) => {
    await using server = await startChat();
    const options = { width: 360, height: 720, dark: true, scale: 2 };
    await session(browser, server, options, async (ann) => {
      const { page } = ann;
      assertEquals(
        await page.evaluate(`getComputedStyle(document.body).backgroundColor`),
        "rgb(13, 17, 23)",
        "dark background",
      );
      assertEquals(await noHorizontalScroll(page), true);
      await screenshot(page, "page-phone.png");

      // A long unbroken word and a long line wrap instead of widening the page.
      await type(ann, "x".repeat(300));
      await type(ann, "长".repeat(200));
      await seeLine(page, `ann: ${"长".repeat(200)}`);
      assertEquals(await noHorizontalScroll(page), true);

      // The side panel opens from its button and closes with Escape, back to the button.
      await page.focus("#side-toggle");
      await page.keyboard.press("Enter");
      await until(
        page,
        `getComputedStyle(document.querySelector("#side")).display !== "none"`,
        "open",
      );
      assertEquals(await page.evaluate(`document.activeElement.closest("#side") !== null`), true);
      assertEquals(await noHorizontalScroll(page), true);
      await page.keyboard.press("Escape");
      await until(
        page,
        `getComputedStyle(document.querySelector("#side")).display === "none"`,
        "shut",
      );
      assertEquals(await page.evaluate(`document.activeElement.id`), "side-toggle");
      assertEquals(ann.errors, []);
    });
  },
);

browserTest(
  "web page: an account's name asks its password in a hidden field, again when wrong",
  async (browser) => {
    await using server = await startChat({
      hashCost: { n: 1 << 10, r: 8, p: 1, scramIterations: 16 },
    });
    {
      using ann = await LineClient.join(server, "ann");
      await ann.write("/register right one\n");
      await expectLine(ann, say.registered("ann", false));
    }
    const chat = await openPage(browser, server);
    await giveName(chat, "ann");
    await untilText(chat.page, "#name-label", say.passwordPrompt("ann").slice(3));
    assertEquals(
      await chat.page.evaluate(`document.querySelector("#name-input").type`),
      "password",
    );
    await giveName(chat, "wrong one");
    await untilText(chat.page, "#name-error", say.wrongPassword("ann").slice(3));
    await giveName(chat, "right one");
    await until(
      chat.page,
      `document.querySelector("#name-view").hidden && ` +
        `document.querySelector("#status").textContent === "Connected as ann"`,
      "ann to be in",
    );
    assertEquals(await chat.page.evaluate(`document.querySelector("#name-input").type`), "text");
    assertEquals(chat.errors, []);
  },
);
