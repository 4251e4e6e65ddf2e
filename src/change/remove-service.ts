/**
 * remove-service — the five steps of removing a service, as one plan for the change pipeline
 * (./pipeline.ts): refuse while another service dependsOn it (unless --force, which also drops it from
 * their dependsOn), stop the program, remove the entry (and its name from every process group; a group left
 * empty goes too), regenerate (its files disappear, nothing else),
 * remove it from the manager, verify the rest and that its port is released.
 */
import { UsageError } from "../errors";
import type { LoadedProject } from "../manifest";
import { findService } from "../model/lookup";
import type { Operation } from "../progress/operation";
import { proposedProject, runChange, type ChangePlan, type ChangeResult } from "./pipeline";

/** The flags of `orchestrate remove-service`. */
export interface RemoveServiceOptions {
  name: string;
  /** drop it from dependents' dependsOn instead of refusing */
  force?: boolean;
  /** print the diff; write nothing */
  dryRun?: boolean;
}

/**
 * Runs remove-service through the change pipeline.
 * @throws UsageError (exit 2, nothing written) while dependents exist without force; UnknownServiceError.
 */
export function removeService(op: Operation, o: RemoveServiceOptions): Promise<ChangeResult> {
  return runChange(op, (before, manager) => planRemoveService(before, manager, o), { dryRun: o.dryRun });
}

/** Builds the plan. */
export async function planRemoveService(
  before: LoadedProject,
  manager: { label: string },
  o: RemoveServiceOptions,
): Promise<ChangePlan> {
  const old = findService(before.model, o.name);
  const dependents = before.model.services.filter((s) => s.dependsOn.includes(o.name));
  if (dependents.length && !o.force)
    throw new UsageError(
      `${dependents.map((s) => s.name).join(", ")} ${dependents.length === 1 ? "depends" : "depend"} on ${o.name}`,
      `remove ${dependents.length === 1 ? "that dependency" : "those dependencies"} first, or pass --force to drop ${o.name} from their dependsOn`,
    );
  const raw = structuredClone(before.source.raw) as {
    services: Record<string, Record<string, unknown>>;
    processGroups?: Record<string, string[]>;
  };
  // {port:NAME}/{url:NAME} cannot be resolved once NAME is gone, and --force cannot guess the new value
  const refs = referencesTo(raw.services, o.name);
  if (refs.length)
    throw new UsageError(
      `${o.name} is referenced by ${refs.join(", ")}: those values would name a service that no longer exists`,
      `change or remove ${refs.length === 1 ? "that value" : "those values"} first (e.g. "orchestrate modify-service NAME --unset-env KEY"); --force only drops dependsOn`,
    );
  delete raw.services[o.name];
  const changes = [`removed ${o.name}${old.port !== undefined ? ` (port ${old.port} freed)` : ""}`];
  for (const d of dependents) {
    const deps = (raw.services[d.name].dependsOn as string[]).filter((n) => n !== o.name);
    if (deps.length) raw.services[d.name].dependsOn = deps;
    else delete raw.services[d.name].dependsOn;
    changes.push(`${d.name} no longer depends on ${o.name} (--force)`);
  }
  // a process group names a set of services: it loses the member (manifest processGroups)
  for (const g of before.model.processGroups.filter((g) => g.services.includes(o.name))) {
    const members = raw.processGroups![g.name].filter((n) => n !== o.name);
    if (members.length) raw.processGroups![g.name] = members;
    else delete raw.processGroups![g.name];
    changes.push(
      members.length
        ? `process group ${g.name} no longer lists ${o.name}`
        : `process group ${g.name} removed (it held only ${o.name})`,
    );
  }
  if (raw.processGroups && Object.keys(raw.processGroups).length === 0) delete raw.processGroups;
  const after = proposedProject(before, raw);
  // --force changed the dependents' programs (dependsOn → priority): the manager restarts them on apply, so
  // wait for them to be ready as well, or verify would catch them STARTING
  // — and every service whose dependency level (so its priority) moved with it
  const priorityBefore = new Map(before.model.services.map((s) => [s.name, s.programPriority]));
  const restartedDependents = after.model.services
    .filter(
      (s) =>
        s.enabled && (dependents.some((d) => d.name === s.name) || priorityBefore.get(s.name) !== s.programPriority),
    )
    .map((s) => s.name);
  return {
    command: `remove-service ${o.name}`,
    before,
    after,
    changes,
    touchesManager: true,
    dryRunNotes: [],
    success: `removed ${o.name}`,
    steps: [
      {
        kind: "report",
        title: "check dependents",
        details: dependents.map((d) => `${d.name} dependsOn ${o.name}: dropped (--force)`),
        summary: dependents.length ? `${dependents.length} dependency dropped` : "none",
      },
      { kind: "stop", service: o.name },
      { kind: "write-manifest", title: "write manifest.json", summary: `${o.name} removed` },
      { kind: "generate", title: "generate units/ (its files disappear, nothing else)" },
      {
        kind: "apply",
        title: `apply: remove ${o.name} from ${manager.label}`,
        start: restartedDependents,
        restartAfterRollback: [],
        whenDown: { status: "skip", summary: "the process manager is not running" },
      },
      {
        kind: "verify",
        title: `verify the rest${old.port !== undefined ? ` and that port ${old.port} is released` : ""}`,
        focus: [],
        released: old.port !== undefined ? [{ port: old.port, label: "port" }] : [],
        whenDown: "nothing running",
      },
    ],
  };
}

/** `services.X.env.K` / `services.X.command` of other services whose text holds `{port:NAME}` or `{url:NAME}`. */
function referencesTo(services: Record<string, Record<string, unknown>>, name: string): string[] {
  const pattern = new RegExp(`(?<!\\{)\\{(port|url):${name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\\}`);
  const found: string[] = [];
  for (const [other, entry] of Object.entries(services)) {
    if (other === name) continue;
    for (const [key, value] of Object.entries((entry.env as Record<string, unknown>) ?? {}))
      if (typeof value === "string" && pattern.test(value)) found.push(`services.${other}.env.${key}`);
    const command = Array.isArray(entry.command) ? entry.command.join(" ") : String(entry.command ?? "");
    if (pattern.test(command)) found.push(`services.${other}.command`);
  }
  return found;
}
