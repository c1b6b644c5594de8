/**
 * The scenarios: how many clients, senders and messages per second each has, which of them
 * speak WebSocket or IRC, and which run on crowdgen by default. The mixed scenario puts 100 TCP
 * and 100 WebSocket clients in one room (every second client, so 5 of the 10 senders on each),
 * and counts each transport's receivers apart; idle-ws holds 1,000 WebSocket clients, then
 * 1,000 TCP ones in a second row, for their peak RSS side by side. json-ws is mixed with WebSocket
 * clients that speak the subprotocol chat.v1.json (JSON objects) instead of text lines; it is
 * skipped, with a note, on a server that does not agree to that subprotocol.
 *
 * @module
 */

/** A scenario: its clients, senders and rate, and what is special about it. */
export interface Scenario {
  name: string;
  title: string;
  clients: number;
  senders: number;
  /** Messages per second per sender. */
  rate: number;
  /** One more client, in the room, that never reads. */
  slowReader?: boolean;
  /** No messages: only connect and measure memory. */
  idle?: boolean;
  /**
   * The replay scenario: one client sends this many lines into the room (history) while a
   * witness checks they were relayed; then `clients` join at once, each replayed the room's
   * last lines, while the sender goes on at `rate` until all are in.
   */
  fill?: number;
  /**
   * Clients (of `clients`) that connect over our WebSocket (`/ws` on the `--web` port)
   * instead of TCP, spread evenly among them, so among the senders too (see wsAmong()).
   * Played by crowdgen only; run on targets with `web` only.
   */
  ws?: number;
  /** The WebSocket clients speak the subprotocol chat.v1.json (JSON objects), not lines. */
  wsJson?: boolean;
  /**
   * Clients (of `clients`) that are IRC clients of ours' IRC listener (`--irc`), spread as the
   * WebSocket ones are. Played by crowdgen only; run on ours only.
   */
  irc?: number;
  /** Runs again with every client on TCP, as a second row of the same table (idle-ws). */
  tcpRow?: boolean;
}

/** Every scenario, in the order `--scenario all` runs them. */
export const SCENARIOS: Scenario[] = [
  { name: "room", title: "room", clients: 100, senders: 10, rate: 100 },
  { name: "saturation-1600", title: "saturation", clients: 100, senders: 10, rate: 1600 },
  { name: "saturation-3200", title: "saturation", clients: 100, senders: 10, rate: 3200 },
  {
    name: "slow",
    title: "slow reader",
    clients: 100,
    senders: 10,
    rate: 1600,
    slowReader: true,
  },
  { name: "crowd", title: "crowd", clients: 5000, senders: 1, rate: 10 },
  { name: "idle", title: "idle", clients: 10000, senders: 0, rate: 0, idle: true },
  { name: "replay", title: "replay", clients: 1000, senders: 1, rate: 20, fill: 1000 },
  { name: "mixed", title: "mixed", clients: 200, senders: 10, rate: 100, ws: 100 },
  {
    name: "json-ws",
    title: "JSON WebSocket",
    clients: 200,
    senders: 10,
    rate: 100,
    ws: 100,
    wsJson: true,
  },
  { name: "mixed-irc", title: "mixed IRC", clients: 200, senders: 10, rate: 100, irc: 100 },
  {
    name: "idle-ws",
    title: "idle WebSocket",
    clients: 1000,
    senders: 0,
    rate: 0,
    idle: true,
    ws: 1000,
    tcpRow: true,
  },
];

/**
 * How many of the first `m` of `n` clients speak WebSocket when `k` of them do (the senders are
 * the first ones): by crowdgen's rule (isWS in bench/crowdgen/ws.go), client i does if
 * ⌊(i+1)k/n⌋ > ⌊ik/n⌋, so with k = n/2 every second one, and ⌊mk/n⌋ of the first m.
 */
export function wsAmong(m: number, k: number, n: number): number {
  return Math.floor(m * k / Math.max(n, 1));
}

/** Messages the replay scenario's sender sends during the join even if it ends sooner. */
export const REPLAY_MIN_MESSAGES = 3;

/** Names `--scenario` expands into several scenarios. */
export const GROUPS: Record<string, string[]> = {
  quick: ["room", "saturation-1600"],
  saturation: ["saturation-1600", "saturation-3200"],
  all: SCENARIOS.map((s) => s.name),
};

/**
 * Scenarios that run on crowdgen unless --generator says otherwise: with thousands of clients,
 * node:net in this process costs about 65 µs of CPU per connect and takes a fan-out's worth
 * of reads (its "read round") about as long as the latency it measures.
 */
export const GO_SCENARIOS = new Set([
  "crowd",
  "idle",
  "replay",
  "mixed",
  "json-ws",
  "mixed-irc",
  "idle-ws",
]);
