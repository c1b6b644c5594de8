/**
 * Real IRC clients end to end: WeeChat (headless, driven through its FIFO) and
 * irssi (in a tmux session, driven by keystrokes) talk with an `nc`-style user
 * of the same server: messages both ways (Chinese included), `/me`, `/nick`,
 * `/topic`, `/who`, joins and quits. What a client received is read from its
 * own log files. Each test is skipped, saying so, when its client is missing
 * (`.ci/run` installs both).
 *
 * @module
 */

import { ok as assert } from "node:assert/strict";
import { LineClient, type Listening, quietServer, sanitized } from "./test_util.ts";

/** Whether `command` is on the PATH. */
function installed(command: string): boolean {
  try {
    return new Deno.Command("sh", { args: ["-c", `command -v ${command}`], stdout: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
}

const HAVE_WEECHAT = installed("weechat-headless");
const HAVE_IRSSI = installed("irssi") && installed("tmux");
if (!HAVE_WEECHAT) console.warn("irc_clients_test: weechat-headless is not installed; skipped");
if (!HAVE_IRSSI) console.warn("irc_clients_test: irssi or tmux is not installed; skipped");

/** How long a client may take to show what it was sent. */
const CLIENT_WAIT = 15_000;

/** Waits until the text of the files in `dir` (a client's logs) contains `text`. */
async function logged(dir: string, text: string): Promise<void> {
  const deadline = Date.now() + CLIENT_WAIT;
  let seen = "";
  while (Date.now() < deadline) {
    seen = "";
    try {
      for await (const entry of Deno.readDir(dir)) {
        if (entry.isFile) seen += await Deno.readTextFile(`${dir}/${entry.name}`);
      }
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
    if (seen.includes(text)) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`the client's logs never showed ${JSON.stringify(text)}:\n${seen}`);
}

/** A temporary directory, removed at the end of the scope. */
async function tempDir(prefix: string): Promise<{ path: string } & AsyncDisposable> {
  const path = await Deno.makeTempDir({ prefix });
  return { path, [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }) };
}

/**
 * The conversation both clients have with `nc`: `send` makes the IRC client do
 * something (a line of text, or a /command), `logs` is where it logs what it sees.
 */
async function converse(
  server: Listening,
  nc: LineClient,
  send: (input: string) => Promise<void>,
  logs: string,
  nick: string,
): Promise<void> {
  await send("你好，鲍勃！");
  await nc.until((line) => line === `${nick}: 你好，鲍勃！`);
  await send("/me 挥手");
  await nc.until((line) => line === `* ${nick} 挥手`);
  await nc.write("你好，IRC 朋友\n");
  await logged(logs, "你好，IRC 朋友");
  await nc.write("/me 笑了\n");
  await logged(logs, "笑了");
  await send("/topic 今天的话题");
  await nc.until((line) => line === `-- ${nick} set the topic: 今天的话题`);
  await nc.write("/topic nc 的话题\n");
  await logged(logs, "nc 的话题");
  await send("/who #lobby");
  await logged(logs, "bob@chat"); // the WHO reply for the nc user
  await send("/nick 新名字");
  await nc.until((line) => line === `-- ${nick} is now known as 新名字`);
  await nc.write("/nick 鲍勃\n");
  await logged(logs, "鲍勃");
  await send("/part");
  await nc.until((line) => line.startsWith("-- 新名字 left"));
  await send("/join #lobby");
  await nc.until((line) => line === "-- 新名字 joined");
  const other = await LineClient.join(server, "carol");
  await other.write("/quit 走了\n");
  await other.rest();
  other.close();
  await logged(logs, "走了");
}

Deno.test({
  name: "irc clients: WeeChat and an nc user talk both ways",
  ignore: !HAVE_WEECHAT,
  ...sanitized,
  async fn() {
    await using dir = await tempDir("chat-weechat-");
    await using server = await quietServer({ irc: 0, ircName: "irc.test" });
    const nc = await LineClient.join(server, "bob");
    const fifo = `${dir.path}/fifo`;
    const logs = `${dir.path}/logs`;
    const settings = [
      `/set fifo.file.path ${fifo}`,
      "/set logger.file.flush_delay 0",
      `/set logger.file.path ${logs}`,
      `/server add x 127.0.0.1/${server.ircAddr!.port} -notls`,
      "/set irc.server.x.nicks 王五",
      "/set irc.server.x.username wang",
      // Without these, WeeChat sends its lines 2 s apart.
      "/set irc.server.x.anti_flood_prio_high 0",
      "/set irc.server.x.anti_flood_prio_low 0",
      "/set irc.server.x.autojoin #lobby",
      "/connect x",
    ];
    const child = new Deno.Command("weechat-headless", {
      args: ["-d", `${dir.path}/home`, "-r", settings.join(";")],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    try {
      // A line for the channel's buffer; a /command is run there.
      const send = async (input: string) => {
        await Deno.writeTextFile(fifo, `irc.x.#lobby *${input}\n`);
      };
      await nc.until((line) => line === "-- 王五 joined");
      await logged(logs, "has joined #lobby"); // the client has taken its JOIN in
      await converse(server, nc, send, logs, "王五");
      await send("/quit 再见"); // WeeChat's /quit: it says so to the server and exits
      await nc.until((line) => line === "-- 新名字 left (quit: 再见)");
      assert((await child.status).success);
    } finally {
      nc.close();
      try {
        child.kill();
      } catch { /* it has exited */ }
      await child.status;
    }
  },
});

Deno.test({
  name: "irc clients: irssi (in tmux) and an nc user talk both ways",
  ignore: !HAVE_IRSSI,
  ...sanitized,
  async fn() {
    await using dir = await tempDir("chat-irssi-");
    await using server = await quietServer({ irc: 0, ircName: "irc.test" });
    const nc = await LineClient.join(server, "bob");
    const logs = `${dir.path}/logs`;
    // A tmux server of its own: nothing else's sessions are touched, and it ends with ours.
    const socket = `chat-irssi-${Deno.pid}`;
    await Deno.writeTextFile(
      `${dir.path}/config`,
      `servers = ( { address = "127.0.0.1"; chatnet = "t"; port = "${server.ircAddr!.port}";
  use_tls = "no"; autoconnect = "yes"; } );
chatnets = { t = { type = "IRC"; }; };
channels = ( { name = "#lobby"; chatnet = "t"; autojoin = "yes"; } );
settings = {
  core = {
    real_name = "Zhao"; user_name = "zhao"; nick = "赵六";
    cmd_queue_speed = "0"; cmds_max_at_once = "100";
  };
  "fe-text" = { paste_detect_time = "0"; };
  "fe-common/core" = { autolog = "yes"; autolog_path = "${logs}/$0.log"; };
};
`,
    );
    const tmux = (...args: string[]) =>
      new Deno.Command("tmux", { args: ["-L", socket, ...args], stdout: "null", stderr: "null" })
        .output();
    // Without the queue settings irssi sends a line every 2.2 s after the first five; without
    // paste_detect_time it takes quick keystrokes for a paste. The status window's log keeps
    // what is shown there (the WHO replies).
    await tmux(
      "new-session",
      "-d",
      "-s",
      "irssi",
      "-x",
      "200",
      "-y",
      "50",
      `irssi --home=${dir.path}`,
    );
    try {
      const send = async (input: string) => {
        await tmux("send-keys", "-t", "irssi", "-l", input);
        await tmux("send-keys", "-t", "irssi", "Enter");
      };
      await nc.until((line) => line === "-- 赵六 joined");
      await logged(logs, "has joined #lobby"); // the client has taken its JOIN in
      await send("/window goto 1");
      await send(`/window log on ${logs}/status.log`);
      await send("/window goto 2");
      await converse(server, nc, send, logs, "赵六");
      await send("/quit 再见");
      await nc.until((line) => line === "-- 新名字 left (quit: 再见)");
    } finally {
      nc.close();
      await tmux("kill-server");
    }
  },
});
