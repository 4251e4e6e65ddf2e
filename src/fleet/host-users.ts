/**
 * `user` names that do not exist on this host. supervisord resolves `user=` of every program when it reads
 * its configuration (supervisor/options.py `name_to_uid` → pwd.getpwnam) and refuses the WHOLE file on an
 * unknown one ("Invalid user name"), so nothing runs; systemd fails just that unit (status 217/USER,
 * systemd.exec(5) `User=`). A user is a fact of the host, not of the manifest: `validate` reports it as a
 * warning (the manifest may be meant for another machine; `validate --live` makes it an error), and every
 * command that runs programs on this host (restart, start, add/modify-service, test-start, recover)
 * refuses it before the manager is touched or anything is written.
 */
import { UsageError } from "../errors";
import { run } from "../exec/run";
import { userIds } from "../inspect/processes";
import type { Model } from "../model/types";

/** One unknown user: the service, the field and the value. */
export interface UnknownUser {
  service: string;
  user: string;
}

/** Whether `name` resolves like pwd.getpwnam does: /etc/passwd, else `getent passwd` (NSS: LDAP, sssd…). */
export async function userExists(name: string): Promise<boolean> {
  if (userIds(name)) return true;
  const r = await run("getent", ["passwd", name], { timeoutMs: 5000 });
  if (r.failedToStart) return false;
  return r.exitCode === 0 && r.stdout.trim() !== "";
}

/** Enabled services whose `user` does not exist on this host, in manifest order. */
export async function unknownUsers(model: Model): Promise<UnknownUser[]> {
  const found: UnknownUser[] = [];
  const cache = new Map<string, boolean>();
  for (const s of model.services) {
    if (!s.enabled || s.user === undefined) continue;
    if (!cache.has(s.user)) cache.set(s.user, await userExists(s.user));
    if (!cache.get(s.user)) found.push({ service: s.name, user: s.user });
  }
  return found;
}

/** The message of one unknown user: service, field, value, why it matters and the fix. */
export function unknownUserMessage(u: UnknownUser): string {
  return (
    `services.${u.service}.user: user ${JSON.stringify(u.user)} does not exist on this host ` +
    `(supervisord would refuse the whole configuration: "Invalid user name"); ` +
    `create it (useradd --system ${u.user}) or remove "user"`
  );
}

/**
 * Refuses a model naming a user this host does not have, before anything is written or started.
 * @throws UsageError (exit 2) listing every such service.
 */
export async function requireHostUsers(model: Model): Promise<void> {
  const unknown = await unknownUsers(model);
  if (!unknown.length) return;
  throw new UsageError(
    unknown.map(unknownUserMessage).join("\n"),
    `create the user${unknown.length > 1 ? "s" : ""} on this host, or remove "user" from the service${unknown.length > 1 ? "s" : ""}; nothing was started or written`,
  );
}
