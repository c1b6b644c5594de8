/**
 * Metrics as typed counters and gauges with labels, bumped where what they count
 * happens (a transport accepting a connection, the hub posting a message) and
 * rendered for `/metrics` in the Prometheus text format (version 0.0.4).
 *
 * A labelled series is looked up once by its label values and kept, or looked up
 * by a map read on each bump: counting allocates nothing.
 *
 * @module
 */

/** Whether a metric only goes up (`counter`) or is a level read at a moment (`gauge`). */
export type MetricType = "counter" | "gauge";

/** One series of a metric (one set of label values): a number, or a reader of one. */
export class Series {
  #value = 0;
  #read: (() => number) | null = null;

  /** Adds `by` (1 unless given). */
  inc(by = 1): void {
    this.#value += by;
  }

  /** Sets the value (a gauge's). */
  set(value: number): void {
    this.#value = value;
  }

  /** Reads the value from `read` whenever it is rendered (a gauge kept elsewhere). */
  readFrom(read: () => number): void {
    this.#read = read;
  }

  /** The value now. */
  get value(): number {
    return this.#read === null ? this.#value : this.#read();
  }
}

/** A metric: a name, a type, a help text, label names, and a series per label values. */
export class Metric {
  /** Series by their label values, joined with a NUL (no label value holds one). */
  readonly #series = new Map<string, { values: readonly string[]; series: Series }>();

  /** A metric with up to two labels (`labels`: their names). */
  constructor(
    readonly name: string,
    readonly type: MetricType,
    readonly help: string,
    readonly labels: readonly string[] = [],
  ) {
    if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`not a metric name: ${name}`);
    if (labels.length > 2) throw new Error(`${name}: at most two labels`);
  }

  /**
   * The series with these label values (one per label, in order), made at 0 the
   * first time: keep it where counting happens, or call this per bump (no allocation
   * for one label).
   */
  with(first?: string, second?: string): Series {
    const key = second === undefined ? first ?? "" : `${first}\0${second}`;
    const found = this.#series.get(key);
    if (found !== undefined) return found.series;
    const values = [first, second].filter((value) => value !== undefined);
    if (values.length !== this.labels.length) {
      throw new Error(`${this.name} has labels ${this.labels.join(", ") || "none"}`);
    }
    const series = new Series();
    this.#series.set(key, { values, series });
    return series;
  }

  /** The sum over every series whose labels include `match` (all of them by default). */
  total(match: Record<string, string> = {}): number {
    let sum = 0;
    for (const { values, series } of this.#series.values()) {
      const matches = Object.entries(match).every(([label, value]) =>
        values[this.labels.indexOf(label)] === value
      );
      if (matches) sum += series.value;
    }
    return sum;
  }

  /** The metric in the Prometheus text format: HELP, TYPE, then one line per series. */
  render(): string {
    let text = `# HELP ${this.name} ${this.help}\n# TYPE ${this.name} ${this.type}\n`;
    for (const { values, series } of this.#series.values()) {
      text += `${this.name}${labelText(this.labels, values)} ${series.value}\n`;
    }
    return text;
  }
}

/** `{name="value",…}` for a series, or nothing if it has no labels. */
function labelText(names: readonly string[], values: readonly string[]): string {
  if (names.length === 0) return "";
  const pairs = names.map((name, i) => `${name}="${escapeLabel(values[i])}"`);
  return `{${pairs.join(",")}}`;
}

