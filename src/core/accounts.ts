/**
 * Accounts: names that belong to someone. {@linkcode AccountStore} is where they are
 * kept (in memory here; a SQLite file in `src/storage/sqlite_accounts.ts`);
 * {@linkcode Accounts} is what the hub and the commands call: the name prompt's
 * password question, `/register`, `/login`, `/logout`, `/password`, `/unregister`, and
 * the guard that keeps a registered name from anyone not logged in to it.
 *
 * Passwords are hashed through a bounded queue (see `passwords.ts`), failures are
 * throttled per account and per address, and a password is never logged, kept in
 * history or told back: only its hash and SCRAM verifier are kept.
 *
 * @module
 */

import { addressKey } from "./admission.ts";
import { failed, type Problem } from "./events.ts";
import type { Hub } from "./hub.ts";
import { hostOf } from "../ops/log.ts";
import { nameKey } from "./protocol.ts";
import type { Session } from "./session.ts";
import {
  DEFAULT_COST,
  FailureThrottle,
  type HashCost,
  hashPassword,
  HashQueue,
  normalizePassword,
  type PasswordHash,
  QueueFull,
  type ScramVerifier,
  TrustedAddresses,
  verifyPassword,
} from "./passwords.ts";
import { MemorySessionStore, WebSessions } from "./web_sessions.ts";

/** What {@linkcode Accounts.authenticate} found: the account, or why not. */
export type LoginResult =
  | { readonly ok: true; readonly account: Account }
  | { readonly ok: false; readonly problem: Problem };

/** One account: a name that belongs to whoever knows its password. */
export interface Account {
  /** The name's {@linkcode nameKey}: no lookalike of a registered name is free either. */
  readonly key: string;
  /** The name as it was registered. */
  readonly name: string;
  /** When it was registered, in milliseconds since the epoch. */
  readonly created: number;
  readonly password: PasswordHash;
  readonly scram: ScramVerifier;
}

/** Where accounts are kept. Every call may wait (a store may be remote). */
export interface AccountStore {
  /** Whether accounts outlive the process (a file, Redis), or last until it stops. */
  readonly persistent: boolean;
  /** Every account's key and name (the hub keeps them to guard names without waiting). */
  names(): Promise<[key: string, name: string][]>;
  /** The account whose key is `key`, or `null`. */
  get(key: string): Promise<Account | null>;
  /** Keeps a new account; `false` if its key is taken already. */
  create(account: Account): Promise<boolean>;
  /** Replaces an account's password; `false` if there is no such account. */
  setPassword(key: string, password: PasswordHash, scram: ScramVerifier): Promise<boolean>;
  /** Deletes an account; `false` if there was none. */
  remove(key: string): Promise<boolean>;
  /** Every account, oldest first. */
  list(): Promise<Account[]>;
  /** Lets go of the store. */
  close(): Promise<void>;
}

/** Accounts in memory: they last until the process stops. */
export class MemoryAccountStore implements AccountStore {
  readonly persistent = false;
  readonly #accounts = new Map<string, Account>();

