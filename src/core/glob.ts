/**
 * IRC masks (`*` any run of characters, `?` one character) matched without
 * regular expressions: a mask comes from a user, and a regular expression made
 * of `*`s backtracks exponentially (`WHO ************#` froze the server for
 * seconds). {@linkcode matchGlob} takes at most (mask length + 1) × (subject
 * length + 1) steps, whatever the mask.
 *
 * It compares code units as given: callers fold both sides first, the same way
 * (nicks by `nameKey`, so a mask is as case- and lookalike-blind as names are).
 *
 * @module
 */

/** The longest mask matched, in UTF-16 code units; a longer one matches nothing. */
export const GLOB_MAX = 256;

const STAR = 0x2a; // *
const QUESTION = 0x3f; // ?

/** Counts the steps of a match (for tests: the bound holds for any mask). */
export interface GlobMeter {
  steps: number;
}

/** Whether `mask` has a wildcard (`*` or `?`). */
export function isGlob(mask: string): boolean {
  return mask.includes("*") || mask.includes("?");
}

/**
 * Whether `subject` matches `mask` whole. `?` takes one character (a surrogate
 * pair is one); a mask over {@linkcode GLOB_MAX} matches nothing.
 *
 * The classic greedy scan: at a mismatch, only the latest `*` is retried one
 * character further on. Retrying an earlier `*` could not help (the latest one
 * can absorb whatever it would), so no step is ever repeated for an earlier star
 * and the work stays within mask × subject.
 */
export function matchGlob(mask: string, subject: string, meter?: GlobMeter): boolean {
  if (mask.length > GLOB_MAX) return false;
  let m = 0;
  let s = 0;
  let starM = -1; // the mask position just after the latest `*`, or -1 before any
  let starS = 0; // where in the subject that `*`'s run ends for now
  let steps = 0;
  while (s < subject.length) {
    steps++;
    if (m < mask.length) {
      const code = mask.charCodeAt(m);
      if (code === STAR) {
        starM = ++m;
        starS = s;
        continue;
      }
      if (code === QUESTION) {
        m++;
        s += width(subject, s);
        continue;
      }
      if (code === subject.charCodeAt(s)) {
        m++;
        s++;
        continue;
      }
    }
    if (starM === -1) break;
    // The latest `*` takes one more character, and the rest of the mask is tried after it.
    starS += width(subject, starS);
    s = starS;
    m = starM;
  }
  if (meter) meter.steps += steps;
  if (s < subject.length) return false;
  while (m < mask.length && mask.charCodeAt(m) === STAR) m++;
  return m === mask.length;
}

/** Code units of the character at `at`: 2 for a surrogate pair, else 1. */
function width(text: string, at: number): number {
  const code = text.charCodeAt(at);
  if (code < 0xd800 || code > 0xdbff) return 1;
  const next = text.charCodeAt(at + 1);
  return next >= 0xdc00 && next <= 0xdfff ? 2 : 1;
}
