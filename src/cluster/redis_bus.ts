/**
 * The cluster's bus on Redis (`--redis URL`): how instances share members,
 * rooms, topics and history. Loaded only when `--redis` is given, with the
 * official client (`npm:redis`).
 *
 * In Redis (one server, or one with replicas; not Redis Cluster):
 *
 * ```text
 * chat:events          stream: every event of every instance, in the order Redis took them
 * chat:history:ROOM    stream: a room's messages and actions, with their event's id
 * chat:rooms           sorted set: rooms with history or a topic, by last use
 * chat:topics          hash: room key → topic
 * chat:names           hash: name key → {n: name, r: room, i: instance}
 * chat:owned:INSTANCE  set: the name keys an instance holds
 * chat:instances       sorted set: live instances, scored by when their lease ends
 * chat:cloak-key       string: the key of IRC cloaks, the same on every instance
 * chat:rules           hash: room key → the rules (roles, modes, bans) of a founded room, JSON
 * chat:klines          hash: kline key → a server-wide ban (mask, by, time, expiry, reason), JSON
 * chat:private:PAIR    stream: a private conversation between two accounts (src/core/private.ts)
 * chat:privates        sorted set: private conversations, by last use
 * chat:held:ACCOUNT    list: private messages waiting for an account's next login
 * chat:heldfor         set: the accounts with messages waiting
 * ```
 *
 * Each instance appends its events to `chat:events` with a script that also
 * claims names, keeps history and topics, all in one step; it reads the stream
 * from where it left off, so an outage loses nothing that Redis kept. While
 * Redis is unreachable the events wait here (bounded) and go out, in order,
 * once it is back. A heartbeat renews the instance's lease every 2 s and reaps
 * instances whose lease ran out, freeing their names; every instance then
 * announces their members as gone.
 *
 * @module
 */

// Not in deno.json: every package named there is installed whenever the project runs.
// deno-lint-ignore no-import-prefix
import type { createClient } from "npm:redis@5.10.0";
import type { Cluster, ClusterBus, ClusterSnapshot, Envelope } from "./cluster.ts";
import type { HistoryStore } from "../core/history.ts";
import { entryKey, type PrivateEntry, type PrivateStore } from "../core/private.ts";
import { type ChatMessage, nameKey } from "../core/protocol.ts";
import { idOf } from "../core/ids.ts";
import type { ServerLog } from "../ops/log.ts";
import { withTimeout } from "../core/timeout.ts";

/** What the bus needs to know. */
export interface RedisBusOptions {
  /** `redis://[user:pass@]host:port[/db]`, or `rediss://` for TLS. */
  url: string;
  /** PEM certificates to trust for `rediss://`, besides the system's (a private CA). */
  ca?: string;
  /** Lines of history kept per room (`--history`). */
  history: number;
  /** Rooms whose history and topic are kept (and loaded at start). */
  rooms: number;
  /** Events kept waiting while Redis is unreachable; past it the oldest are dropped. */
  backlog?: number;
  /** Milliseconds to wait for Redis at start before giving up. */
  connectTimeout?: number;
}

/** Milliseconds between heartbeats. */
const BEAT = 2_000;
/** Milliseconds an instance's lease lasts: missing this long, it is reaped (within a beat more). */
const LEASE = 10_000;
/** Milliseconds a heartbeat may wait for Redis before Redis counts as unreachable (a stalled one). */
const BEAT_WAIT = 3_000;
/** Milliseconds before a batch that Redis refused while connected (say, out of memory) is retried. */
const RETRY = 1_000;
/** Events the shared stream keeps (approximately): an instance cut off longer misses the rest. */
const EVENTS_KEPT = 100_000;
/** Events sent in one script call. */
const BATCH = 500;

/** Why Redis could not be joined at start (shown to the operator as one line). */
export class ClusterError extends Error {
  override name = "ClusterError";
}

