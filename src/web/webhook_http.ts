/**
 * `POST /hooks/TOKEN` on the web port: a webhook's post (Slack/Mattermost-style JSON
 * `{"text", "username"?}`, or a form body `payload=<that JSON>`) into its room as a bot.
 * Every refusal is a JSON `{"error", "code"}`; the token is looked up by its SHA-256.
 *
 * @module
 */

import type { Hub } from "../core/hub.ts";
import { checkName, cleanText } from "../core/protocol.ts";
import type { HttpRequest } from "./http.ts";

/** Where hooks post: `/hooks/TOKEN`. */
export const HOOK_PREFIX = "/hooks/";
/** Lines one post may carry (its text is split at newlines: a chat line is one line). */
export const HOOK_LINES = 10;

/** What the web server answers a hook's request: a status, JSON, and a wait for a 429. */
export interface HookAnswer {
  status: number;
  body: Record<string, unknown>;
  retryAfter?: number;
  allow?: string;
}

const decoder = new TextDecoder("utf-8", { fatal: true });
const TOKEN = /^[A-Za-z0-9_-]{1,100}$/;

/** Answers a request to `/hooks/…` (`request.body` read by the HTTP server), counted by result. */
export function hookRequest(hub: Hub, request: HttpRequest): HookAnswer {
  const answer = answerHook(hub, request);
  const result = answer.status === 200
    ? "posted"
    : answer.status === 429
    ? "limited"
    : answer.status === 404
    ? "unknown"
    : answer.status === 405
    ? "method"
    : "bad";
  hub.metrics.webhooks.with(result).inc();
  return answer;
}

function answerHook(hub: Hub, request: HttpRequest): HookAnswer {
  if (request.method !== "POST") {
    return { status: 405, body: refusal("only POST", "method"), allow: "POST" };
  }
  const token = request.path.slice(HOOK_PREFIX.length);
  const hook = TOKEN.test(token) ? hub.webhooks.find(token) : undefined;
  if (hook === undefined) return { status: 404, body: refusal("no such webhook", "unknownHook") };
  const wait = hub.webhooks.take(hook);
  if (wait > 0) {
    const seconds = Math.ceil(wait / 1000);
    return {
      status: 429,
      body: refusal("too many posts; slow down", "tooFast"),
      retryAfter: seconds,
    };
  }
  const fields = parseBody(request);
  if (typeof fields === "string") return { status: 400, body: refusal(fields, "badBody") };
  const { text, username } = fields;
  if (typeof text !== "string") {
    return { status: 400, body: refusal("text must be a string", "badText") };
  }
  let name = hook.name;
  if (username !== undefined && username !== null && username !== "") {
    if (typeof username !== "string" || checkName(username) !== null) {
      return { status: 400, body: refusal("username is no valid name", "badUsername") };
    }
    name = username;
  }
  // One chat line per line of text; blank lines dropped; each within the server's line limit.
  const lines = text.split(/\r?\n/).map(cleanText).filter((line) => line.trim() !== "");
  if (lines.length === 0) return { status: 400, body: refusal("text is empty", "emptyText") };
  if (lines.length > HOOK_LINES) {
    return { status: 400, body: { ...refusal("too many lines", "tooManyLines"), max: HOOK_LINES } };
  }
  const max = hub.options.maxLine;
  if (lines.some((line) => new TextEncoder().encode(line).length > max)) {
    return { status: 400, body: { ...refusal("a line is too long", "lineTooLong"), max } };
  }
  const ids = lines.map((line) => hub.postBot(hook.room, name, line));
  return { status: 200, body: { ok: true, ids } };
}

/** The body's fields (JSON, or a form's `payload`), or why it has none. */
function parseBody(request: HttpRequest): Record<string, unknown> | string {
  const bytes = request.body;
  if (bytes === undefined || bytes.length === 0) return "a JSON body is expected";
  let raw: string;
  try {
    raw = decoder.decode(bytes);
  } catch {
    return "the body is not UTF-8";
  }
  const type = request.headers.get("content-type")?.split(";")[0].trim().toLowerCase();
  if (type === "application/x-www-form-urlencoded") {
    const payload = new URLSearchParams(raw).get("payload");
    if (payload === null) return "a form body needs payload=<JSON>";
    raw = payload;
  }
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return "the body is not JSON";
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return "the body must be a JSON object";
  }
  return value as Record<string, unknown>;
}

function refusal(error: string, code: string): Record<string, unknown> {
  return { error, code };
}
