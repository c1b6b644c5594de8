/**
 * Works around a Deno 2.9 panic at the open-file limit.
 *
 * Deno's TypeScript parser (swc) guards its recursion with the `stacker` crate,
 * which learns a thread's stack limit on its first call there, through
 * `pthread_getattr_np`; on the main thread that opens `/proc/self/maps`, and if
 * the open fails (EMFILE) stacker asserts and the process dies ("panicked at
 * stacker-0.1.15/src/lib.rs:416:13 ... left: 24"). The limit is then kept for
 * the thread's life. The server reaches that parser at EMFILE like this: a
 * refused connection's write fails, node's stream code reads the error's
 * `stack`, Deno source-maps its frames, and for a module it has not mapped yet
 * it reads the emitted code from its cache; when that read fails (EMFILE), it
 * parses the module again, on the main thread.
 *
 * @module
 */

import { stripTypeScriptTypes } from "node:module";

/**
 * Makes the main thread's first stacker call now, while descriptors are free: parsing an
 * `if` statement calls it. Call once at startup; a runtime without the parser loses nothing.
 */
export function primeStackLimit(): void {
  try {
    stripTypeScriptTypes("if (0) {}");
  } catch {
    // Not there (another runtime): then neither is the panic it prevents.
  }
}
