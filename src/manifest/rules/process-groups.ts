/**
 * Rules for `processGroups` (manifest v1.1): named sets of services that commands act on as one, as
 * supervisorctl acts on a `[group:x]` with `start x:*` (supervisord docs, "[group:x] Section Settings",
 * `programs=`). A group name follows the service name rule and is not also a service name (a name on the
 * command line means one thing); every member is a service of the manifest, listed once; a service may be in
 * several groups; an empty group is an error. The shape (an object of string lists) is the schema's.
 */
import type { Problem } from "../../errors";
import { closestNames } from "../../model/suggest";
import { SERVICE_NAME } from "../schema";
import type { ManifestView } from "../view";
import { SPECIAL_KEYS } from "./names";

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** The path of one member as the errors name it: `processGroups.NAME[I]`. */
export const memberPath = (group: string, index: number): string => `processGroups.${group}[${index}]`;

/** Error Problems for `processGroups` of `raw`, checked against the services of `view`. */
export function processGroupRules(raw: unknown, view: ManifestView): Problem[] {
  const m = isObject(raw) ? raw : {};
  if (!isObject(m.processGroups)) return []; // absent, or a wrong shape the schema reports
  const problems: Problem[] = [];
  const services = view.services.map((s) => s.name);
  const serviceSet = new Set(services);
  const err = (path: string, value: unknown, message: string, fix: string) =>
    problems.push({ severity: "error", path, field: path, value, message, fix });
  for (const [name, members] of Object.entries(m.processGroups)) {
    const path = `processGroups.${name}`;
    if (SPECIAL_KEYS.has(name))
      err(
        path,
        name,
        `"${name}" cannot be a process group name: JavaScript objects treat this key specially, so tools reading the manifest would drop or misread it`,
        `rename it, e.g. "${name.replace(/_/g, "")}_group"`,
      );
    else if (name === "all" || name === "*")
      err(
        path,
        name,
        `"${name}" cannot be a process group name: supervisorctl and orchestrate read it as every program`,
        `rename it, e.g. "${name === "all" ? "all_group" : "group"}"`,
      );
    else if (!SERVICE_NAME.test(name)) {
      const suggestion = name
        .toLowerCase()
        .replace(/[^a-z0-9_.-]+/g, "_")
        .replace(/^[^a-z0-9]+/, "");
      err(
        path,
        name,
        `process group name "${name}" does not match ${SERVICE_NAME} (the rule of service names: lower-case letters, digits, "_", ".", "-"; first a letter or digit)`,
        suggestion ? `rename it to "${suggestion}"` : "choose a name such as workers",
      );
    } else if (serviceSet.has(name))
      err(
        path,
        name,
        `"${name}" is both a process group and a service: a name given to start, stop or restart must mean one thing`,
        `rename the process group (e.g. "${name}_group") or the service ${name}`,
      );
    if (!Array.isArray(members)) continue; // the schema reports it
    if (members.length === 0) {
      err(
        path,
        members,
        `process group ${name} is empty: a group names at least one service`,
        services.length
          ? `list its services, e.g. "${name}": ["${services[0]}"], or remove the group`
          : "remove the group",
      );
      continue;
    }
    const seen = new Set<string>();
    members.forEach((member, i) => {
      if (typeof member !== "string") return; // the schema reports it
      const at = memberPath(name, i);
      if (seen.has(member))
        err(at, member, `process group ${name} lists ${member} twice`, `remove the repeated "${member}"`);
      seen.add(member);
      if (serviceSet.has(member)) return;
      const near = closestNames(member, services);
      err(
        at,
        member,
        `process group ${name} names "${member}", which is not a service of this manifest`,
        near.length
          ? `did you mean ${near.map((n) => `"${n}"`).join(" or ")}?`
          : services.length
            ? `known services: ${services.join(", ")}`
            : "the manifest has no services",
      );
    });
  }
  return problems;
}