const NAMES_LUA = `
local names = 'chat:names'
local function owner(key)
  local value = redis.call('HGET', names, key)
  return value and cjson.decode(value).i
end
local function hold(id, key, name, room)
  local holder = owner(key)
  if holder and holder ~= id then return false end
  redis.call('HSET', names, key, cjson.encode({n = name, r = room, i = id}))
  redis.call('SADD', 'chat:owned:' .. id, key)
  return true
end
local function free(id, key)
  if owner(key) == id then redis.call('HDEL', names, key) end
  redis.call('SREM', 'chat:owned:' .. id, key)
end
local function now()
  local time = redis.call('TIME')
  return tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
end
`;

/** ARGV: instance, name key, name, room → 1 if the name is now the instance's, else 0. */
const CLAIM = NAMES_LUA + `
if hold(ARGV[1], ARGV[2], ARGV[3], ARGV[4]) then return 1 end
return 0`;

/**
 * ARGV: instance, history lines per room, events kept, rooms kept, and the
 * events, two lines each: a head and the JSON envelope (JSON has no raw
 * newline) → the name keys refused (held by another instance). One argument
 * for all the events keeps a batch one small write (the client writes each
 * argument apart). The head spares decoding JSON for messages, the bulk:
 * `hROOMKEY` a message or action kept in that room's history, `p` a private
 * message, `qPAIR` one kept in that conversation (`qPAIR\tACCOUNT`: and held for that
 * account's next login), `e` any other event (decoded).
 */