  names(): Promise<[string, string][]> {
    return Promise.resolve([...this.#accounts.values()].map(({ key, name }) => [key, name]));
  }

  get(key: string): Promise<Account | null> {
    return Promise.resolve(this.#accounts.get(key) ?? null);
  }

  create(account: Account): Promise<boolean> {
    if (this.#accounts.has(account.key)) return Promise.resolve(false);
    this.#accounts.set(account.key, account);
    return Promise.resolve(true);
  }

  setPassword(key: string, password: PasswordHash, scram: ScramVerifier): Promise<boolean> {
    const account = this.#accounts.get(key);
    if (!account) return Promise.resolve(false);
    this.#accounts.set(key, { ...account, password, scram });
    return Promise.resolve(true);
  }

  remove(key: string): Promise<boolean> {
    return Promise.resolve(this.#accounts.delete(key));
  }

  list(): Promise<Account[]> {
    return Promise.resolve([...this.#accounts.values()]);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** Who may make accounts and who may chat. */
export interface AccountPolicy {
  /** `open`: anyone may `/register` the name they hold; `closed`: only an operator adds accounts. */
  registration: "open" | "closed";
  /** Only those logged in to an account may chat (guests are refused at the name prompt). */
  requireAccount: boolean;
  /** How costly new password hashes are (tests make them cheap). */
  cost: HashCost;
  /** Hashes at once, hashes waiting, and hashes per address (see {@linkcode HashQueue}). */
  concurrency: number;
  queueLimit: number;
  perAddress: number;
}

/**
 * Open registration, guests welcome, full-cost hashes; hashing on half the cores (at
 * least one), so that a flood of logins leaves the event loop a core of its own.
 */
export const DEFAULT_POLICY: AccountPolicy = {
  registration: "open",
  requireAccount: false,
  cost: DEFAULT_COST,
  concurrency: Math.max(1, Math.min(4, Math.floor((navigator.hardwareConcurrency ?? 2) / 2))),
  queueLimit: 32,
  perAddress: 2,
};

/** Failures per account before each one doubles the wait (1 s … 60 s); per address, more. */
const ACCOUNT_FREE_FAILURES = 5;
const ACCOUNT_MAX_WAIT = 60_000;
const ADDRESS_FREE_FAILURES = 5;
const ADDRESS_MAX_WAIT = 60_000;
/**
 * Accounts made from one address (an IPv6 /64) before each one more doubles the wait
 * (1 s … 10 min), forgotten after an hour without one: a client cannot fill the store
 * with names, yet a family or a classroom behind one address can still register.
 */
const REGISTRATIONS_FREE = 5;
const REGISTRATION_MAX_WAIT = 10 * 60_000;
const REGISTRATION_FORGET = 60 * 60_000;

/** A new account made outside the chat (the operator's `account add`): the record to keep. */
export async function newAccount(
  name: string,
  raw: string,
  cost: HashCost = DEFAULT_COST,
): Promise<Account> {
  const normal = normalizePassword(raw);
  if ("reason" in normal) throw new AccountError(normal.reason);
  const { password, scram } = await hashPassword(normal.password, cost);
  return { key: nameKey(name), name, created: Date.now(), password, scram };
}

/** A password refused, or an account that cannot be made, said in one line. */
export class AccountError extends Error {
  override name = "AccountError";
}

/**
 * The hub's accounts: the store, the registered names (kept in memory so that the
 * name guard never waits), the hashing queue and the throttles, and every account
 * command. Work that waits (hashing, the store) holds the session's input meanwhile,
 * as a cluster name claim does: its next lines are handled once the answer is told.
 */
export class Accounts {
  /** Every registered account's name, by key. */
  readonly #registered = new Map<string, string>();
  /** Sessions asked for a password at the name prompt, with the name they chose. */
  readonly #asking = new WeakMap<Session, string>();
  /** Sessions whose account work is under way (the hub must not ask them their name meanwhile). */
  readonly #busy = new WeakSet<Session>();
  readonly queue: HashQueue;
  readonly #byAccount = new FailureThrottle(ACCOUNT_FREE_FAILURES, ACCOUNT_MAX_WAIT);
  readonly #byAddress = new FailureThrottle(ADDRESS_FREE_FAILURES, ADDRESS_MAX_WAIT);
  /** Accounts made lately, by address (counted as "failures": each one past the free ones waits). */
  readonly #registrations = new FailureThrottle(
    REGISTRATIONS_FREE,
    REGISTRATION_MAX_WAIT,
    REGISTRATION_FORGET,
  );
  /** Addresses that logged in lately: their hashes wait least under a flood. */
  readonly #trusted = new TrustedAddresses();
  /** Logins that failed and succeeded, and attempts refused unhashed (throttled or queue full). */
  readonly counts = { failed: 0, succeeded: 0, throttled: 0, busy: 0 };
  #pending = 0;
  #idle: (() => void)[] = [];
  /** The page's login sessions (cookies), kept where accounts are; revoked with the password. */
  sessions: WebSessions = new WebSessions(new MemorySessionStore());

  constructor(
    readonly hub: Hub,
    readonly store: AccountStore = new MemoryAccountStore(),
    readonly policy: AccountPolicy = DEFAULT_POLICY,
  ) {
    this.queue = new HashQueue(policy.concurrency, policy.queueLimit, policy.perAddress);
  }

  /** Reads the store's accounts in (before the server takes anyone in). */
  async load(): Promise<void> {
    for (const [key, name] of await this.store.names()) this.#registered.set(key, name);
  }

  /** Whether `name` (or a lookalike of it) is a registered account. */
  isRegistered(name: string): boolean {
    return this.#registered.has(nameKey(name));
  }

  /** The name of the account whose key is `key`, if there is one. */
  accountName(key: string): string | undefined {
    return this.#registered.get(key);
  }

  /** Registered accounts (for `/metrics`). */
  get size(): number {
    return this.#registered.size;
  }

  /**
   * Why `session` may not take `name`: it is registered and the session is not logged
   * in to it, or only accounts may chat and the session is a guest.
   */
  guard(session: Session, name: string): Problem | null {
    const key = nameKey(name);
    if (this.#registered.has(key) && session.account !== key) {
      return { code: "nameRegistered", name };
    }
    if (this.policy.requireAccount && session.account === null) {
      return { code: "accountRequired", name };
    }
    return null;
  }

  /** Whether account work for `session` is under way (its name question waits for it). */
  busy(session: Session): boolean {
    return this.#busy.has(session);
  }

  /** Settles once no account work is under way (tests wait on it). */
  idle(): Promise<void> {
    if (this.#pending === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  /**
   * At the name prompt, `session` chose `name` (a valid, free name): if it is registered,
   * asks for its password and returns `true`; if only accounts may chat, refuses it.
   */
  challenge(session: Session, name: string): boolean {
    if (this.isRegistered(name) && session.account !== nameKey(name)) {
      this.#asking.set(session, name);
      session.tell({ type: "passwordPrompt", time: Date.now(), name });
      return true;
    }
    if (this.policy.requireAccount && session.account === null) {
      session.tell(failed({ code: "accountRequired", name }));
      session.tell({ type: "prompt", time: Date.now() });
      return true;
    }
    return false;
  }

  /** Whether `session` was asked for a password at the name prompt and has not answered. */
  asking(session: Session): boolean {
    return this.#asking.has(session);
  }

  /** Drops `session`'s password question (it chose another name instead). */
  forget(session: Session): void {
    this.#asking.delete(session);
  }

  /**
   * A line from an unnamed session: if it was asked for a password, `text` is that
   * password (an empty line goes back to the name question) and `true` is returned.
   */
  answer(session: Session, text: string): boolean {
    const name = this.#asking.get(session);
    if (name === undefined) return false;
    this.#asking.delete(session);
    const raw = text.trim();
    if (raw === "") {
      session.tell({ type: "prompt", time: Date.now() });
      return true;
    }
    this.#work(session, async () => {
      const account = await this.#check(session, nameKey(name), name, raw);
      if (account === null) {
        if (this.isRegistered(name)) {
          this.#asking.set(session, name);
          session.tell({ type: "passwordPrompt", time: Date.now(), name });
        } else {
          session.tell({ type: "prompt", time: Date.now() }); // unregistered meanwhile
        }
        return;
      }
      this.#enter(session, account);
    });
    return true;
  }

  /** `/register PASSWORD` (named), or `/register NAME PASSWORD` at the name prompt. */
  register(session: Session, rest: string): void {
    if (this.policy.registration === "closed") {
      return this.#refuse(session, { code: "registrationClosed" });
    }
    if (session.account !== null) {
      return this.#refuse(session, {
        code: "alreadyLoggedIn",
        account: this.#nameOf(session.account),
      });
    }
    let name = session.name;
    let raw = rest;
    if (name === null) {
      const gap = rest.indexOf(" ");
      if (gap === -1) return this.#refuse(session, { code: "usage", usage: REGISTER_USAGE });
      name = rest.slice(0, gap).normalize("NFC");
      raw = rest.slice(gap + 1).trim();
      const problem = this.hub.nameError(name, session, true);
      if (problem) return this.#refuse(session, problem);
    }
    if (this.isRegistered(name)) return this.#refuse(session, { code: "nameRegistered", name });
    const normal = normalizePassword(raw);
    if ("reason" in normal) return this.#refuse(session, badPassword(normal.reason));
    const tooMany = this.#registrationThrottled(session);
    if (tooMany !== null) return this.#refuse(session, tooMany);
    const chosen = name;
    this.#work(session, async () => {
      const hashed = await this.#hash(
        session,
        () => hashPassword(normal.password, this.policy.cost),
      );
      if (hashed === null) {
        this.#refuse(session, { code: "loginBusy" });
        return this.#promptIfUnnamed(session);
      }
      // At the prompt, someone may have taken the name while it hashed: then no account,
      // or a guest would be left holding a registered name it is not logged in to.
      const taken = session.name === null ? this.hub.nameError(chosen, session, true) : null;
      if (taken) {
        this.#refuse(session, taken);
        return this.#promptIfUnnamed(session);
      }
      const key = nameKey(chosen);
      const account: Account = { key, name: chosen, created: Date.now(), ...hashed };
      if (!(await this.store.create(account))) {
        return this.#refuse(session, { code: "nameRegistered", name: chosen });
      }
      this.#registrations.failed(this.#addressOf(session));
      this.#registered.set(key, chosen);
      this.hub.cluster?.publish({ t: "account", k: key, name: chosen });
      const address = session.conn.remote; // who makes accounts: an operator tracing a flood asks
      this.hub.log.event({ event: "account", name: chosen, address, reason: "registered" });
      if (session.closed) return;
      session.account = key;
      const persistent = this.store.persistent;
      session.tell({ type: "registered", time: Date.now(), name: chosen, persistent });
      if (session.name === null) this.#takeName(session, chosen);
    });
  }

  /** `/login NAME PASSWORD`: logs in, and takes the account's name. */
  login(session: Session, rest: string): void {
    const gap = rest.indexOf(" ");
    if (gap === -1) return this.#refuse(session, { code: "usage", usage: LOGIN_USAGE });
    const name = rest.slice(0, gap).normalize("NFC");
    const raw = rest.slice(gap + 1).trim();
    const key = nameKey(name);
    // One connection of several shares its member's account: it cannot switch alone.
    if (session.account === key || (session.account !== null && session.member.attached)) {
      return this.#refuse(session, {
        code: "alreadyLoggedIn",
        account: this.#nameOf(session.account),
      });
    }
    if (!this.#registered.has(key)) return this.#refuse(session, { code: "noSuchAccount", name });
    this.#work(session, async () => {
      const account = await this.#check(session, nameKey(name), name, raw);
      if (account === null) return this.#promptIfUnnamed(session);
      this.#enter(session, account);
    });
  }

