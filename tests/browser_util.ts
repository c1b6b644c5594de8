/**
 * What the Chromium tests share (`web_page_test.ts`, `web_client_test.ts`,
 * `web_e2e_test.ts`): finding `chromium` on the PATH, a test with a browser of its own,
 * and a server with its web port on.
 *
 * @module
 */

// A test-only package, named here rather than in deno.json: every package deno.json names is
// installed as soon as the project runs, and a lone server must download nothing.
// deno-lint-ignore no-import-prefix
import puppeteer, { type Browser } from "npm:puppeteer-core@25.16.0";
import { type ChatServer, type ServerOptions, startServer } from "../server.ts";
import { NO_LIMITS, sanitized } from "./test_util.ts";

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

/** The browser the tests drive, or `undefined` where there is none (they skip). */
export const CHROMIUM: string | undefined = findChromium();

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
export function browserTest(name: string, fn: (browser: Browser) => Promise<void>): void {
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

/** A server started with its web port on. */
export type WebServer = ChatServer & { readonly webAddr: Deno.NetAddr };

/** A server with its web page on a free port, everything that would slow a test off. */
export async function startChat(options: ServerOptions = {}): Promise<WebServer> {
  const server = await startServer({
    port: 0,
    web: 0,
    log: () => {},
    ...NO_LIMITS,
    noticeInterval: 0,
    joinGrace: 0,
    ...options,
  });
  return server as WebServer;
}