const PUBLISH = NAMES_LUA + `
local id, lines, events, rooms = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
local refused = {}
local function used(room)
  if redis.call('ZADD', 'chat:rooms', now(), room) == 0 then return end -- known: no trimming
  local extra = redis.call('ZCARD', 'chat:rooms') - rooms
  if extra <= 0 then return end
  for _, old in ipairs(redis.call('ZRANGE', 'chat:rooms', 0, extra - 1)) do
    redis.call('DEL', 'chat:history:' .. old)
    redis.call('HDEL', 'chat:topics', old)
  end
  redis.call('ZREMRANGEBYRANK', 'chat:rooms', 0, extra - 1)
end
-- A deleted message leaves its stream (a room's history, a conversation) and the events
-- stream (XDEL: the entry has the same stream id in both). Found by its event id in the raw
-- JSON, newest first, 100 entries a call, bounded by the stream's length (MAXLEN ~ lines, a
-- node more).
local function forget_entry(key, needle)
  local top = '+'
  local scanned, most = 0, tonumber(lines) * 2 + 200
  while scanned < most do
    local page = redis.call('XREVRANGE', key, top, '-', 'COUNT', 100)
    for _, entry in ipairs(page) do
      if string.find(entry[2][2], needle, 1, true) then
        redis.call('XDEL', key, entry[1])
        redis.call('XDEL', 'chat:events', entry[1])
        return
      end
    end
    if #page < 100 then return end
    top = '(' .. page[#page][1]
    scanned = scanned + #page
  end
end
local function forget_message(room, eid)
  if not string.match(eid, '^[0-9a-z]+$') then return end
  forget_entry('chat:history:' .. room, '"id":"' .. eid .. '"')
end
-- A deleted private message leaves its conversation's stream and the events stream, and
-- the wait of either account of the pair (a list of at most 1000).
local function forget_private(pair, eid)
  if not string.match(eid, '^[0-9a-z]+$') then return end
  local needle = '"id":"' .. eid .. '"'
  forget_entry('chat:private:' .. pair, needle)
  for account in string.gmatch(pair, '%S+') do
    for _, raw in ipairs(redis.call('LRANGE', 'chat:held:' .. account, 0, -1)) do
      if string.find(raw, needle, 1, true) then
        redis.call('LREM', 'chat:held:' .. account, 1, raw)
        if redis.call('LLEN', 'chat:held:' .. account) == 0 then
          redis.call('SREM', 'chat:heldfor', account)
        end
        break
      end
    end
  end
end
local function used_pair(pair)
  if redis.call('ZADD', 'chat:privates', now(), pair) == 0 then return end
  local extra = redis.call('ZCARD', 'chat:privates') - rooms
  if extra <= 0 then return end
  for _, old in ipairs(redis.call('ZRANGE', 'chat:privates', 0, extra - 1)) do
    redis.call('DEL', 'chat:private:' .. old)
  end
  redis.call('ZREMRANGEBYRANK', 'chat:privates', 0, extra - 1)
end
local event_lines = string.gmatch(ARGV[5], '[^\\n]+')
for head in event_lines do
  local raw = event_lines()
  local e = head == 'e' and cjson.decode(raw) or {}
  local publish = true
  if e.t == 'join' or e.t == 'move' or e.t == 'enter' then
    -- rs: every room of a member in several (IRC), kept so that a starting server sees them all.
    publish = hold(id, e.k, e.name, e.rs or e.room)
  elseif e.t == 'rename' then
    publish = hold(id, e.k, e.name, e.rs or e.room)
    if publish and e.ok ~= e.k then
      free(id, e.ok)
    elseif not publish then
      -- Its member is told to go: the old name goes too, and the others hear it left.
      free(id, e.ok)
      local left = {t = 'leave', k = e.ok, name = e.old, room = e.room, o = e.o, s = e.s}
      redis.call('XADD', 'chat:events', 'MAXLEN', '~', events, '*', 'e', cjson.encode(left))
    end
  elseif e.t == 'leave' then
    free(id, e.k)
  elseif e.t == 'drop' then
    free(id, e.k)
    publish = false
  elseif e.t == 'topic' then
    redis.call('HSET', 'chat:topics', e.k, e.topic)
    used(e.k)
  elseif e.t == 'account' and e.name == cjson.null then
    -- A deleted account's private conversations and waiting messages go with it.
    for _, pair in ipairs(redis.call('ZRANGE', 'chat:privates', 0, -1)) do
      local a, b = string.match(pair, '^(%S+) (%S+)$')
      if a == e.k or b == e.k then
        redis.call('DEL', 'chat:private:' .. pair)
        redis.call('ZREM', 'chat:privates', pair)
      end
    end
    redis.call('DEL', 'chat:held:' .. e.k)
    redis.call('SREM', 'chat:heldfor', e.k)
  elseif e.t == 'held' then
    redis.call('DEL', 'chat:held:' .. e.k)
    redis.call('SREM', 'chat:heldfor', e.k)
  elseif e.t == 'room' then
    redis.call('HSETNX', 'chat:topics', e.k, e.topic)
    used(e.k)
    publish = false
  elseif e.t == 'rules' then
    if e.j == '' then redis.call('HDEL', 'chat:rules', e.k)
    else redis.call('HSET', 'chat:rules', e.k, e.j) end
  elseif e.t == 'kline' then
    redis.call('HSET', 'chat:klines', e.k, e.j)
  elseif e.t == 'unkline' then
    redis.call('HDEL', 'chat:klines', e.k)
  elseif e.t == 'delete' then
    forget_message(e.k, e.id)
  elseif e.t == 'pdelete' then
    forget_private(e.p, e.id)
  elseif e.t == 'hook' then
    redis.call('HSET', 'chat:webhooks', e.hook.id, cjson.encode(e.hook))
  elseif e.t == 'unhook' then
    redis.call('HDEL', 'chat:webhooks', e.id)
  end
  if not publish and e.t ~= 'drop' and e.t ~= 'room' then refused[#refused + 1] = e.k end
  if publish then
    local xid = redis.call('XADD', 'chat:events', 'MAXLEN', '~', events, '*', 'e', raw)
    if string.sub(head, 1, 1) == 'h' then
      -- The entry keeps its event's id, so a starting instance knows where history ends.
      local room = string.sub(head, 2)
      redis.pcall('XADD', 'chat:history:' .. room, 'MAXLEN', '~', lines, xid, 'e', raw)
      used(room)
    elseif string.sub(head, 1, 1) == 'q' then
      local pair, held = string.match(string.sub(head, 2), '^([^\t]*)\t?(.*)$')
      redis.pcall('XADD', 'chat:private:' .. pair, 'MAXLEN', '~', lines, xid, 'e', raw)
      used_pair(pair)
      if held ~= '' then
        redis.call('RPUSH', 'chat:held:' .. held, raw)
        redis.call('LTRIM', 'chat:held:' .. held, -1000, -1)
        redis.call('SADD', 'chat:heldfor', held)
      end
    end
  end
end
return refused`;

