/**
 * The web page (`src/web/page/`) in a real browser: Debian's `chromium`, driven
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
import type { Browser, Page } from "npm:puppeteer-core@25.16.0";
import { PAGE_CSS, PAGE_FILES, PAGE_HTML } from "../src/web/page.ts";
import { checkName } from "../src/core/protocol.ts";
import { NAME_COLORS, nameColor, say } from "../src/text/protocol.ts";
import type { ServerOptions } from "../server.ts";
import {
  browserTest,
  CHROMIUM,
  startChat as startWebChat,
  type WebServer,
} from "./browser_util.ts";
import { LineClient, test } from "./test_util.ts";
import { JsonStandIn, type PlayedSocket } from "./json_stand_in.ts";
import * as wording from "../src/web/page/wording.js";

// ---------------------------------------------------------------------------
// The browser
// ---------------------------------------------------------------------------

if (!CHROMIUM) {
  console.warn(
    "web_page_test.ts: no chromium on the PATH, so the browser tests are skipped " +
      "(install it with: apt-get install -y chromium)",
  );
}

// ---------------------------------------------------------------------------
// The server
// ---------------------------------------------------------------------------

/** A server with its web page on a free port, everything that would slow a test off. */
async function startChat(options: ServerOptions = {}): Promise<WebServer> {
  const server = await startWebChat(options);
  assert(server.webAddr, "the server has a web address");
  return server;
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
  server: WebServer | string,
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
  await page.goto(
    typeof server === "string" ? server : `http://127.0.0.1:${server.webAddr.port}/`,
  );
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
  server: WebServer | string,
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

test("web page: no inline script or style, no HTML from strings, a colour for every name", () => {
  assert(!/<script(?![^>]*\ssrc=)/i.test(PAGE_HTML), "no inline script");
  assert(!/<style|\sstyle=|\son[a-z]+=/i.test(PAGE_HTML), "no inline style or handler");
  const scripts = [...PAGE_FILES].filter(([path]) => path.endsWith(".js"));
  assert(scripts.length > 1, "the script's modules");
  let imports = 0;
  for (const [path, { text }] of scripts) {
    assert(!/innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(/.test(text), path);
    // Each module it imports is served, at the path the browser asks for.
    for (const [, module] of text.matchAll(/^import [^;]*? from "\.(\/[\w.]+)";$/gms)) {
      assert(PAGE_FILES.has(module), `${path} imports ${module}, which is served`);
      imports++;
    }
  }
  assert(imports >= scripts.length - 1, "every module is imported");
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

    // Private messages both ways, in a conversation of their own (counted as a mention until
    // opened); your own shown once the server confirms it.
    await carol.write("/msg ann 秘密 🤫\n");
    await untilText(ann.page, `.conv[data-key="@carol"] .mentions`, "1");
    assert(!(await logLines(ann.page)).some((line) => line.includes("秘密")), "not in the room");
    await ann.page.bringToFront();
    await ann.page.click(`.conv[data-key="@carol"]`);
    assert((await seeLine(ann.page, "carol: 秘密 🤫")).includes("private"));
    await untilText(ann.page, "#room", "carol");
    assertEquals(await ann.page.$(`.conv[data-key="@carol"] .mentions`), null);
    await type(ann, "/msg carol got it ✅");
    await expectLine(carol, "ann (private): got it ✅");
    const sent = await seeLine(ann.page, "ann: got it ✅");
    assert(sent.includes("private") && sent.includes("own"), sent);
    // In the conversation's pane, a line is a private message.
    await type(ann, "and this");
    await expectLine(carol, "ann (private): and this");
    await seeLine(ann.page, "ann: and this");
    assert(!(await logLines(bob.page)).some((line) => line.includes("秘密")));
    await ann.page.click(`.conv[data-key="#lobby"]`);
    await seeLine(ann.page, "* bob 挥手 👋");

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
    assertEquals(await input(), "and this");
    await ann.page.keyboard.press("ArrowUp");
    assertEquals(await input(), "/msg carol got it ✅");
    await ann.page.keyboard.press("ArrowDown");
    assertEquals(await input(), "and this");
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
    await untilText(chat.page, "#name-error", "The name Dora is taken.");
    await giveName(chat, "ann");
    await untilText(chat.page, "#status", "Connected as ann");
    await untilText(chat.page, "#room", "lobby");
    assertEquals(await textOf(chat.page, "#name-error"), "");
    assertEquals(chat.errors, []);
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
    const inputType = `document.querySelector("#name-input").type`;
    await giveName(chat, "ann");
    await untilText(chat.page, "#name-label", wording.say.passwordFor("ann"));
    assertEquals(await chat.page.evaluate(inputType), "password");
    assertEquals(await chat.page.evaluate(`document.querySelector("#name-hint").hidden`), true);
    await giveName(chat, "wrong one");
    await untilText(
      chat.page,
      "#name-error",
      wording.errorText({ code: "wrongPassword", name: "ann" }),
    );
    // Asked again, still for a password.
    await until(chat.page, `!document.querySelector("#name-input").disabled`, "the question again");
    assertEquals(await textOf(chat.page, "#name-label"), wording.say.passwordFor("ann"));
    assertEquals(await chat.page.evaluate(inputType), "password");
    await giveName(chat, "right one");
    await until(
      chat.page,
      `document.querySelector("#name-view").hidden && ` +
        `document.querySelector("#status").textContent === "Connected as ann"`,
      "ann to be in",
    );
    assertEquals(await chat.page.evaluate(inputType), "text");
    assertEquals(await textOf(chat.page, "#name-label"), "What should we call you?");
    await type(chat, "/whois ann");
    await seeLine(chat.page, wording.say.whois("ann", "lobby", "ann"));
    assertEquals(chat.errors, []);
  },
);

/** The page's login cookie as the browser keeps it, or undefined. */
async function loginCookie(page: Page) {
  const cookies = await page.cookies();
  return cookies.find((cookie) => cookie.name === "chat_session");
}

browserTest(
  "web page: register, reload logged in by the cookie, log out, reload asked again; wrong passwords",
  async (browser) => {
    await using server = await startChat({
      hashCost: { n: 1 << 10, r: 8, p: 1, scramIterations: 16 },
    });
    const chat = await joinPage(browser, server, "ann");
    const { page } = chat;
    await untilText(page, "#account-status", wording.say.accountNone);
    assertEquals(await page.evaluate(`document.querySelector("#logout").hidden`), true);
    // Register the name held, from the account area (a labelled password field).
    assertEquals(
      await page.evaluate(`document.querySelector("label[for=register-password]").textContent`),
      "Register this name with a password",
    );
    // The forms fold under one summary (a guest's panel stays short).
    assertEquals(await page.evaluate(`document.querySelector("#account-forms").open`), false);
    await page.click("#account-forms summary");
    await page.type("#register-password", "right-one");
    await page.click("#register-submit");
    await untilText(page, "#account-status", wording.say.accountIs("ann"));
    await seeLine(page, wording.say.registered("ann", false));
    assertEquals(await page.evaluate(`document.querySelector("#register-password").value`), "");
    await until(page, `!!document.querySelector("#members .logged-in")`, "ann marked logged in");
    assertEquals(
      await page.evaluate(`document.querySelector("#members .logged-in").ariaLabel`),
      wording.say.loggedInLabel,
    );
    // The cookie: HttpOnly (no script sees it), SameSite=Strict, not Secure over HTTP.
    const deadline = Date.now() + WAIT;
    while (!(await loginCookie(page)) && Date.now() < deadline) {
      await page.waitForNetworkIdle({ idleTime: 50, timeout: WAIT });
    }
    const cookie = await loginCookie(page);
    assert(cookie, "the login cookie is set");
    assertEquals([cookie.httpOnly, cookie.sameSite, cookie.secure, cookie.path], [
      true,
      "Strict",
      false,
      "/",
    ]);
    assertEquals(await page.evaluate("document.cookie"), "");
    assertEquals(await page.evaluate("localStorage.length + sessionStorage.length"), 0);

    // Reload: in as ann with no name or password asked.
    await page.reload();
    await until(
      page,
      `document.querySelector("#name-view").hidden && ` +
        `document.querySelector("#status").textContent === "Connected as ann"`,
      "ann to be in again by the cookie",
    );
    await untilText(page, "#account-status", wording.say.accountIs("ann"));

    // Log out: the cookie goes; a reload asks the name, and the name its password.
    await page.click("#logout");
    await untilText(page, "#account-status", wording.say.accountNone);
    while ((await loginCookie(page)) && Date.now() < deadline + WAIT) {
      await page.waitForNetworkIdle({ idleTime: 50, timeout: WAIT });
    }
    assertEquals(await loginCookie(page), undefined);
    await page.reload();
    await until(
      page,
      `!document.querySelector("#name-view").hidden && ` +
        `!document.querySelector("#name-input").disabled`,
      "the name asked again",
    );
    await giveName(chat, "ann");
    await untilText(page, "#name-label", wording.say.passwordFor("ann"));
    await giveName(chat, "wrong-one");
    await untilText(page, "#name-error", wording.errorText({ code: "wrongPassword", name: "ann" }));
    await giveName(chat, "right-one");
    await untilText(page, "#account-status", wording.say.accountIs("ann"));

    // A wrong password in the account area's login form is said there.
    await page.click("#logout");
    await untilText(page, "#account-status", wording.say.accountNone);
    await page.click("#account-forms summary");
    await page.type("#login-name", "ann");
    await page.type("#login-password", "not-it");
    await page.click("#login-submit");
    await untilText(
      page,
      "#account-error",
      wording.errorText({ code: "wrongPassword", name: "ann" }),
    );
    await page.type("#login-password", "right-one");
    await page.click("#login-submit");
    await untilText(page, "#account-status", wording.say.accountIs("ann"));

    // On a phone the account area folds with the panel, and fits.
    await page.setViewport({ width: 360, height: 720 });
    const logoutShown = `document.querySelector("#logout").getBoundingClientRect().width > 0`;
    assertEquals(await page.evaluate(logoutShown), false, "folded away");
    await page.click("#side-toggle");
    await until(page, logoutShown, "the log-out button in the opened panel");
    assert(await noHorizontalScroll(page), "no horizontal scroll at 360 px");
    const fits = `(() => { const r = document.querySelector("#account").getBoundingClientRect(); ` +
      `return r.left >= 0 && r.right <= innerWidth; })()`;
    assertEquals(await page.evaluate(fits), true, "the account area fits the screen");
    assertEquals(chat.errors, []);
    assertEquals(chat.dialogs, []);
  },
);

browserTest(
  "web page: after the name timeout it waits for a name, then connects",
  async (browser) => {
    await using server = await startChat({ nameTimeout: 300 });
    const chat = await openPage(browser, server);
    await untilText(chat.page, "#name-error", "No name was given in time.");
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
  await untilText(ann.page, "#input-error", "Too long: 42 bytes, at most 40. It was not sent.");
  // Kept in the input, to shorten.
  assertEquals(await ann.page.evaluate(`document.querySelector("#input").value`), "é".repeat(21));
  await ann.page.evaluate(`document.querySelector("#input").value = ""`);
  await type(ann, "short 👍");
  await expectLine(carol, "ann: short 👍");
  assertEquals(ann.errors, []);
});

browserTest(
  "web page: /join adds a room pane, and the room list goes back to the lobby's",
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
    // (carol made dev as a guest: its operator, marked so; names alone compared here.)
    await until(
      ann.page,
      `document.querySelector("#members").textContent === "ann (you)@carol"`, // carol made dev: its operator
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
    // Still in dev (a join keeps the rooms one was in): its lines are counted there.
    await carol.write("still here\n");
    await untilText(ann.page, `.conv[data-key="#dev"] .unread`, "1");
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
      // No greeting in the log, and no welcome to the lobby: the reconnect went back to dev
      // (dev's pane shows dev's lines; the lobby's welcome is in the lobby's).
      const lines = await logLines(ann.page);
      assert(!lines.some((line) => /^(--|!!) |Welcome|at most/.test(line)), String(lines));
      assertEquals(lines.filter((line) => line.startsWith("You are in lobby.")).length, 0);
      assertEquals(lines.filter((line) => line.startsWith("You are now in dev.")).length, 2);
      assertEquals(ann.errors, []);
    } finally {
      await first.close();
      await second?.close();
    }
  },
);

/**
 * Keeps the page's WebSockets in `window.sockets`, so that a test can drop one, and
 * what the page sent in `window.sent`.
 */
async function keepSockets(page: Page): Promise<void> {
  await page.evaluateOnNewDocument(`window.sockets = [];
  window.sent = [];
  const Native = WebSocket;
  window.WebSocket = class extends Native {
    constructor(...args) { super(...args); window.sockets.push(this); }
    send(data) { window.sent.push(data); super.send(data); }
  };`);
}

/** The text of the page's history marks (header, end) in its log. */
async function historyMarks(page: Page): Promise<string[]> {
  return await page.evaluate(
    `[...document.querySelectorAll("#log .history-mark .body")].map((e) => e.textContent)`,
  ) as string[];
}

browserTest(
  "web page: a replay of lines all seen live shows no history mark",
  async (browser) => {
    await using server = await startChat();
    using carol = await LineClient.join(server, "carol");
    await carol.write("before ann\n");
    const ann = await openPage(browser, server, { keepSockets: true });
    await giveName(ann, "ann");
    await untilText(ann.page, "#status", "Connected as ann");
    // A replay with a line not seen live shows its header and end.
    // It names ann: a mention.
    assertEquals(await seeLine(ann.page, "carol: before ann"), "line message history mention");
    const fresh = await historyMarks(ann.page);
    assertEquals(fresh, ["Recent messages in lobby"]);

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
  "web page: after a reconnect, what was said meanwhile shows once, and nothing seen before",
  async (browser) => {
    await using server = await startChat();
    using carol = await LineClient.join(server, "carol");
    await carol.write("before ann\n");
    const ann = await openPage(browser, server, { keepSockets: true });
    await giveName(ann, "ann");
    await seeLine(ann.page, "carol: before ann");
    await carol.write("seen live\n");
    await seeLine(ann.page, "carol: seen live");
    await type(ann, "mine, said live");
    await expectLine(carol, "ann: mine, said live");

    await ann.page.evaluate(`window.sockets[window.sockets.length - 1].close()`);
    await carol.until((line) => line.startsWith("-- ann left"));
    await carol.write("while ann was away\n");
    await untilText(ann.page, "#status", "Connected as ann");
    await seeLine(ann.page, "carol: while ann was away");
    // The hello said where the page left off: the id of the last line it saw.
    const hellos = await ann.page.evaluate(
      `window.sent.map((frame) => JSON.parse(frame)).filter((r) => r.type === "hello")`,
    ) as { name: string; since?: string }[];
    assertEquals(hellos.map((hello) => [hello.name, typeof hello.since]), [
      ["ann", "undefined"],
      ["ann", "string"],
    ]);
    const lines = await logLines(ann.page);
    for (const line of ["carol: before ann", "carol: seen live", "ann: mine, said live"]) {
      assertEquals(lines.filter((text) => text === line).length, 1, line);
    }
    assertEquals(await historyMarks(ann.page), [
      "Recent messages in lobby",
      "Recent messages in lobby",
    ]);
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
    // Up, but not to the top (which asks the server for the page before: it moves the lines).
    await page.evaluate(`document.querySelector("#log").scrollTop = 250`);
    await until(page, `document.querySelector("#log").scrollTop === 250`, "scrolled up");
    await page.evaluate(`new Promise((resolve) => requestAnimationFrame(() => resolve()))`);
    await carol.write("one more\n");
    await seeLine(page, "carol: one more");
    // Not followed: the reader stays where they were (scrolled up, away from the end).
    assert(!(await page.evaluate(bottom)), "the log stays scrolled up");
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
  await carol.write("ann: the plan is at https://example.org/plan 📎\n");
  await seeLine(ann.page, "carol: ann: the plan is at https://example.org/plan 📎");
  await carol.write("/msg ann can you bring the slides?\n");
  await type(ann, "/msg carol yes ✅");
  await expectLine(carol, "ann (private): yes ✅");
  // The /msg opened the conversation with carol; back to the room.
  await untilText(ann.page, "#room", "carol");
  await ann.page.click(`.conv[data-key="#lobby"]`);
  await type(bob, "/me is booking a table");
  await seeLine(ann.page, "* bob is booking a table");
  await type(bob, "/msg ann saved you a seat 🍜");
  await untilText(ann.page, `.conv[data-key="@bob"] .mentions`, "1");
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

// ---------------------------------------------------------------------------
// The JSON protocol, played by hand (tests/json_stand_in.ts): every event on cue
// ---------------------------------------------------------------------------

/** A page on the stand-in, named `name` and welcomed into the lobby with bob. */
async function playIn(
  browser: Browser,
  stand: JsonStandIn,
  name: string,
): Promise<{ chat: ChatPage; socket: PlayedSocket }> {
  const chat = await openPage(browser, stand.url);
  const socket = await stand.socket();
  socket.send({ type: "greeting", maxLine: 4096 });
  await giveName(chat, name);
  const hello = await socket.expect("hello");
  assertEquals([hello.name, hello.since], [name, undefined]);
  socket.send({
    type: "welcome",
    name,
    room: "lobby",
    others: ["bob"],
    count: 1,
    topic: "",
    ref: hello.ref,
  });
  await answerSidePanel(socket, "lobby", [name, "bob"]);
  await untilText(chat.page, "#members", `${name} (you)bob`);
  return { chat, socket };
}

/** Answers the page's own /who and /rooms, as the server would. */
async function answerSidePanel(socket: PlayedSocket, room: string, names: string[]) {
  const who = await socket.expectLine("/who");
  const rooms = await socket.expectLine("/rooms");
  socket.send(
    { type: "who", room, names, count: names.length, ref: who.ref },
    {
      type: "rooms",
      rooms: [{ name: room, members: names.length, topic: "" }],
      count: 1,
      ref: rooms.ref,
    },
  );
}

/** The log's lines (without times) and their classes, for what a reader sees. */
async function logWithClasses(page: Page): Promise<[string, string][]> {
  return await page.evaluate(
    `[...document.querySelectorAll("#log .line")].map((e) => ` +
      `[e.querySelector(".body").textContent, e.className])`,
  ) as [string, string][];
}

browserTest(
  "JSON page: no greeting in the log; quiet /who and /rooms fill the panel only; typed ones show",
  async (browser) => {
    await using stand = new JsonStandIn();
    const chat = await openPage(browser, stand.url);
    const socket = await stand.socket();
    assertEquals(stand.asked, ["chat.v1.json"]);
    socket.send({ type: "greeting", maxLine: 4096 });
    await until(chat.page, `!document.querySelector("#name-input").disabled`, "the name field");
    await giveName(chat, "ann");
    const hello = await socket.expect("hello");
    assert(typeof hello.ref === "string" && hello.ref.length <= 64, "a ref");
    socket.send({
      type: "welcome",
      name: "ann",
      room: "lobby",
      others: ["bob", "carol"],
      count: 2,
      topic: "say hi",
      ref: hello.ref,
    });
    await answerSidePanel(socket, "lobby", ["ann", "bob", "carol"]);
    await untilText(chat.page, "#members", "ann (you)bobcarol");
    await untilText(chat.page, "#status", "Connected as ann");
    await untilText(chat.page, "#topic", "say hi");
    await until(chat.page, `document.querySelectorAll("#rooms li").length === 1`, "the rooms");
    // The welcome is one quiet line; the greeting, the limits and the page's own asks none.
    assertEquals(await logWithClasses(chat.page), [
      ["You are in lobby. Also here: bob and carol.", "line notice hello"],
    ]);

    await type(chat, "/who");
    const who = await socket.expectLine("/who");
    socket.send({ type: "who", room: "lobby", names: ["ann", "bob"], count: 2, ref: who.ref });
    assertEquals(await seeLine(chat.page, "In lobby (2): ann and bob"), "line notice who");
    await untilText(chat.page, "#members", "ann (you)bob");
    await type(chat, "/rooms");
    const rooms = await socket.expectLine("/rooms");
    socket.send({
      type: "rooms",
      rooms: [{ name: "lobby", members: 2, topic: "" }, { name: "dev", members: 1, topic: "🚀" }],
      count: 3,
      ref: rooms.ref,
    });
    await seeLine(chat.page, "and 1 more");
    assertEquals((await logLines(chat.page)).slice(-4), [
      "Rooms (3):",
      "lobby (2)",
      "dev (1): 🚀",
      "and 1 more",
    ]);
    assertEquals(
      await chat.page.evaluate(
        `[...document.querySelectorAll("#rooms li")].map((e) => ` +
          `e.textContent)`,
      ),
      ["lobby (2)", "dev (1)🚀", "and 1 more"],
    );
    assertEquals(chat.errors, []);
  },
);

browserTest(
  "JSON page: joins as a quiet line, errors next to the input, own lines once, topic, help",
  async (browser) => {
    await using stand = new JsonStandIn();
    const { chat, socket } = await playIn(browser, stand, "ann");
    const { page } = chat;

    socket.send({
      type: "presence",
      room: "lobby",
      groups: [
        { change: "joined", names: ["carol", "dan"], count: 2 },
        { change: "left", names: ["eve"], count: 1, reason: "quit: bye" },
        { change: "moved", names: ["bob"], count: 1, to: "dev" },
      ],
    });
    assertEquals(
      await seeLine(page, "carol and dan joined; eve left (quit: bye); bob went to dev"),
      "line notice presence",
    );
    await socket.expectLine("/who"); // the people list refreshed

    socket.send(
      { type: "message", id: "7", room: "lobby", from: "carol", text: "hi 👋" },
      { type: "action", id: "8", room: "lobby", from: "carol", text: "waves" },
      { type: "private", from: "dan", to: "ann", text: "psst" },
    );
    assertEquals(await seeLine(page, "carol: hi 👋"), "line message");
    assertEquals(await nameClass(page, "carol: hi 👋"), `name ${colorOf("carol")}`);
    assertEquals(await seeLine(page, "* carol waves"), "line action");
    await untilText(page, `.conv[data-key="@dan"] .mentions`, "1");
    await page.click(`.conv[data-key="@dan"]`);
    assertEquals(await seeLine(page, "dan: psst"), "line private");
    await page.click(`.conv[data-key="#lobby"]`);

    // Shown at once, and once: the server's echo (same ref) only gives it its id.
    await type(chat, "hello  there");
    assert((await seeLine(page, "ann: hello there")).includes("own"));
    const line = await socket.expectLine("hello  there");
    socket.send({
      type: "message",
      id: "9",
      room: "lobby",
      from: "ann",
      text: "hello there",
      ref: line.ref,
    });
    socket.send({ type: "message", id: "10", room: "lobby", from: "carol", text: "after" });
    await seeLine(page, "carol: after");
    assertEquals((await logLines(page)).filter((text) => text === "ann: hello there").length, 1);
    assertEquals(
      await page.evaluate(`[...document.querySelectorAll("#log .own")].at(-1).dataset.id`),
      "9",
    );

    // An error goes next to the input, not into the log; a refused own line is marked.
    await type(chat, "/nosuch");
    const nosuch = await socket.expectLine("/nosuch");
    socket.send({ type: "error", code: "unknownCommand", command: "/nosuch", ref: nosuch.ref });
    await untilText(page, "#input-error", "There is no command /nosuch; /help lists them.");
    assertEquals(await page.evaluate(`document.querySelector("#input").ariaInvalid`), "true");
    await type(chat, "too long for them");
    const long = await socket.expectLine("too long for them");
    socket.send({ type: "error", code: "lineTooLong", max: 10, ref: long.ref });
    await untilText(page, "#input-error", "Too long: at most 10 bytes. It was not sent.");
    assert((await seeLine(page, "ann: too long for them")).includes("unsent"));
    assert(!(await logLines(page)).some((text) => /nosuch|at most/i.test(text)));
    await type(chat, "/topic release 🚀");
    assertEquals(await textOf(page, "#input-error"), "", "cleared by the next line sent");

    const topic = await socket.expectLine("/topic release 🚀");
    socket.send({ type: "topic", room: "lobby", topic: "release 🚀", by: "ann", ref: topic.ref });
    assertEquals(await seeLine(page, "ann set the topic: release 🚀"), "line notice topic");
    await untilText(page, "#topic", "release 🚀");

    await type(chat, "/nick annie");
    const nick = await socket.expectLine("/nick annie");
    socket.send({ type: "rename", old: "ann", name: "annie", self: true, ref: nick.ref });
    await seeLine(page, "You are now known as annie.");
    await untilText(page, "#status", "Connected as annie");
    socket.send({ type: "rename", old: "carol", name: "caz", self: false });
    await seeLine(page, "carol is now known as caz.");

    await type(chat, "/help");
    const help = await socket.expectLine("/help");
    socket.send({
      type: "help",
      commands: [{ usage: "/join ROOM", summary: "go to ROOM" }, {
        usage: "/who",
        summary: "who is here",
      }],
      ref: help.ref,
    });
    await seeLine(page, "/who who is here");
    assertEquals((await logLines(page)).slice(-3), [
      "Commands:",
      "/join ROOM go to ROOM",
      "/who who is here",
    ]);

    // A type from a newer server is passed over, and what follows still shows.
    socket.send({ type: "somethingNew", room: "lobby" });
    socket.send({ type: "message", id: "11", room: "lobby", from: "carol", text: "still here" });
    await seeLine(page, "carol: still here");
    assertEquals((await logLines(page)).at(-2), "/who who is here");
    assertEquals(chat.errors, []);
  },
);

browserTest(
  "JSON page: a reconnect says hello with since, shows each kept line once by id, says a gap",
  async (browser) => {
    await using stand = new JsonStandIn();
    const { chat, socket } = await playIn(browser, stand, "ann");
    const { page } = chat;
    const at = (minute: number) => `2026-12-05T10:${String(minute).padStart(2, "0")}:00.000Z`;
    const entry = (id: string, from: string, text: string, minute: number) => ({
      id,
      type: "message",
      from,
      text,
      time: at(minute),
    });
    socket.send({
      type: "history",
      room: "lobby",
      earlier: false,
      entries: [entry("1", "bob", "old one", 1)],
    });
    assertEquals(await seeLine(page, "bob: old one"), "line message history");
    socket.send({ type: "message", id: "2", room: "lobby", from: "bob", text: "live two" });
    await seeLine(page, "bob: live two");
    await type(chat, "said without an echo");

    await socket.close();
    await seeLine(page, "Disconnected.");
    const again = await stand.socket(); // the page reconnects by itself
    again.send({ type: "greeting", maxLine: 4096 });
    const hello = await again.expect("hello");
    assertEquals([hello.name, hello.since], ["ann", "2"]);
    again.send({
      type: "welcome",
      name: "ann",
      room: "lobby",
      others: ["bob"],
      count: 1,
      topic: "",
      ref: hello.ref,
    }, {
      type: "history",
      room: "lobby",
      earlier: false,
      ref: hello.ref,
      entries: [
        entry("2", "bob", "live two", 2),
        entry("3", "ann", "said without an echo", 3),
        entry("4", "bob", "while away", 4),
      ],
    });
    await answerSidePanel(again, "lobby", ["ann", "bob"]);
    await seeLine(page, "bob: while away");
    const once = ["bob: old one", "bob: live two", "ann: said without an echo", "bob: while away"];
    for (const text of once) {
      assertEquals((await logLines(page)).filter((line) => line === text).length, 1, text);
    }
    assertEquals(await historyMarks(page), [
      "Recent messages in lobby",
      "Recent messages in lobby",
    ]);

    // A gap the server could not fill is said; a replay of nothing new shows no mark.
    await again.close();
    const third = await stand.socket();
    third.send({ type: "greeting", maxLine: 4096 });
    const hello3 = await third.expect("hello");
    assertEquals(hello3.since, "4");
    third.send({
      type: "welcome",
      name: "ann",
      room: "lobby",
      others: [],
      count: 0,
      topic: "",
      ref: hello3.ref,
    }, {
      type: "history",
      room: "lobby",
      earlier: false,
      gap: true,
      entries: [entry("4", "bob", "while away", 4)],
    });
    await seeLine(page, "Some messages from while you were away are no longer kept.");
    await answerSidePanel(third, "lobby", ["ann"]);
    await untilText(page, "#status", "Connected as ann");
    assertEquals((await historyMarks(page)).length, 3); // the gap, and no "Recent" for nothing
    assertEquals((await logLines(page)).filter((line) => line === "bob: while away").length, 1);

    // A page asked for with /history is shown whole, seen or not; then there is no more.
    await type(chat, "/history");
    const earlier = await third.expectLine("/history");
    third.send({
      type: "history",
      room: "lobby",
      earlier: true,
      entries: [entry("0", "bob", "oldest", 0), entry("1", "bob", "old one", 1)],
      ref: earlier.ref,
    });
    await seeLine(page, "bob: oldest");
    assertEquals((await logLines(page)).slice(-3), [
      "Earlier messages in lobby",
      "bob: oldest",
      "bob: old one",
    ]);
    await type(chat, "/history");
    const none = await third.expectLine("/history");
    third.send({ type: "noEarlier", room: "lobby", ref: none.ref });
    assertEquals(await seeLine(page, "No earlier messages in lobby."), "line notice history-mark");
    assertEquals(chat.errors, []);
  },
);

browserTest(
  "JSON page: after a reconnect it goes back to its room, without the lobby's replay",
  async (browser) => {
    await using stand = new JsonStandIn();
    const { chat, socket } = await playIn(browser, stand, "ann");
    const { page } = chat;
    await type(chat, "/join dev");
    // A server without `join`: the page moves with `/join`, as before.
    const asked = await socket.expect("join");
    socket.send({ type: "error", code: "unknownType", got: "join", ref: asked.ref });
    const join = await socket.expectLine("/join dev");
    socket.send({
      type: "entered",
      room: "dev",
      others: ["carol"],
      count: 1,
      topic: "ship it",
      ref: join.ref,
    }, {
      type: "history",
      room: "dev",
      earlier: false,
      ref: join.ref,
      entries: [{
        id: "d1",
        type: "action",
        from: "carol",
        text: "deploys",
        time: "2026-12-05T09:00:00Z",
      }],
    });
    await untilText(page, "#room", "dev");
    await untilText(page, "#topic", "ship it");
    assertEquals(
      await seeLine(page, "You are now in dev. Also here: carol."),
      "line notice room-change",
    );
    await seeLine(page, "* carol deploys");
    await answerSidePanel(socket, "dev", ["ann", "carol"]);

    await socket.close();
    const again = await stand.socket();
    again.send({ type: "greeting", maxLine: 4096 });
    const hello = await again.expect("hello");
    assertEquals(hello.since, undefined, "dev's ids mean nothing in the lobby");
    again.send({
      type: "welcome",
      name: "ann",
      room: "lobby",
      others: [],
      count: 0,
      topic: "",
      ref: hello.ref,
    }, {
      type: "history",
      room: "lobby",
      earlier: false,
      entries: [{
        id: "l1",
        type: "message",
        from: "bob",
        text: "lobby talk",
        time: "2026-12-05T09:00:00Z",
      }],
    });
    const back = await again.expectLine("/join dev");
    again.send({
      type: "entered",
      room: "dev",
      others: ["carol"],
      count: 1,
      topic: "ship it",
      ref: back.ref,
    }, {
      type: "history",
      room: "dev",
      earlier: false,
      ref: back.ref,
      entries: [
        { id: "d1", type: "action", from: "carol", text: "deploys", time: "2026-12-05T09:00:00Z" },
        { id: "d2", type: "message", from: "carol", text: "done ✅", time: "2026-12-05T09:01:00Z" },
      ],
    });
    await seeLine(page, "carol: done ✅");
    await untilText(page, "#room", "dev");
    const lines = await logLines(page);
    assert(!lines.includes("bob: lobby talk"), "the lobby's replay is not shown");
    assertEquals(lines.filter((line) => line === "* carol deploys").length, 1);
    assertEquals(chat.errors, []);
  },
);

browserTest(
  "JSON page: a refused name is said by the form; no name in time waits for one",
  async (browser) => {
    await using stand = new JsonStandIn();
    const chat = await openPage(browser, stand.url);
    const socket = await stand.socket();
    socket.send({ type: "greeting", maxLine: 4096 });
    await giveName(chat, "bad name!");
    const bad = await socket.expect("hello");
    socket.send({
      type: "error",
      code: "badName",
      name: "bad name!",
      reason: "a name may not contain spaces",
      ref: bad.ref,
    }, { type: "prompt" });
    await untilText(chat.page, "#name-error", "a name may not contain spaces");
    assertEquals(await chat.page.evaluate(`document.querySelector("#name-view").hidden`), false);
    await giveName(chat, "Dora");
    const taken = await socket.expect("hello");
    socket.send({ type: "error", code: "nameTaken", name: "Dora", ref: taken.ref }, {
      type: "prompt",
    });
    await untilText(chat.page, "#name-error", "The name Dora is taken.");
    assertEquals((await logLines(chat.page)).length, 0, "nothing in the log");

    socket.send({ type: "error", code: "noNameInTime" });
    await socket.close();
    await untilText(chat.page, "#name-error", "No name was given in time.");
    await untilText(chat.page, "#status", "Disconnected; choosing a name connects again");
    await giveName(chat, "ann");
    const again = await stand.socket();
    again.send({ type: "greeting", maxLine: 4096 });
    assertEquals((await again.expect("hello")).name, "ann");
    assertEquals(chat.errors, []);
  },
);

browserTest(
  "page: a deleted message's line leaves the page (the deleted event, by its id)",
  async (browser) => {
    await using server = await startChat();
    const chat = await joinPage(browser, server, "ann");
    using carol = await LineClient.join(server, "carol");
    await carol.write("keep this\nregret this\n");
    await seeLine(chat.page, "carol: regret this");
    await carol.write("/delete\n");
    await until(
      chat.page,
      `![...document.querySelectorAll("#log .line .body")].some((e) => e.textContent === "carol: regret this")`,
      "the deleted line to go",
    );
    assert((await logLines(chat.page)).includes("carol: keep this"));
    assertEquals(chat.errors, []);
  },
);

browserTest(
  "web page: joins two rooms at once; each pane counts its unread lines and posts to its room",
  async (browser) => {
    await using server = await startChat();
    using carol = await LineClient.join(server, "carol");
    using dan = await LineClient.join(server, "dan");
    await carol.write("/join dev\n");
    await dan.write("/join ops\n");
    const ann = await joinPage(browser, server, "ann");
    await type(ann, "/join dev");
    await until(ann.page, `!!document.querySelector('.conv[data-key="#dev"]')`, "the dev pane");
    await type(ann, "/join ops");
    await until(ann.page, `!!document.querySelector('.conv[data-key="#ops"]')`, "the ops pane");
    // The room joined before stays listed: a join adds a room, it does not move.
    await until(
      ann.page,
      `[...document.querySelectorAll(".conv-room")].map((e) => e.dataset.key).join() === ` +
        `"#lobby,#dev,#ops"`,
      "three room panes",
    );
    await ann.page.click(`.conv[data-key="#lobby"]`);
    await untilText(ann.page, "#room", "lobby");
    await carol.write("hi from dev\n");
    await dan.write("hi from ops\n");
    await untilText(ann.page, `.conv[data-key="#dev"] .unread`, "1");
    await untilText(ann.page, `.conv[data-key="#ops"] .unread`, "1");

    // Each pane shows its room's lines and people, and a line typed there goes there.
    await ann.page.click(`.conv[data-key="#dev"]`);
    await seeLine(ann.page, "carol: hi from dev");
    assert(!(await logLines(ann.page)).includes("dan: hi from ops"), "not in dev's pane");
    await until(
      ann.page,
      `document.querySelector("#members").textContent === "ann (you)@carol"`,
      "dev's people (carol made it: its operator)",
    );
    await type(ann, "to dev");
    await expectLine(carol, "ann: to dev");
    await ann.page.click(`.conv[data-key="#ops"]`);
    await seeLine(ann.page, "dan: hi from ops");
    await until(
      ann.page,
      `document.querySelector("#members").textContent === "ann (you)@dan"`,
      "ops's people",
    );
    await type(ann, "to ops");
    await expectLine(dan, "ann: to ops");
    await ann.page.click(`.conv[data-key="#dev"]`);
    await type(ann, "again dev");
    await carol.until((got) => {
      assert(got !== "ann: to ops", "ops's line reached dev");
      return got === "ann: again dev";
    });

    // /part leaves the room of the pane: it goes from the list, the others stay.
    await ann.page.click(`.conv[data-key="#ops"]`);
    await type(ann, "/part");
    await until(ann.page, `!document.querySelector('.conv[data-key="#ops"]')`, "ops left");
    await expectLine(dan, "-- ann left");
    assert(await ann.page.$(`.conv[data-key="#dev"]`), "dev still listed");
    assertEquals(ann.errors, []);
  },
);
