/**
 * Waiting with a deadline, as shutdown does for connections and the log.
 *
 * @module
 */

/** Settles when `promise` does or after `ms` milliseconds, whichever is first; clears its timer. */
export async function withTimeout(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([promise, new Promise((resolve) => timer = setTimeout(resolve, ms))]);
  clearTimeout(timer);
}
