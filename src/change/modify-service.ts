/**
 * modify-service — the four steps of changing a service, as one plan for the change pipeline
 * (./pipeline.ts): the change validated with the rest, written under the lock, units/ regenerated,
 * test-start when the port changes (the running program holds the old one), then only that program
 * restarted, verified, and the old port checked released.
 */
import { UsageError } from "../errors";
import type { LoadedProject } from "../manifest";
import { findService } from "../model/lookup";
import type { Operation } from "../progress/operation";
import { counted } from "../progress/text";
import { proposedProject, runChange, type ChangePlan, type ChangeResult, type ChangeStep } from "./pipeline";
import { requirePortFree } from "./port-checks";
import { scaleEntry, type Scaling } from "./instances";

/** The flags of `orchestrate modify-service`; an absent field leaves that setting as it is. */
export interface ModifyServiceOptions {
  name: string;
  port?: number;
  command?: string;
  group?: string;
  /** variables to set (applied after `unsetEnv`) */
  env: Record<string, string>;
  /** env keys to remove */
  unsetEnv: string[];
  /** a new health path; false removes the health check */
  health?: string | false;
  /** replaces dependsOn; [] removes it */
  dependsOn?: string[];
  description?: string;
  /** a new instance count (scale up: new ports written into the manifest; scale down: the highest stop) */
  instances?: number;
  /** print the diff; write nothing */
  dryRun?: boolean;
}

/**
 * Runs modify-service through the change pipeline.
 * @throws UnknownServiceError / UsageError (exit 2, nothing written): unknown service, a port in use,
 *   nothing to change; ManifestError when the change makes the manifest invalid.
 */
export function modifyService(op: Operation, o: ModifyServiceOptions): Promise<ChangeResult> {
  return runChange(op, (before, manager) => planModifyService(before, manager, o), { dryRun: o.dryRun });
}

/** Builds the plan; the new port is checked free here (bad input, nothing written). */
export async function planModifyService(
  before: LoadedProject,
  manager: { label: string },
  o: ModifyServiceOptions,
): Promise<ChangePlan> {
  const old = findService(before.model, o.name);
  const raw = structuredClone(before.source.raw) as { services: Record<string, Record<string, unknown>> };
  const entry = raw.services[o.name];
  const changes: string[] = [];
  const set = (key: string, value: unknown, text: string) => {
    if (JSON.stringify(entry[key]) === JSON.stringify(value)) return;
    if (value === undefined) delete entry[key];
    else entry[key] = value;
    changes.push(text);
  };
  if (o.port !== undefined && o.port !== old.port) {
    await requirePortFree(
      o.port,
      "--port",
      'choose a free port ("orchestrate ports" shows the next free one of each group)',
    );
    set("port", o.port, `port ${old.port ?? "none"} → ${o.port}`);
  }
  if (o.command !== undefined) set("command", o.command, `command → ${o.command}`);
  if (o.group !== undefined) set("group", o.group, `group ${old.group ?? "none"} → ${o.group}`);
  if (o.description !== undefined) set("description", o.description, `description → ${o.description}`);
  if (o.health !== undefined)
    set(
      "health",
      o.health === false ? undefined : o.health,
      o.health === false ? "health check removed" : `health → ${o.health}`,
    );
  if (o.dependsOn !== undefined)
    set("dependsOn", o.dependsOn.length ? o.dependsOn : undefined, `dependsOn → [${o.dependsOn.join(", ")}]`);
  if (Object.keys(o.env).length || o.unsetEnv.length) {
    const env = { ...((entry.env as Record<string, string>) ?? {}) };
    for (const k of o.unsetEnv) delete env[k];
    Object.assign(env, o.env);
    set(
      "env",
      Object.keys(env).length ? env : undefined,
      [...Object.keys(o.env).map((k) => `env ${k} set`), ...o.unsetEnv.map((k) => `env ${k} removed`)].join(", "),
    );
  }
  const otherChanges = changes.length;
  let scaling: Scaling | undefined;
  if (o.instances !== undefined && (o.instances !== old.instances.length || !old.multi)) {
    scaling = await scaleEntry(before.model, o.name, entry, old, o.instances);
    changes.push(...scaling.changes);
  }
  if (!changes.length)
    throw new UsageError(
      `nothing to change for ${o.name}: every given value equals the current one`,
      "pass at least one of --port, --instances, --command, --env, --unset-env, --health, --no-health, --group, --depends-on, --description",
    );
  const after = proposedProject(before, raw);
  const service = findService(after.model, o.name);
  const portChanged = old.port !== service.port;
  const oldPrograms = new Set(old.instances.map((i) => i.program));
  const newPrograms = service.instances.filter((i) => !oldPrograms.has(i.program));
  const gone = old.instances.filter((i) => !service.instances.some((n) => n.program === i.program));
  // only the instance count changed: the other instances keep running untouched (same program config)
  const onlyScaled = scaling !== undefined && otherChanges === 0 && !portChanged;
  const firstNew = newPrograms.find((i) => i.port !== undefined);
  const testStart: ChangeStep =
    onlyScaled && firstNew && service.enabled
      ? {
          kind: "test-start",
          service: o.name,
          instance: firstNew.index,
          title: `test-start ${firstNew.label} alone on port ${firstNew.port}`,
        }
      : portChanged && service.enabled
        ? { kind: "test-start", service: o.name, title: `test-start ${o.name} alone on port ${service.port}` }
        : {
            kind: "skip",
            title: "test-start",
            reason: service.enabled
              ? `port unchanged: the running program holds ${service.port ?? "no port"}; checked by apply and verify`
              : "disabled",
          };
  return {
    command: `modify-service ${o.name}`,
    before,
    after,
    changes,
    touchesManager: true,
    requireEnabled: o.name,
    dryRunNotes: [],
    success: `modified ${o.name}: ${changes.join("; ")}`,
    steps: [
      { kind: "report", title: "check the change", details: changes, summary: counted(changes.length, "change") },
      { kind: "write-manifest", title: "write manifest.json (validated with the rest)" },
      { kind: "generate", title: "generate units/" },
      testStart,
      {
        kind: "apply",
        title: onlyScaled
          ? `apply: ${newPrograms.length ? `start ${newPrograms.map((i) => i.label).join(" ")}` : `stop ${gone.map((i) => i.label).join(" ")}`}; the other instances keep running`
          : `apply: restart only ${o.name}`,
        start: [o.name],
        startPrograms: onlyScaled ? newPrograms.map((i) => i.program) : undefined,
        restartAfterRollback: onlyScaled ? gone.map((i) => i.program) : old.instances.map((i) => i.program),
        whenDown: {
          status: "warn",
          summary: `${manager.label} is not running: the change applies at the next "orchestrate restart"`,
        },
      },
      {
        kind: "verify",
        title: "verify" + (portChanged && old.port ? ` (and port ${old.port} released)` : ""),
        focus: [o.name],
        released: [
          ...(portChanged && old.port !== undefined ? [{ port: old.port, label: "old port" }] : []),
          ...(scaling?.removed ?? []).map((port) => ({ port, label: "port of a removed instance" })),
        ],
        whenDown: "nothing running",
      },
    ],
  };
}
