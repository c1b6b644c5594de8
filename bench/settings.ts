/**
 * The run's settings (from the command line), shared by every module that starts servers or
 * plays clients, with the two helpers they all use: sleeping and progress lines.
 *
 * @module
 */

/** What the command line set for every run. */
export interface Settings {
  duration: number;
  /** Runs of each scenario and target; the table shows the one with the median p99. */
  repeat: number;
  /** Seconds of sending before the timed part, whose latencies are not recorded. */
  warmup: number;
  connectTimeoutMs: number;
  concurrency: number;
  size: number;
  profileDir?: string;
  goBin: string;
  /** --v8-flags for our server. */
  v8Flags?: string;
  /** The server.ts to run as "ours" (another copy, to try a change). */
  server: string;
  verbose: boolean;
  /**
   * Who plays the clients: "go" (the crowdgen subprocess), "deno" (node:net in this process),
   * or undefined: crowdgen for the scenarios in GO_SCENARIOS when it builds, node:net otherwise.
   */
  generator?: GeneratorKind;
  /** Where crowdgen is built. */
  crowdgenBin: string;
  /** Lines of history each joiner is replayed in the replay scenario (ours' --replay). */
  replay: number;
}

/** Who plays the clients: crowdgen (a Go subprocess) or node:net in this process. */
export type GeneratorKind = "go" | "deno";

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Prints a progress line on stderr when asked to. */
export function progress(settings: Settings, line: string): void {
  if (settings.verbose) console.error(line);
}
