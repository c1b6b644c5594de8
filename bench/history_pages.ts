/**
 * Replays a 10,000-line room page by page through the JSON protocol's `history` request
 * (`limit` 100, `before` the oldest id seen), as the page does when scrolled to the top:
 * the bytes the server sends against the bytes of the lines (as the text protocol writes
 * them, `NAME: TEXT\n`), and the time per page. Pages refused by the history rating
 * (`historyTooFast`) are waited out and counted.
 *
 *     deno run -A bench/history_pages.ts [LINES]
 *
 * @module
 */

import { startServer } from "../server.ts";

const LINES = Number(Deno.args[0] ?? 10_000);
const encoder = new TextEncoder();
await using server = await startServer({
  port: 0,
  web: 0,
  history: LINES,
  rate: 0,
  maxPerAddress: 0,
  connectRate: 0,
  replay: 0,
  log: () => {},
});
// The room's lines: as people write, 20 to 120 characters, a few non-ASCII.
let lineBytes = 0;
/** The same lines as the text protocol's `/history` sends them: `[TIME] NAME: TEXT\n`. */
let textHistoryBytes = 0;
const words = [
  "deploy",
  "friday",
  "ok",
  "👍",
  "the build",
  "is green",
  "café",
  "review",
  "ship it",
];
for (let i = 0; i < LINES; i++) {
  let text = `${i}`;
  while (text.length < 20 + (i * 37) % 100) {
    text += " " + words[(i * 7 + text.length) % words.length];
  }
  const from = `user${i % 13}`;
  const time = Date.now();
  server.hub.post({ kind: "message", from, room: "lobby", text, time }, null);
  lineBytes += encoder.encode(`${from}: ${text}\n`).length;
  const stamp = new Date(time).toISOString().slice(0, 19) + "Z";
  textHistoryBytes += encoder.encode(`[${stamp}] ${from}: ${text}\n`).length;
}

const socket = new WebSocket(`ws://127.0.0.1:${server.webAddr!.port}/ws`, "chat.v1.json");
const inbox: { data: string; at: number }[] = [];
let wake: (() => void) | null = null;
socket.onmessage = (event) => {
  inbox.push({ data: event.data, at: performance.now() });
  wake?.();
};
await new Promise((resolve) => socket.onopen = resolve);
async function next(): Promise<{ data: string; at: number }> {
  while (inbox.length === 0) await new Promise<void>((resolve) => wake = resolve);
  return inbox.shift()!;
}
await next(); // greeting
socket.send(JSON.stringify({ type: "hello", name: "reader" }));
while (JSON.parse((await next()).data).type !== "welcome");

let before: string | undefined;
let sent = 0;
let pages = 0;
let entries = 0;
let refused = 0;
const times: number[] = [];
const started = performance.now();
while (true) {
  const asked = performance.now();
  socket.send(JSON.stringify({ type: "history", room: "lobby", before, limit: 100 }));
  const reply = await next();
  const event = JSON.parse(reply.data);
  if (event.type === "error" && event.code === "historyTooFast") {
    refused++;
    await new Promise((resolve) => setTimeout(resolve, event.seconds * 1000));
    continue;
  }
  if (event.type !== "history") throw new Error(`unexpected ${reply.data.slice(0, 200)}`);
  times.push(reply.at - asked);
  sent += encoder.encode(reply.data).length;
  pages++;
  entries += event.entries.length;
  before = event.entries[0]?.id;
  if (!event.more) break;
}
const total = performance.now() - started;
socket.close();
await new Promise((resolve) => setTimeout(resolve, 50));
times.sort((a, b) => a - b);
console.log(JSON.stringify({
  lines: LINES,
  entries,
  pages,
  lineBytes,
  sentBytes: sent,
  ratio: Number((sent / lineBytes).toFixed(2)),
  textHistoryBytes,
  ratioToTextHistory: Number((sent / textHistoryBytes).toFixed(2)),
  pageMs: {
    median: Number(times[times.length >> 1].toFixed(2)),
    p99: Number(times[Math.floor(times.length * 0.99)].toFixed(2)),
    max: Number(times[times.length - 1].toFixed(2)),
  },
  refusedByRating: refused,
  totalSeconds: Number((total / 1000).toFixed(1)),
}));
