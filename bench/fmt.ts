/**
 * Number formatting for the report: milliseconds, counts, fixed decimals and loss, a dash for
 * what was not measured.
 *
 * @module
 */

/** Milliseconds, with precision that suits the size. */
export function fmtMs(ms: number): string {
  if (!Number.isFinite(ms)) return "–";
  if (ms < 10) return `${ms.toFixed(2)} ms`;
  if (ms < 1000) return `${ms.toFixed(1)} ms`;
  return `${(ms / 1000).toFixed(2)} s`;
}

/** A whole number with thousands separators, or a dash. */
export function fmtInt(n: number): string {
  return Number.isFinite(n) ? Math.round(n).toLocaleString("en-US") : "–";
}

/** A number with `digits` decimals, or a dash. */
export function fmtNum(n: number, digits: number, unit = ""): string {
  return Number.isFinite(n) ? `${n.toFixed(digits)}${unit}` : "–";
}

/** Loss as a count and a share of what was expected. */
export function fmtLoss(r: { lost: number; expected: number }): string {
  if (r.expected === 0) return "–";
  if (r.lost === 0) return "0";
  return `${fmtInt(r.lost)} (${(100 * r.lost / r.expected).toPrecision(2)}%)`;
}
