/**
 * The operator's log: lines are written asynchronously through a bounded
 * queue, so a stdout that nobody reads never stalls the chat (lines are then
 * dropped and counted), and events that repeat (refusals, timeouts) are
 * summed up instead of logged one line each.
 *
 * @module
 */

const encoder = new TextEncoder();

/** A log that never blocks its caller: lines wait in a bounded queue for one write at a time. */
export class AsyncLog {
  #pending: string[] = [];
  #writing: Promise<void> | null = null;
  #dropped = 0;

  /** Makes a log writing with `write`; at most `maxPending` lines wait, the rest are dropped. */
  constructor(
    readonly write: (bytes: Uint8Array) => Promise<unknown>,
    readonly maxPending = 10_000,
  ) {}

  /** Queues one line (without its newline). */
  line(text: string): void {
    if (this.#pending.length >= this.maxPending) {
      this.#dropped++;
      return;
    }
    this.#pending.push(text);
    this.#writing ??= this.#writeAll();
  }

  /** Settles once everything queued is written. */
  async flush(): Promise<void> {
    while (this.#writing) await this.#writing;
  }

  async #writeAll(): Promise<void> {
    try {
      while (this.#pending.length > 0 || this.#dropped > 0) {
        if (this.#dropped > 0) {
          this.#pending.push(
            `-- ${this.#dropped} log lines dropped (the log's reader fell behind)`,
          );
          this.#dropped = 0;
        }
        const text = this.#pending.join("\n") + "\n";
        this.#pending = [];
        await this.write(encoder.encode(text));
      }
    } catch {
      // stdout is gone: nothing more can be logged, and chatting goes on
      this.#pending = [];
    } finally {
      this.#writing = null;
    }
  }
}

/** One thing worth telling the operator; what it is about, in fields for `--log-format json`. */
export interface LogEvent {
  event:
    | "listening"
    | "join"
    | "attach"
    | "detach"
    | "leave"
    | "rename"
    | "move"
    | "part"
    | "message"
    | "action"
    | "refused"
    | "name-refused"
    | "name-timeout"
    | "line-too-long"
    | "long-lines"
    | "tls-failed"
    | "shed"
    | "accept-failed"
    | "internal-error"
    | "name-lost"
    | "cluster"
    | "shutdown"
    | "summary"
    | "account"
    | "accounts"
    | "login-failed"
    | "login-throttled"
    | "register-throttled"
    | "login-busy"
    | "moderation";
  name?: string;
  /** Whom a moderation action was done to (a name, a mask, modes). */
  target?: string;
  /** The name before a rename. */
  old?: string;
  room?: string;
  /** The client's address as `host:port` (`[v6]:port`). */
  address?: string;
  reason?: string;
  /** A refusal's stable code (`Refusal` in admission.ts, or `origin`): what `/metrics` counts by. */
  code?: string;
  /** A message's text, an error's stack, a summary's counts. */
  text?: string;
  count?: number;
}

/** How the log is written: a line of text, or one JSON object per line for log shippers. */
export type LogFormat = "text" | "json";