  /** `/logout`: the session keeps its name until it leaves or changes it. */
  logout(session: Session): void {
    const account = session.account;
    if (account === null) return this.#refuse(session, { code: "notLoggedIn" });
    // The member logs out, every connection of it (they share one name and presence).
    for (const each of session.connections()) each.account = null;
    this.hub.log.event({ event: "account", name: session.name ?? undefined, reason: "logout" });
    const name = this.#nameOf(account);
    // Logged out everywhere the page keeps a session: told once no cookie opens it any more.
    this.#work(session, async () => {
      await this.sessions.revoke(account);
      if (!session.closed) session.tell({ type: "loggedOut", time: Date.now(), account: name });
    });
  }

  /** `/password OLD NEW`. */
  changePassword(session: Session, rest: string): void {
    const key = session.account;
    if (key === null) return this.#refuse(session, { code: "notLoggedIn" });
    const gap = rest.indexOf(" ");
    if (gap === -1) return this.#refuse(session, { code: "usage", usage: PASSWORD_USAGE });
    const normal = normalizePassword(rest.slice(gap + 1).trim());
    if ("reason" in normal) return this.#refuse(session, badPassword(normal.reason));
    this.#work(session, async () => {
      const account = await this.#check(session, key, this.#nameOf(key), rest.slice(0, gap));
      if (account === null) return;
      const hashed = await this.#hash(
        session,
        () => hashPassword(normal.password, this.policy.cost),
      );
      if (hashed === null) return this.#refuse(session, { code: "loginBusy" });
      if (!(await this.store.setPassword(key, hashed.password, hashed.scram))) {
        return this.#refuse(session, { code: "noSuchAccount", name: account.name });
      }
      this.hub.log.event({ event: "account", name: account.name, reason: "password changed" });
      // Whoever kept a browser logged in with the old password is logged out there.
      await this.sessions.revoke(key);
      session.tell({ type: "passwordChanged", time: Date.now(), account: account.name });
    });
  }

  /** `/unregister PASSWORD`: deletes the account the session is logged in to. */
  unregister(session: Session, rest: string): void {
    const key = session.account;
    if (key === null) return this.#refuse(session, { code: "notLoggedIn" });
    this.#work(session, async () => {
      const account = await this.#check(session, key, this.#nameOf(key), rest);
      if (account === null) return;
      await this.store.remove(key);
      this.#registered.delete(key);
      this.hub.cluster?.publish({ t: "account", k: key, name: null });
      this.hub.log.event({ event: "account", name: account.name, reason: "unregistered" });
      await this.sessions.revoke(key);
      // Its rooms and roles go with it: a new account of the name inherits nothing.
      this.hub.forgetAccount(key);
      // Told first, then whoever was logged in to it, here, is no longer (IRC's 901 follows).
      session.tell({ type: "unregistered", time: Date.now(), account: account.name });
      for (const other of this.hub.sessions) if (other.account === key) other.account = null;
    });
  }

  /** Another server of the cluster made (`name`) or deleted (`null`) the account `key`. */
  remoteChanged(key: string, name: string | null): void {
    if (name !== null) return void this.#registered.set(key, name);
    this.#registered.delete(key);
    for (const session of this.hub.sessions) if (session.account === key) session.account = null;
  }

  /**
   * Whether `raw` is the password of the account `key` (shown as `name`), for any
   * front-end: refused unhashed while the account or the session's address is throttled,
   * hashed through the queue otherwise; failures and successes are counted. Nothing is
   * told: the caller says the outcome its own way (a line, a numeric).
   */
  async authenticate(
    session: Session,
    key: string,
    name: string,
    raw: string,
  ): Promise<LoginResult> {
    const wait = this.throttled(session, key);
    if (wait > 0) {
      this.counts.throttled++;
      this.hub.log.repeated({ event: "login-throttled", name, address: session.conn.remote });
      return { ok: false, problem: { code: "loginThrottled", seconds: Math.ceil(wait / 1000) } };
    }
    const normal = normalizePassword(raw);
    const account = await this.store.get(key);
    if (account === null) return { ok: false, problem: { code: "noSuchAccount", name } };
    const right = "password" in normal &&
      await this.#hash(session, () => verifyPassword(normal.password, account.password));
    if (right === null) return { ok: false, problem: { code: "loginBusy" } };
    if (!right) {
      this.noteFailure(session, account);
      return { ok: false, problem: { code: "wrongPassword", name: account.name } };
    }
    this.noteSuccess(session, account);
    return { ok: true, account };
  }

  /**
   * Milliseconds the session must wait before trying the account `key` again (0: now).
   * A front-end that checks proofs itself (IRC's SCRAM) asks it first.
   */
  throttled(session: Session, key: string): number {
    return Math.max(this.#byAccount.wait(key), this.#byAddress.wait(this.#addressOf(session)));
  }

  /** Counts a wrong password (or SCRAM proof) for `account` from the session's address. */
  noteFailure(session: Session, account: Account): void {
    this.#byAccount.failed(account.key);
    this.#byAddress.failed(this.#addressOf(session));
    this.counts.failed++;
    this.hub.log.repeated({
      event: "login-failed",
      name: account.name,
      address: session.conn.remote,
    });
  }

  /** Counts a right one: the account's failures are forgotten, the address is trusted. */
  noteSuccess(session: Session, account: Account): void {
    this.#byAccount.succeeded(account.key);
    this.#trusted.add(this.#addressOf(session));
    this.counts.succeeded++;
  }

  /** The account `name` (SCRAM's verifier and all), or `null`. */
  account(name: string): Promise<Account | null> {
    return this.store.get(nameKey(name));
  }

  /**
   * `session` is now logged in to `account` (its password, or proof, was right): logged,
   * and nothing told or renamed (IRC's SASL answers with its numerics).
   */
  logIn(session: Session, account: Account): void {
    session.account = account.key;
    this.hub.log.event({
      event: "account",
      name: account.name,
      address: session.conn.remote,
      reason: "login",
    });
  }

  /**
   * Makes the account `name` with the password `raw` for `session`, for a front-end that
   * words the outcome itself (IRC's NickServ and REGISTER), and then logs it in with
   * {@linkcode logIn}: the policy, the name's owner, the password's rules and the hash
   * queue all apply. Nothing is told, and no one logged in.
   */
  async create(session: Session, name: string, raw: string): Promise<LoginResult> {
    if (this.policy.registration === "closed") {
      return { ok: false, problem: { code: "registrationClosed" } };
    }
    if (this.isRegistered(name)) return { ok: false, problem: { code: "nameRegistered", name } };
    const normal = normalizePassword(raw);
    if ("reason" in normal) return { ok: false, problem: badPassword(normal.reason) };
    const tooMany = this.#registrationThrottled(session);
    if (tooMany !== null) return { ok: false, problem: tooMany };
    const hashed = await this.#hash(session, () => hashPassword(normal.password, this.policy.cost));
    if (hashed === null) return { ok: false, problem: { code: "loginBusy" } };
    const key = nameKey(name);
    const account: Account = { key, name, created: Date.now(), ...hashed };
    if (!(await this.store.create(account))) {
      return { ok: false, problem: { code: "nameRegistered", name } };
    }
    this.#registrations.failed(this.#addressOf(session));
    this.#registered.set(key, name);
    this.hub.cluster?.publish({ t: "account", k: key, name });
    const address = session.conn.remote;
    this.hub.log.event({ event: "account", name, address, reason: "registered" });
    return { ok: true, account };
  }

  /**
   * Runs a front-end's account work that waits (see {@linkcode create}): the session's
   * input is held meanwhile, an error is logged, and {@linkcode idle} waits for it.
   */
  track(session: Session, job: () => Promise<void>): void {
    this.#work(session, job);
  }

  /** {@linkcode authenticate}, with a refusal told to the session as the text protocol does. */
  async #check(session: Session, key: string, name: string, raw: string): Promise<Account | null> {
    const result = await this.authenticate(session, key, name, raw);
    if (result.ok) return result.account;
    this.#refuse(session, result.problem);
    return null;
  }

  /** Why the session's address may not make an account now (too many made lately), or `null`. */
  #registrationThrottled(session: Session): Problem | null {
    const wait = this.#registrations.wait(this.#addressOf(session));
    if (wait === 0) return null;
    this.hub.log.repeated({ event: "register-throttled", address: session.conn.remote });
    return { code: "registerThrottled", seconds: Math.ceil(wait / 1000) };
  }

  /** Runs `job` through the hash queue; `null` if the queue is full. */
  async #hash<T>(session: Session, job: () => Promise<T>): Promise<T | null> {
    try {
      const address = this.#addressOf(session);
      const rank = this.#byAddress.suspect(address)
        ? "suspect"
        : this.#trusted.has(address)
        ? "trusted"
        : "clean";
      return await this.queue.run(address, job, rank);
    } catch (error) {
      if (!(error instanceof QueueFull)) throw error;
      this.counts.busy++;
      this.hub.log.repeated({ event: "login-busy", address: session.conn.remote });
      return null;
    }
  }

  /** Logged in to `account`: told so, and given its name (at the prompt, let in under it). */
  #enter(session: Session, account: Account): void {
    if (session.closed) return;
    this.logIn(session, account);
    if (session.name === null) return this.#takeName(session, account.name);
    session.tell({ type: "loggedIn", time: Date.now(), account: account.name });
    if (nameKey(session.name) !== account.key) this.hub.rename(session, account.name);
  }

  /** Lets an unnamed session in under `name`, unless someone took it meanwhile. */
  #takeName(session: Session, name: string): void {
    const problem = this.hub.nameError(name, session, true);
    if (problem) {
      session.tell(failed(problem));
      return session.tell({ type: "prompt", time: Date.now() });
    }
    this.hub.takeName(session, name);
  }

  /**
   * Runs account work that waits: the session's input waits meanwhile, and an error
   * is logged with its stack (the user is told only that something failed).
   */
  #work(session: Session, job: () => Promise<void>): void {
    this.#pending++;
    this.#busy.add(session);
    session.hold();
    job().catch((error) => {
      this.hub.internalError(session, error);
      this.#promptIfUnnamed(session);
    }).finally(() => {
      this.#busy.delete(session);
      if (!session.closed) session.proceed();
      if (--this.#pending === 0) { for (const resolve of this.#idle.splice(0)) resolve(); }
    });
  }

  #refuse(session: Session, problem: Problem): void {
    if (!session.closed) session.tell(failed(problem));
  }

  /** After a refusal at the name prompt, the name question again. */
  #promptIfUnnamed(session: Session): void {
    if (session.name === null && !session.closed) {
      session.tell({ type: "prompt", time: Date.now() });
    }
  }

  /** The address failures count under: its admission key (IPv6 by /64). */
  #addressOf(session: Session): string {
    return addressKey(hostOf(session.conn.remote));
  }

  /** The name to show for the account `key`. */
  #nameOf(key: string): string {
    return this.#registered.get(key) ?? key;
  }
}

const REGISTER_USAGE = "/register NAME PASSWORD";
const LOGIN_USAGE = "/login NAME PASSWORD";
const PASSWORD_USAGE = "/password OLD NEW";

function badPassword(reason: string): Problem {
  return { code: "badPassword", reason };
}
