/**
 * `[group:x] programs=a,b` → manifest `processGroups.x = [service of a, service of b]`: the membership is
 * kept, so `orchestrate start|stop|restart x` acts on the group as `supervisorctl start x:*` did (supervisord
 * docs, "[group:x] Section Settings"). orchestrate renders no `[group:]` section (it names every program
 * itself), so supervisorctl shows each process as PROGRAM instead of x:PROGRAM: that difference, and the group's
 * `priority=`, are said in the report.
 */
import { toServiceName } from "../import-legacy";
import type { ImportReport } from "./report";

/** One `[group:x]` section as read: its name and the section names of its members (`program:a`), in order. */
export interface GroupRead {
  name: string;
  /** `file:line: [group:x]`, for errors. */
  where: string;
  members: string[];
  /** The group's `priority=`, as written, when there is one. */
  priority?: string;
}

/**
 * The manifest's `processGroups` for the groups read. `serviceOf` maps a member's section name to the service
 * it became (fcgi-programs become none: left out, and a group left empty is not carried). A group name is made
 * a valid service name; one that equals a service name (or another group's) gets `_group` appended, except a
 * group whose only member is that same service, which is dropped (`orchestrate start NAME` already means it).
 * Every group is reported with the services it affects.
 */
export function importGroups(
  groups: GroupRead[],
  serviceOf: Map<string, string>,
  services: readonly string[],
  report: ImportReport,
): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  const taken = new Set(services);
  for (const g of groups) {
    const members = [...new Set(g.members.map((m) => serviceOf.get(m)).filter((s): s is string => !!s))];
    const ordered = services.filter((s) => members.includes(s));
    const at = `[group:${g.name}]`;
    if (g.priority !== undefined)
      report.add(
        "not carried",
        `${at} priority=${g.priority} (the order supervisord starts its groups in): orchestrate starts by dependsOn, then each service's priority; each member keeps its own priority=`,
        ordered,
      );
    if (ordered.length === 0) {
      report.add(
        "not carried",
        `${at}: none of its programs (${g.members.map((m) => m.split(":")[1]).join(", ")}) became a service, so the group is not kept`,
      );
      continue;
    }
    const valid = toServiceName(g.name, g.where);
    if (ordered.length === 1 && ordered[0] === valid) {
      report.add(
        "changed",
        `${at} holds only ${valid}: no process group is kept (\`orchestrate start ${valid}\` already names it); supervisorctl shows the process as ${valid}, not ${g.name}:${valid}`,
        ordered,
        ["group"],
      );
      continue;
    }
    let name = valid;
    for (let n = 1; taken.has(name); n++) name = `${valid}_group${n === 1 ? "" : n}`;
    const renamed =
      name === g.name
        ? ""
        : name === valid
          ? ` (renamed: ${g.name} is not a valid name)`
          : ` (renamed: ${valid} is also the name of a ${services.includes(valid) ? "service" : "group"})`;
    taken.add(name);
    out[name] = ordered;
    report.add(
      "changed",
      `${at} becomes processGroups.${name}${renamed}: \`orchestrate start|stop|restart ${name}\` acts on them as \`supervisorctl start ${g.name}:*\` did; supervisorctl shows each process as PROGRAM, not ${g.name}:PROGRAM (orchestrate renders no [group:] section)`,
      ordered,
      ["group"],
    );
  }
  return out;
}