/** A label value as the text format writes it: `\`, `"` and newlines escaped. */
export function escapeLabel(value: string): string {
  return value.replace(/[\\"\n]/g, (char) => char === "\n" ? "\\n" : `\\${char}`);
}

/** Metrics rendered together, in the order they were made. */
export class Registry {
  readonly #metrics = new Map<string, Metric>();

  /** A new counter; `labels` names its labels. */
  counter(name: string, help: string, ...labels: string[]): Metric {
    return this.#add(new Metric(name, "counter", help, labels));
  }

  /** A new gauge; `labels` names its labels. */
  gauge(name: string, help: string, ...labels: string[]): Metric {
    return this.#add(new Metric(name, "gauge", help, labels));
  }

  #add(metric: Metric): Metric {
    if (this.#metrics.has(metric.name)) throw new Error(`${metric.name} is there already`);
    this.#metrics.set(metric.name, metric);
    return metric;
  }

  /** Every metric in the Prometheus text format. */
  render(): string {
    let text = "";
    for (const metric of this.#metrics.values()) text += metric.render();
    return text;
  }
}

/** A metric read at the moment it is rendered, in the text format (`value`: one, or by labels). */
export function renderReading(
  name: string,
  type: MetricType,
  help: string,
  value: number | [Record<string, string>, number][],
): string {
  let text = `# HELP ${name} ${help}\n# TYPE ${name} ${type}\n`;
  if (typeof value === "number") return text + `${name} ${value}\n`;
  for (const [labels, count] of value) {
    text += `${name}${labelText(Object.keys(labels), Object.values(labels))} ${count}\n`;
  }
  return text;
}

/** Why a client was dropped, as `chat_clients_dropped_total` labels it. */
export type DropReason =
  | "too_slow"
  | "too_fast"
  | "long_lines"
  | "name_timeout"
  | "reset"
  | "timed_out"
  | "failed"
  | "internal_error";

/** Why a connection was refused at the door, as `chat_connections_refused_total` labels it. */
export type RefusalReason =
  | "server_full"
  | "per_address"
  | "connect_rate"
  | "origin"
  | "tls_handshake";

const DROP_REASONS: readonly DropReason[] = [
  "too_slow",
  "too_fast",
  "long_lines",
  "name_timeout",
  "reset",
  "timed_out",
  "failed",
  "internal_error",
];

const REFUSAL_REASONS: readonly RefusalReason[] = [
  "server_full",
  "per_address",
  "connect_rate",
  "origin",
  "tls_handshake",
];

/**
 * The chat server's own metrics, each bumped where it happens. Most carry a
 * `listener` label: `tcp` or `tls` (the chat port), `irc` or `ircs`, `web` (HTTP
 * on `--web`) and `ws` (its WebSocket clients).
 */
export class ChatMetrics extends Registry {
  /** Open connections by listener (each listener reads its own count). */
  readonly connections = this.gauge(
    "chat_connections",
    "Open client connections, named or not, by listener.",
    "listener",
  );
  /** Connections let in at the door. */
  readonly accepted = this.counter(
    "chat_connections_accepted_total",
    "Connections let in at the door, by listener.",
    "listener",
  );
  /** Connections refused at the door (or at the WebSocket upgrade), by reason. */
  readonly refused = this.counter(
    "chat_connections_refused_total",
    "Connections refused at the door, by listener and reason.",
    "listener",
    "reason",
  );
  /** Clients that left other than by their own choice. */
  readonly dropped = this.counter(
    "chat_clients_dropped_total",
    "Clients that left other than by their own choice, by listener and reason.",
    "listener",
    "reason",
  );
  /** Names accepted. */
  readonly joins = this.counter(
    "chat_joins_total",
    "Names accepted (joins), by listener.",
    "listener",
  );
  /** Moderation actions taken (kicks, bans, mode changes …), by action. */
  readonly moderation = this.counter(
    "chat_moderation_total",
    "Moderation actions taken, by action (op, kick, ban, mode …).",
    "action",
  );
  /** Moderation refusals (not an operator, banned, moderated …), by code. */
  readonly moderationRefused = this.counter(
    "chat_moderation_refused_total",
    "Refusals by room rules and roles, by code.",
    "code",
  );
  /** Webhook requests (`POST /hooks/TOKEN`), by how they were answered. */
  readonly webhooks = this.counter(
    "chat_webhook_requests_total",
    "Webhook requests, by result (posted, limited, bad, unknown, method).",
    "result",
  );
  /** Chat messages posted (not counted per recipient). */
  readonly messages = this.counter(
    "chat_messages_total",
    "Messages, actions and private messages posted, each counted once, by listener.",
    "listener",
  );
  /** Lines refused for being over `--max-line`. */
  readonly linesTooLong = this.counter(
    "chat_lines_too_long_total",
    "Lines refused for being over --max-line, by listener.",
    "listener",
  );

  /**
   * Makes the series of `listener` (at 0, so that they are there before anything
   * happens), its open connections read from `open`.
   */
  listen(listener: string, open: () => number): void {
    this.connections.with(listener).readFrom(open);
    this.accepted.with(listener);
    this.joins.with(listener);
    this.messages.with(listener);
    this.linesTooLong.with(listener);
    for (const reason of DROP_REASONS) this.dropped.with(listener, reason);
    for (const reason of REFUSAL_REASONS) this.refused.with(listener, reason);
  }
}

/** A refusal's code (see `src/core/admission.ts`) as `chat_connections_refused_total` labels it. */
export const REFUSAL_LABELS: Record<string, RefusalReason> = {
  serverFull: "server_full",
  tooManyFromAddress: "per_address",
  connectingTooFast: "connect_rate",
  origin: "origin",
};

/** The listener label of sessions that came by no listener (a test's in-memory connection). */
export const NO_LISTENER = "none";
