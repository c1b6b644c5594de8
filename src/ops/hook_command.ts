/**
 * The operator's webhook command, on the server's own entry point (like `account`):
 *
 * ```sh
 * deno run -A server.ts hook create ROOM [NAME] --db FILE [--url https://chat.example.org]
 * deno run -A server.ts hook list --db FILE
 * deno run -A server.ts hook delete ID --db FILE
 * ```
 *
 * It opens the `--db` file as the server does, so it runs while the server is stopped;
 * the server loads the hooks at its next start. The token is printed once (to stdout,
 * as part of the URL) and only its SHA-256 is kept.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { checkName, checkRoomName, roomName } from "../core/protocol.ts";
import { Webhooks } from "../core/webhooks.ts";
import { openChatDatabase } from "../storage/database.ts";
import { SqliteWebhookStore } from "../storage/sqlite_webhooks.ts";

/** Where the command writes (tests replace it). */
export interface HookIo {
  out(line: string): void;
  err(line: string): void;
}

const USAGE = `USAGE:
  deno run -A server.ts hook create ROOM [NAME] --db FILE [--url BASE]
  deno run -A server.ts hook list --db FILE
  deno run -A server.ts hook delete ID --db FILE

BASE is how clients reach the web port (default http://127.0.0.1:1802); the URL, with
its secret token, is printed only now. The server must be stopped: it holds the --db
file while it runs (a room's operators use /hook while it runs).`;

/** Runs `server.ts hook ARGS`; returns the exit code (0 done, 1 failed, 2 bad usage). */
export function hookCommand(args: string[], io: HookIo): Promise<number> {
  return Promise.resolve(run(args, io));
}

function run(args: string[], io: HookIo): number {
  let values: { db?: string; url?: string; help?: boolean };
  let positionals: string[];
  const usage = (why: string) => {
    io.err(`server hook: ${why}`);
    io.err(USAGE);
    return 2;
  };
  try {
    ({ values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: {
        db: { type: "string" },
        url: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    }));
  } catch (error) {
    return usage((error as Error).message);
  }
  if (values.help) {
    io.out(USAGE);
    return 0;
  }
  const [action, first, second, ...extra] = positionals;
  if (action !== "create" && action !== "list" && action !== "delete") {
    return usage(`unknown action "${action ?? ""}"`);
  }
  if (action === "create" && first === undefined) return usage("create needs a ROOM");
  if (action === "delete" && first === undefined) return usage("delete needs an ID");
  const most = action === "create" ? 2 : action === "delete" ? 1 : 0;
  if ([first, second, ...extra].filter((word) => word !== undefined).length > most) {
    return usage("too many arguments");
  }
  if (values.db === undefined) {
    return usage("--db FILE is needed: without it hooks live in the server's memory");
  }
  if (action === "create") {
    const bad = checkRoomName(first) ?? (second === undefined ? null : checkName(second));
    if (bad) return usage(bad);
  }
  let db;
  try {
    db = openChatDatabase(values.db);
  } catch (error) {
    io.err(`server hook: ${(error as Error).message}`);
    return 1;
  }
  try {
    const hooks = new Webhooks(new SqliteWebhookStore(db));
    switch (action) {
      case "create": {
        const room = roomName(first);
        const made = hooks.create(room, second ?? "hook", "operator");
        if (made === null) {
          io.err(`server hook: ${room} has as many hooks as it may`);
          return 1;
        }
        const base = (values.url ?? "http://127.0.0.1:1802").replace(/\/$/, "");
        io.err(`made webhook ${made.hook.id} for ${room}; its URL (shown only now):`);
        io.out(`${base}/hooks/${made.token}`);
        return 0;
      }
      case "list": {
        const all = hooks.list();
        for (const { id, room, name, by, created } of all) {
          io.out(`${id}\t${room}\t${name}\tby ${by}\tsince ${new Date(created).toISOString()}`);
        }
        io.err(`${all.length} webhook${all.length === 1 ? "" : "s"}`);
        return 0;
      }
      case "delete":
        if (!hooks.remove(first)) {
          io.err(`server hook: there is no webhook ${first}`);
          return 1;
        }
        io.err(`deleted the webhook ${first}`);
        return 0;
    }
  } catch (error) {
    io.err(`server hook: ${(error as Error).message}`);
    return 1;
  } finally {
    db.close();
  }
}
