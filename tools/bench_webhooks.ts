/**
 * Measures incoming webhooks on a real server (in this process, on free ports): how many
 * posts per second the server takes through `POST /hooks/TOKEN` from many hooks at once
 * (each within its own rate), what one costs the server in CPU, and what one hook
 * hammered gets through its rate limit.
 *
 * ```sh
 * deno run -A tools/bench_webhooks.ts [HOOKS] [POSTS_PER_HOOK]
 * ```
 *
 * @module
 */

import process from "node:process";
import { startServer } from "../server.ts";
import { LineClient, NO_LIMITS } from "../tests/test_util.ts";

const hooks = Number(Deno.args[0] ?? 200);
const perHook = Number(Deno.args[1] ?? 10); // within the burst: no 429
const server = await startServer({
  port: 0,
  web: 0,
  log: () => {},
  ...NO_LIMITS,
  webHeaderTimeout: 60_000,
});
const base = `http://127.0.0.1:${server.webAddr!.port}`;
// A member in each room the hooks post to (20 hooks a room, the bound), reading everything.
const rooms = Math.ceil(hooks / 20);
const readers = await Promise.all(Array.from({ length: rooms }, async (_, r) => {
  const reader = await LineClient.join(server, `reader${r}`);
  await reader.write(`/join r${r}\n`);
  await reader.until((line) => line.startsWith("-- You are now in"));
  return reader;
}));
const tokens = Array.from({ length: hooks }, (_, i) => {
  return server.hub.webhooks.create(`r${i % rooms}`, `ci${i}`, "bench")!.token;
});

async function postAll(): Promise<number> {
  let ok = 0;
  const one = async (token: string) => {
    for (let i = 0; i < perHook; i++) {
      const response = await fetch(`${base}/hooks/${token}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ text: `build ${i} passed`, username: "ci" }),
      });
      await response.body?.cancel();
      if (response.status === 200) ok++;
    }
  };
  // 16 clients at a time (keep-alive connections), as CI runners posting at once.
  const queue = [...tokens];
  await Promise.all(Array.from({ length: 16 }, async () => {
    for (let token; (token = queue.shift()) !== undefined;) await one(token);
  }));
  return ok;
}

const cpu0 = process.cpuUsage();
const t0 = performance.now();
const ok = await postAll();
const ms = performance.now() - t0;
const cpu = process.cpuUsage(cpu0);
const cpuMs = (cpu.user + cpu.system) / 1000;
console.log(
  `${ok} posts accepted of ${hooks * perHook} in ${ms.toFixed(0)} ms: ` +
    `${(ok / ms * 1000).toFixed(0)} posts/s; process CPU (server and the 16 fetch clients) ` +
    `${(cpuMs / ok * 1000).toFixed(0)} µs a post`,
);
// What the readers were sent is read (a member that does not read is dropped, not waited for).
await Promise.all(readers.map((reader, r) => {
  let left = tokens.filter((_, i) => i % rooms === r).length * perHook;
  return reader.until((line) => line.includes(" [bot]: build ") && --left === 0);
}));

// One hook hammered for 3 s: its burst, then one a second.
const token = server.hub.webhooks.create("hammered", "hammer", "bench")!.token;
const start = performance.now();
let accepted = 0, limited = 0;
while (performance.now() - start < 3_000) {
  const response = await fetch(`${base}/hooks/${token}`, {
    method: "POST",
    body: JSON.stringify({ text: "x" }),
  });
  await response.body?.cancel();
  if (response.status === 200) accepted++;
  else if (response.status === 429) limited++;
}
console.log(`one hook hammered for 3 s: ${accepted} accepted, ${limited} answered 429`);
for (const reader of readers) reader.close();
await server.close();
Deno.exit(0);
