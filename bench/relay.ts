/**
 * The memory floor for `bench.ts`'s idle scenario: a `node:net` server in the same Deno as
 * `server.ts` that accepts connections, reads what they send and discards it, and does nothing
 * else (no greeting, no names, no fan-out). What it costs to hold N connections is what any
 * server in this runtime pays before its first line of chat state.
 *
 * ```sh
 * deno run -N bench/relay.ts --port 9000
 * ```
 *
 * @module
 */

import net from "node:net";
import { parseArgs } from "node:util";

const { values } = parseArgs({ args: Deno.args, options: { port: { type: "string" } } });
const host = "127.0.0.1";

const server = net.createServer((socket) => {
  socket.on("data", () => {});
  socket.on("error", () => {});
});
server.listen({ host, port: Number(values.port ?? 0), backlog: 4096 }, () => {
  const { port } = server.address() as net.AddressInfo;
  console.log(`listening on ${host}:${port}`);
});
Deno.addSignalListener("SIGTERM", () => Deno.exit(0));