/**
 * ARGV: instance, lease in ms → {1 if the instance was not registered, the live
 * instances}. Renews the lease, and reaps instances whose lease ran out.
 */
const BEAT_LUA = NAMES_LUA + `
local t = now()
local fresh = redis.call('ZADD', 'chat:instances', t + tonumber(ARGV[2]), ARGV[1])
for _, gone in ipairs(redis.call('ZRANGEBYSCORE', 'chat:instances', '-inf', t)) do
  redis.call('ZREM', 'chat:instances', gone)
  for _, key in ipairs(redis.call('SMEMBERS', 'chat:owned:' .. gone)) do
    if owner(key) == gone then redis.call('HDEL', names, key) end
  end
  redis.call('DEL', 'chat:owned:' .. gone)
end
return {fresh, redis.call('ZRANGE', 'chat:instances', 0, -1)}`;

/**
 * ARGV: rooms to load → {the last event's id, the live instances' members as
 * key/value pairs, the topics as pairs, the most recently used rooms}.
 */
const SNAPSHOT = NAMES_LUA + `
local last = redis.call('XREVRANGE', 'chat:events', '+', '-', 'COUNT', 1)
local live = {}
for _, id in ipairs(redis.call('ZRANGEBYSCORE', 'chat:instances', now(), '+inf')) do
  live[id] = true
end
local members = {}
local all = redis.call('HGETALL', names)
for i = 1, #all, 2 do
  if live[cjson.decode(all[i + 1]).i] then
    members[#members + 1] = all[i]
    members[#members + 1] = all[i + 1]
  end
end
return {last[1] and last[1][1] or '0-0', members, redis.call('HGETALL', 'chat:topics'),
  redis.call('ZREVRANGE', 'chat:rooms', 0, tonumber(ARGV[1]) - 1),
  redis.call('HGETALL', 'chat:rules'), redis.call('HVALS', 'chat:klines')}`;

/**
 * The head of a private message (see `PUBLISH`): kept between two accounts, or one-sided in
 * an account's conversation with a guest (see `guestKey`), or not (two guests).
 */
function privateHead(message: ChatMessage): string {
  if (message.id === undefined || (!message.account && !message.toAccount)) return "p";
  const { from, to = "", account = "", toAccount = "" } = message;
  const pair = entryKey({
    id: message.id,
    kind: "private",
    from,
    to,
    text: "",
    time: 0,
    account,
    toAccount,
  });
  // Only an account waits for its next login (see `holdPrivate`).
  return message.held && toAccount ? `q${pair}\t${nameKey(toAccount)}` : `q${pair}`;
}

/** The kept private message of an envelope's JSON, or `null` if it is none. */
function privateEntry(raw: string): PrivateEntry | null {
  try {
    const { m } = JSON.parse(raw);
    if (typeof m?.id !== "string" || (!m.account && !m.toAccount)) return null;
    const { id, from, to, text, time, account = "", toAccount = "" } = m;
    return { id, kind: "private", from, to, text, time, account, toAccount };
  } catch {
    return null;
  }
}

/** ARGV: instance. An instance that stops gives back its lease and its names. */
const LEAVE_LUA = NAMES_LUA + `
redis.call('ZREM', 'chat:instances', ARGV[1])
for _, key in ipairs(redis.call('SMEMBERS', 'chat:owned:' .. ARGV[1])) do free(ARGV[1], key) end
return 1`;

type Client = ReturnType<typeof createClient>;

/**
 * The official Redis client, imported by a specifier Deno cannot read ahead: an npm
 * package anywhere in the module graph is downloaded before a lone server starts, even
 * when only `--redis` would load it. `deno compile` takes it with `--include`.
 */
const REDIS_PACKAGE = "npm:redis@5.10.0";
type Reply = unknown;

/** A Lua script, run by its SHA-1 (sent whole when Redis does not have it: after a restart). */
class Script {
  #sha = "";
  constructor(readonly source: string) {}