/** `host:port`, with an IPv6 host in brackets. */
export function hostPort(host: string | undefined, port: number | undefined): string {
  return host?.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

/** The host of a `host:port` made by {@linkcode hostPort} (brackets taken off). */
export function hostOf(remote: string): string {
  const colon = remote.lastIndexOf(":");
  if (colon === -1) return remote;
  const host = remote.slice(0, colon);
  return host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
}

/** An event as a line of text, without the time. */
export function formatText(e: LogEvent): string {
  const from = e.address ? ` from ${e.address}` : "";
  const why = e.reason ? ` (${e.reason})` : "";
  switch (e.event) {
    case "listening":
      return `listening on ${e.address}${e.text ? ` (${e.text})` : ""}`;
    case "join":
      return `+ ${e.name} joined${from}`;
    case "attach":
      return `+ ${e.name}: one more connection${from} (${e.count} now)`;
    case "detach":
      return `- ${e.name}: one connection fewer${from} (${e.count} now)`;
    case "leave":
      return `- ${e.name} left${from}${why}`;
    case "rename":
      return `~ ${e.old} is now ${e.name}`;
    case "move":
      return `> ${e.name} went to ${e.room}`;
    case "part":
      return `< ${e.name} left ${e.room}`;
    case "message":
      return `${e.room}: ${e.name}: ${e.text}`;
    case "action":
      return `${e.room}: * ${e.name} ${e.text}`;
    case "refused":
      return `refused a connection${from}${why}`;
    case "name-refused":
      return `refused a name${from}${why}`;
    case "name-timeout":
      return `no name given in time${from}`;
    case "line-too-long":
      return `refused a line over the limit${from}${e.name ? ` (${e.name})` : ""}`;
    case "long-lines":
      return `dropped a client for too many over-long lines${from}${e.name ? ` (${e.name})` : ""}`;
    case "tls-failed":
      return `TLS handshake failed${from}${why}`;
    case "shed":
      return `output budget reached: dropped the ${e.count} largest backlogs (${e.text})`;
    case "accept-failed":
      return `accept failed${why}`;
    case "internal-error":
      return `internal error: ${e.text}`;
    case "name-lost":
      return `- ${e.name}${from} lost its name: taken elsewhere in the cluster during an outage`;
    case "cluster":
      return `cluster: ${e.text}${why}`;
    case "shutdown":
      return `shutting down with ${e.count} connected`;
    case "summary":
      return `in the last ${e.reason}, also: ${e.text}`;
    case "account":
      return `account ${e.name}: ${e.reason}${from}`;
    case "accounts":
      return `accounts: ${e.text}`;
    case "moderation":
      return `${e.name} ${e.text} ${e.target ?? ""} in ${e.room}${why}`;
    case "login-failed":
      return `wrong password${e.name ? ` for ${e.name}` : ""}${from}`;
    case "login-throttled":
      return `login refused, too many failures${e.name ? `: ${e.name}` : ""}${from}`;
    case "register-throttled":
      return `account not made, too many from one address lately${from}`;
    case "login-busy":
      return `login refused, too many at once${from}`;
  }
}

/** The operator's log: events now, or summed up when they repeat; as text or JSON lines. */
export class ServerLog {
  #counts = new Map<string, { event: LogEvent; count: number }>();
  #timer: ReturnType<typeof setTimeout> | undefined;

  /**
   * Makes a log writing each line to `sink` (text without a time: the sink adds
   * it; JSON with a `time` field), summing repeats up every `interval` ms.
   */
  constructor(
    readonly sink: (line: string) => void,
    readonly format: LogFormat = "text",
    readonly interval = 10_000,
  ) {}

  /** Logs an event now. */
  event(e: LogEvent): void {
    this.sink(
      this.format === "json"
        ? JSON.stringify({ time: new Date().toISOString(), ...e })
        : formatText(e),
    );
  }

  /**
   * Logs an event that may repeat (refusals, timeouts): the first of a quiet
   * interval now, the others counted by kind and reason and logged as one summary.
   */
  repeated(e: LogEvent): void {
    if (this.#timer === undefined) {
      this.event(e);
      this.#timer = setTimeout(() => this.#summarize(), this.interval);
      return;
    }
    const key = `${e.event} ${e.reason ?? ""}`;
    const counted = this.#counts.get(key);
    if (counted) counted.count++;
    else this.#counts.set(key, { event: e, count: 1 });
  }

  /** Logs what is counted and stops the timer. */
  close(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#report();
  }

  #summarize(): void {
    this.#timer = undefined;
    if (this.#report()) this.#timer = setTimeout(() => this.#summarize(), this.interval);
  }

  /** Logs one summary if anything was counted; says whether it did. */
  #report(): boolean {
    if (this.#counts.size === 0) return false;
    const parts = [...this.#counts.values()].map(({ event, count }) =>
      `${count} × ${formatText({ ...event, address: undefined, name: undefined })}`
    );
    this.#counts.clear();
    this.event({ event: "summary", reason: `${this.interval / 1000} s`, text: parts.join("; ") });
    return true;
  }
}
