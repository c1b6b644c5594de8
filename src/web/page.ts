/**
 * The web page that `server.ts` serves: the files under `src/web/page/` (HTML,
 * the script's modules, the style, the icon), imported as text so that
 * `deno run -N server.ts` and a compiled binary serve them without reading a
 * file at run time, from no CDN, with no build step.
 *
 * The script is plain JavaScript modules checked by `deno check` (`// @ts-check`
 * and JSDoc types); the browser loads `/app.js` as a module, which imports the
 * others by their paths here.
 *
 * @module
 */

import html from "./page/index.html" with { type: "text" };
import appJs from "./page/app.js" with { type: "text" };
import colorJs from "./page/color.js" with { type: "text" };
import wordingJs from "./page/wording.js" with { type: "text" };
import css from "./page/app.css" with { type: "text" };
import icon from "./page/icon.svg" with { type: "text" };

/** The page: a name form, then the room (messages, people, rooms, topic, input). */
export const PAGE_HTML: string = html;
/** The page's main script (a module). */
export const PAGE_JS: string = appJs;
/** The page's style: light and dark, a side panel that folds away on a phone. */
export const PAGE_CSS: string = css;
/** The page's icon, a speech bubble (served at `/favicon.svg` and `/favicon.ico`). */
export const FAVICON_SVG: string = icon;

const JS = "text/javascript; charset=utf-8";

/** Every file of the page by the path it is served at, with its media type. */
export const PAGE_FILES: ReadonlyMap<string, { text: string; type: string }> = new Map([
  ["/", { text: PAGE_HTML, type: "text/html; charset=utf-8" }],
  ["/app.js", { text: PAGE_JS, type: JS }],
  ["/color.js", { text: colorJs, type: JS }],
  ["/wording.js", { text: wordingJs, type: JS }],
  ["/app.css", { text: PAGE_CSS, type: "text/css; charset=utf-8" }],
  // One icon at both paths: browsers take SVG from `/favicon.ico` too.
  ["/favicon.svg", { text: FAVICON_SVG, type: "image/svg+xml" }],
  ["/favicon.ico", { text: FAVICON_SVG, type: "image/svg+xml" }],
]);
