// @ts-check
/**
 * Colours of names in the page: the same function as the terminal client's
 * (`nameColor` in `src/core/protocol.ts`), so that a name has one colour in both.
 * The page cannot import the core's TypeScript, so this is a copy, and
 * `src/web/page_test.ts` checks that the two agree.
 *
 * @module
 */

/** Foreground colours for names, as ANSI codes; `app.css` has a class `.cNN` for each. */
export const NAME_COLORS = [32, 33, 34, 35, 36, 92, 93, 94, 95, 96];

/**
 * The colour code (one of {@linkcode NAME_COLORS}) for a name: the same name, in
 * any case, always gets the same colour.
 *
 * @param {string} name
 * @returns {number}
 */
export function nameColor(name) {
  // FNV-1a: cheap, and stable across runs and machines.
  let hash = 0x811c9dc5;
  for (const char of name.toLowerCase()) {
    hash ^= /** @type {number} */ (char.codePointAt(0));
    hash = Math.imul(hash, 0x01000193);
  }
  return NAME_COLORS[(hash >>> 0) % NAME_COLORS.length];
}
