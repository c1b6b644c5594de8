/**
 * Deleting a kept private message (see `private.ts`): only its author (by account) may,
 * and a server operator in a conversation of its own. It leaves the store (and the wait,
 * if it was held), the other servers of a cluster are told, and every session of both
 * accounts is told (`privateDeleted`). An id is looked up in the caller's own
 * conversations only: no one learns anything of another pair's ids (unknown to them,
 * refused as any unknown id).
 *
 * @module
 */

import type { Hub } from "./hub.ts";
import type { Session } from "./session.ts";
import type { PrivateDeletedEvent } from "./events.ts";
import { isId } from "./ids.ts";
import { nameKey } from "./protocol.ts";
import { type FoundPrivate, otherOf } from "./private.ts";

/** Ids said back in a refusal are cut to this: what the client sent, not at any length. */
const ID_SHOWN = 32;

/**
 * The kept private message `id` of logged-in `session`'s conversations (of the one with
 * `name`, if given), if there is one (`/delete ID` then deletes it: rooms are looked in first).
 */
export function findOwn(
  hub: Hub,
  session: Session,
  id: string,
  name?: string,
): FoundPrivate | undefined {
  const key = session.member.account;
  if (key === null || !isId(id)) return undefined;
  // One binary search per conversation of the account (2.2 ms for a miss across 1,000 of
  // 1,000 lines each in memory), so looked up once per command.
  const found = hub.privates.find(key, id);
  return found !== undefined && (name === undefined || otherKey(found.pair, key) === nameKey(name))
    ? found
    : undefined;
}

/**
 * Deletes the kept private message `id` of logged-in `session`'s conversations (of the
 * one with `name`, if given; `found`: it, looked up already) if `session` wrote it (or is
 * a server operator); else refused (`noSuchMessage`: not one of its conversations' ids;
 * `deleteForbidden`: the other's).
 */
export function deletePrivate(
  hub: Hub,
  session: Session,
  id: string,
  name?: string,
  found: FoundPrivate | undefined = findOwn(hub, session, id, name),
): void {
  const member = session.member;
  const key = member.account;
  if (key === null) return hub.refuse(session, { code: "notLoggedIn" });
  if (found === undefined) {
    return hub.refuse(session, {
      code: "noSuchMessage",
      with: (name ?? "").slice(0, 64), // as given (IRC), not at any length
      id: id.slice(0, ID_SHOWN),
    });
  }
  const { pair, entry } = found;
  const other = otherOf(entry, key);
  if (nameKey(entry.account) !== key && !hub.isServerOperator(session)) {
    return hub.refuse(session, { code: "deleteForbidden", with: other, id: entry.id });
  }
  const by = member.name!;
  // A guest's side is named by its name (it is never told: see `tellAccount`).
  const author = entry.account || entry.from;
  const recipient = entry.toAccount || entry.to;
  privateDeleted(hub, pair, entry.id, by, author, recipient);
  hub.cluster?.publish({ t: "pdelete", p: pair, id: entry.id, by, a: author, to: recipient });
  // Taking back one's own words is no moderation; a server operator's deleting is, logged
  // without the text or who it was between.
  if (nameKey(entry.account) !== key) {
    hub.log.event({
      event: "moderation",
      name: by,
      text: "delete",
      target: `${entry.id} (private)`,
    });
    hub.metrics.moderation.with("delete").inc();
  }
}

/**
 * The private message `id` of `pair`, from the account `author` to `recipient`, was
 * deleted by `by` (here or on another server): the store forgets it, and every session
 * of both accounts here is told.
 */
export function privateDeleted(
  hub: Hub,
  pair: string,
  id: string,
  by: string,
  author: string,
  recipient: string,
): void {
  hub.privates.remove(pair, id);
  const time = Date.now();
  const sides = pair.split(" ");
  const sent = { type: "privateDeleted", time, id, with: recipient, by, sent: true } as const;
  tellAccount(hub, sides, author, sent);
  tellAccount(hub, sides, recipient, { ...sent, with: author, sent: false });
}

/**
 * Tells every session of the account `account` (if it is logged in here and is a side of
 * the conversation `sides`) `event`: a guest's side (`~name`) is never told, nor a later
 * account of that name.
 */
function tellAccount(
  hub: Hub,
  sides: readonly string[],
  account: string,
  event: PrivateDeletedEvent,
): void {
  const key = nameKey(account);
  if (!sides.includes(key)) return;
  const member = hub.members.get(key);
  if (member === undefined || member.account !== key) return;
  for (const each of member.connections()) each.tell(event);
}

/** The key of the account (or guest, without its `~`) on the other side of `pair` from `key`. */
function otherKey(pair: string, key: string): string {
  const [a, b] = pair.split(" ");
  const other = a === key ? b : a;
  return other.startsWith("~") ? other.slice(1) : other;
}