  async load(): Promise<void> {
    const digest = await crypto.subtle.digest("SHA-1", new TextEncoder().encode(this.source));
    this.#sha = [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
  }

  async run(client: Client, args: string[]): Promise<Reply> {
    try {
      return await client.sendCommand(["EVALSHA", this.#sha, "0", ...args]);
    } catch (error) {
      if (!String((error as Error)?.message).startsWith("NOSCRIPT")) throw error;
      return await client.sendCommand(["EVAL", this.source, "0", ...args]);
    }
  }
}

/** The Redis link of one instance: a command connection and a reading one. */
export class RedisBus implements ClusterBus {
  readonly #client: Client;
  /** Blocks on the stream; a blocked connection can do nothing else. */
  readonly #reader: Client;
  readonly #scripts = {
    claim: new Script(CLAIM),
    publish: new Script(PUBLISH),
    beat: new Script(BEAT_LUA),
    snapshot: new Script(SNAPSHOT),
    leave: new Script(LEAVE_LUA),
  };
  /** Events not yet in Redis, oldest first: a head and the JSON for each (see `PUBLISH`). */
  #queue: string[] = [];
  /** Whether a send is due in this turn of the event loop, or in flight. */
  #scheduled = false;
  #sending = false;
  /** Retries a batch Redis refused while connected. */
  #retry: ReturnType<typeof setTimeout> | undefined;
  /** Set by the first heartbeat: after it, finding this instance unregistered means it was lost. */
  #registered = false;
  /** The id of the last event read from the stream. */
  #cursor = "0-0";
  #beatTimer: ReturnType<typeof setInterval> | undefined;
  #reading: Promise<void> | null = null;
  #closed = false;
  /** Set once the instance has joined: failures before that end the start instead. */
  #joined = false;
  /** Whether Redis is known to be unreachable (logged once per outage). */
  #down = false;
  /** Events dropped because Redis stayed unreachable past the backlog (for `/metrics`). */
  dropped = 0;
  /** Outages seen (for `/metrics`). */
  outages = 0;
  readonly #backlog: number;

  private constructor(
    readonly options: RedisBusOptions,
    readonly cluster: Cluster,
    readonly log: ServerLog,
    connect: typeof createClient,
  ) {
    this.#backlog = options.backlog ?? 100_000;
    this.#client = connect({
      url: options.url,
      disableOfflineQueue: true, // fail at once while down: the queue here keeps the events
      socket: {
        ...(options.ca && { tls: true as const, ca: [options.ca] }),
        connectTimeout: 2_000,
        // Backoff with jitter, so that instances do not all knock at once; before it has
        // joined, the instance does not retry: a failure to join ends the start.
        reconnectStrategy: (retries: number, error: Error) =>
          this.#joined ? Math.min(50 * 2 ** retries, 2_000) * (0.5 + Math.random() / 2) : error,
      },
    });
    this.#reader = this.#client.duplicate();
    cluster.bus = this;
    this.#client.on("error", (error: Error) => this.#failed(error));
    this.#reader.on("error", (error: Error) => this.#failed(error));
    this.#client.on("ready", () => this.#ready());
  }

  /**
   * Joins the cluster at `options.url`: loads its members, topics and history
   * into `cluster` and `history`, then follows it. Throws a
   * {@linkcode ClusterError} if Redis cannot be reached in time.
   */
  static async join(
    options: RedisBusOptions,
    cluster: Cluster,
    history: HistoryStore,
    log: ServerLog,
    privates?: PrivateStore,
  ): Promise<RedisBus> {
    const redis = await import(REDIS_PACKAGE) as typeof import("npm:redis@5.10.0");
    const bus = new RedisBus(options, cluster, log, redis.createClient);
    await Promise.all(Object.values(bus.#scripts).map((script) => script.load()));
    const wait = options.connectTimeout ?? 5_000;
    const where = redacted(options.url);
    let timer: ReturnType<typeof setTimeout> | undefined;
    // At start, the first failure is final: a server that cannot join its cluster says so.
    const failed = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new ClusterError(`no answer in ${wait} ms`)), wait);
      bus.#client.once("error", reject);
      bus.#reader.once("error", reject);
    });
    try {
      await Promise.race([Promise.all([bus.#client.connect(), bus.#reader.connect()]), failed]);
      if (!bus.#client.isReady) throw new ClusterError("not connected");
      await bus.#load(history);
      if (privates) await bus.#loadPrivates(privates);
    } catch (error) {
      bus.#closed = true;
      bus.#disconnect();
      throw new ClusterError(`cannot join the cluster at ${where}: ${(error as Error).message}`);
    } finally {
      clearTimeout(timer);
    }
    bus.#joined = true;
    await bus.#beat();
    bus.#beatTimer = setInterval(() => bus.#beat(), BEAT);
    bus.#reading = bus.#read();
    log.event({ event: "cluster", text: `joined as ${cluster.id} at ${redacted(options.url)}` });
    return bus;
  }

  /** Whether Redis answers (connected, and not found stalled or failing since). */
  get connected(): boolean {
    return this.#client.isReady && !this.#down;
  }

  /** Events waiting to be sent (for `/metrics`). */
  get backlog(): number {
    return this.#queue.length / 2;
  }

  send(envelope: Envelope): void {
    if (this.#queue.length >= this.#backlog * 2) this.#dropOne();
    const head = envelope.t !== "msg"
      ? "e"
      : envelope.m.kind === "private"
      ? privateHead(envelope.m)
      : `h${envelope.k}`;
    this.#queue.push(head, JSON.stringify(envelope));
    if (!this.#scheduled) {
      this.#scheduled = true;
      queueMicrotask(() => {
        this.#scheduled = false;
        this.#send();
      });
    }
  }

  /**
   * Drops the oldest waiting message (the backlog is full): joins, leaves and
   * renames are kept, or the others would hold ghosts and names nobody can take.
   */
  #dropOne(): void {
    let at = 0;
    while (at < this.#queue.length && this.#queue[at] === "e") at += 2;
    if (at === this.#queue.length) at = 0; // nothing but membership: the oldest goes
    this.#queue.splice(at, 2);
    this.dropped++;
  }

  /** Sends one command to Redis (the account store's: `src/storage/redis_accounts.ts`). */
  command(args: string[]): Promise<unknown> {
    return this.#client.sendCommand(args);
  }

  /**
   * The value kept in Redis under `key` (such as `chat:cloak-key`), or `fresh`, kept
   * there now, if there is none: the first instance decides it for the whole cluster.
   */
  async kept(key: string, fresh: string): Promise<string> {
    let value: Reply;
    try {
      await this.#client.sendCommand(["SET", key, fresh, "NX"]);
      value = await this.#client.sendCommand(["GET", key]);
    } catch (error) {
      throw new ClusterError(`cannot keep ${key} in Redis: ${(error as Error).message}`);
    }
    if (typeof value !== "string") throw new ClusterError(`${key} is not kept in Redis`);
    return value;
  }

  async claim(key: string, name: string, room: string): Promise<boolean> {
    const reply = await this.#scripts.claim.run(this.#client, [this.cluster.id, key, name, room]);
    return reply === 1;
  }

  /** Sends what is queued, a batch at a time, one batch in flight; stops while Redis is down. */
  async #send(): Promise<void> {
    if (this.#sending) return;
    this.#sending = true;
    try {
      while (this.#queue.length > 0 && this.#client.isReady) {
        const batch = this.#queue.slice(0, BATCH * 2);
        const args = [
          this.cluster.id,
          String(this.options.history),
          String(EVENTS_KEPT),
          String(this.options.rooms),
          batch.join("\n"),
        ];
        let refused: Reply;
        try {
          refused = await this.#scripts.publish.run(this.#client, args);
        } catch (error) {
          // Sent again once Redis is back; a batch that half went out is repeated,
          // and the other instances skip what they have applied (sequence numbers).
          // Refused on a live connection (out of memory, a read-only replica): tried again soon.
          this.#failed(error as Error);
          if (this.#client.isReady && !this.#closed) {
            clearTimeout(this.#retry);
            this.#retry = setTimeout(() => this.#send(), RETRY);
          }
          return;
        }
        // The queue may have lost its head to the backlog bound meanwhile: drop what was sent.
        const sent = this.#queue.indexOf(batch[batch.length - 1]);
        this.#queue.splice(0, sent + 1);
        if (Array.isArray(refused) && refused.length > 0) this.cluster.refused(refused as string[]);
      }
    } finally {
      this.#sending = false;
    }
  }

  /** Follows the stream, applying each event; waits out outages. */
  async #read(): Promise<void> {
    while (!this.#closed) {
      let reply: Reply;
      try {
        reply = await this.#reader.sendCommand([
          "XREAD",
          "COUNT",
          "1000",
          "BLOCK",
          "1000",
          "STREAMS",
          "chat:events",
          this.#cursor,
        ]);
      } catch (error) {
        if (this.#closed) return;
        // While the connection itself is down its own error events say so; this read failing
        // then (the connection still on its way back after Redis is) is no news.
        if (this.#reader.isReady) this.#failed(error as Error);
        await new Promise((resolve) => setTimeout(resolve, 250));
        continue;
      }
      this.#recovered();
      if (!Array.isArray(reply)) continue; // timed out: nothing new
      for (const [, entries] of reply as [string, [string, string[]][]][]) {
        for (const [id, fields] of entries) {
          this.#cursor = id;
          try {
            this.cluster.receive(JSON.parse(fields[1]) as Envelope);
          } catch (error) {
            this.log.event({
              event: "internal-error",
              text: (error as Error).stack ?? String(error),
            });
          }
        }
      }
    }
  }

  /** Renews the lease, reaps the dead, and learns who is alive. */
  async #beat(): Promise<void> {
    if (!this.#client.isReady) return;
    const askedAt = Date.now();
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      // A Redis that holds the connection but answers nothing (stopped, swapping) is an outage too.
      const stalled = new Promise<never>((_, reject) => {
        timer = setTimeout(reject, BEAT_WAIT, new Error(`no answer in ${BEAT_WAIT} ms`));
      });
      const beat = this.#scripts.beat.run(this.#client, [this.cluster.id, String(LEASE)]);
      beat.catch(() => {}); // a late failure, after the stall was noticed, is no news
      const [fresh, live] = await Promise.race([beat, stalled]) as [number, string[]];
      this.#recovered();
      // The first beat registers this instance: nothing was lost, nothing to re-make.
      const lost = fresh === 1 && this.#registered;
      this.#registered = true;
      if (lost) {
        this.log.event({
          event: "cluster",
          text: "this instance was not registered (Redis emptied, or cut off past its lease): " +
            "claiming its names again",
        });
      }
      this.cluster.alive(live, askedAt, lost);
    } catch (error) {
      this.#failed(error as Error);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Loads the members, topics and recent history of the cluster, then reads from there on. */
  async #load(history: HistoryStore): Promise<void> {
    const [cursor, members, topics, rooms, rules, klines] = await this.#scripts.snapshot.run(
      this.#client,
      [String(this.options.rooms)],
    ) as [string, string[], string[], string[], string[], string[]];
    this.#cursor = cursor;
    const snapshot: ClusterSnapshot = { members: new Map(), rules: [], klines };
    for (let i = 0; i < rules.length; i += 2) snapshot.rules!.push([rules[i], rules[i + 1]]);
    for (let i = 0; i < members.length; i += 2) {
      const { n, r, i: instance } = JSON.parse(members[i + 1]);
      snapshot.members.set(members[i], { name: n, room: r, instance });
    }
    this.cluster.load(snapshot);
    for (let i = 0; i < topics.length; i += 2) history.setTopic(topics[i], topics[i + 1]);
    // Each room's history up to the cursor: what comes after it arrives on the stream.
    const pages = await Promise.all(rooms.map((room) =>
      this.#client.sendCommand([
        "XREVRANGE",
        `chat:history:${room}`,
        cursor,
        "-",
        "COUNT",
        String(this.options.history),
      ]) as Promise<[string, string[]][]>
    ));
    // Least recently used first: the memory keeps the most recently used when it must choose.
    rooms.reverse();
    pages.reverse();
    rooms.forEach((room, index) => {
      const seen = new Set<string>(); // a batch sent twice after an outage is kept once
      for (const [xid, fields] of pages[index].reverse()) {
        const { o, s, m } = JSON.parse(fields[1]);
        if (seen.has(`${o}:${s}`)) continue;
        seen.add(`${o}:${s}`);
        // Kept by a server from before event ids: its stream id makes one, the same everywhere.
        if (m.id === undefined) {
          const [ms, seq] = xid.split("-").map(Number);
          m.id = idOf(ms, seq, "0");
        }
        history.add(room, m);
      }
    });
  }

  /**
   * Loads the private conversations kept in Redis (the most recently used, up to `rooms`, each
   * its last `history` lines) and the messages waiting for accounts' next logins.
   */
  async #loadPrivates(privates: PrivateStore): Promise<void> {
    const client = this.#client;
    const rooms = String(this.options.rooms);
    const pairs = await client.sendCommand(["ZREVRANGE", "chat:privates", "0", rooms]) as string[];
    const pages = await Promise.all(pairs.map((pair) =>
      client.sendCommand([
        "XREVRANGE",
        `chat:private:${pair}`,
        "+",
        "-",
        "COUNT",
        String(this.options.history),
      ]) as Promise<[string, string[]][]>
    ));
    pairs.reverse();
    pages.reverse();
    pairs.forEach((pair, index) => {
      for (const [, fields] of pages[index].reverse()) {
        const entry = privateEntry(fields[1]);
        if (entry) privates.add(pair, entry);
      }
    });
    const waiting = await client.sendCommand(["SMEMBERS", "chat:heldfor"]) as string[];
    for (const key of waiting.slice(0, this.options.rooms)) {
      const held = await client.sendCommand(["LRANGE", `chat:held:${key}`, "0", "-1"]) as string[];
      for (const raw of held) {
        const entry = privateEntry(raw);
        if (entry) {
          privates.add(entryKey(entry), entry, key);
        }
      }
    }
  }

  /** The command connection is (again) up: renew the lease, then send what waits. */
  #ready(): void {
    if (this.#closed || !this.#joined) return;
    this.#beat().then(() => this.#send());
  }

  /** Redis answered: an outage, if there was one, is over (logged once). */
  #recovered(): void {
    if (!this.#down || this.#closed || !this.#client.isReady) return;
    this.#down = false;
    this.log.event({
      event: "cluster",
      text: `Redis reachable again; sending ${this.backlog} waiting events`,
    });
    this.#send();
  }

  #failed(error: Error): void {
    if (this.#closed || !this.#joined) return;
    if (!this.#down) {
      this.#down = true;
      this.outages++;
      this.log.event({
        event: "cluster",
        text: "Redis unreachable; serving this instance's clients, events wait here",
        reason: error?.message ?? String(error),
      });
    }
  }

  /** Drops both connections at once (a client that never connected throws when destroyed). */
  #disconnect(): void {
    for (const client of [this.#reader, this.#client]) {
      if (client.isOpen) client.destroy();
    }
  }

  /** Sends what waits (for at most `timeout` ms), gives back this instance's names, disconnects. */
  async close(timeout: number): Promise<void> {
    if (this.#closed) return;
    clearInterval(this.#beatTimer);
    clearTimeout(this.#retry);
    // Bounded even when Redis holds the connection and answers nothing.
    await withTimeout(this.#flush(), timeout);
    this.#closed = true;
    clearTimeout(this.#retry);
    this.#disconnect();
    await this.#reading;
  }

  /** Sends what waits, then gives back this instance's lease and names. */
  async #flush(): Promise<void> {
    while (this.#queue.length > 0 && this.#client.isReady && !this.#closed) {
      await this.#send();
      if (this.#queue.length > 0) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    if (this.#client.isReady && !this.#closed) {
      await this.#scripts.leave.run(this.#client, [this.cluster.id]).catch(() => {});
    }
  }
}

/** The URL without its password, for the log. */
function redacted(url: string): string {
  return url.replace(/\/\/([^:@/]*):[^@/]*@/, "//$1:***@");
}
