/**
 * add-service — the seven-step checklist of adding a service, as one plan for the change pipeline
 * (./pipeline.ts): 1 port, 2 manifest (validated, atomic, under the lock), 3 hardcoded ports in the
 * service's code (warning), 4 units/, 5 test-start, 6 apply (only the new program; every other keeps its
 * PID), 7 verify. Any failure restores everything.
 */
import { UsageError } from "../errors";
import type { LoadedProject } from "../manifest";
import { findService } from "../model/lookup";
import type { Operation } from "../progress/operation";
import { allocatePort } from "./allocate-port";
import { proposedProject, runChange, type ChangePlan, type ChangeResult, type ChangeStep } from "./pipeline";
import { requirePortFree } from "./port-checks";
import { scaleEntry } from "./instances";

/** The flags of `orchestrate add-service`. */
export interface AddServiceOptions {
  name: string;
  /** POSIX-shell words, as in the manifest's command */
  command: string;
  group?: string;
  /** default: the lowest free port of `group`; a reserved port needs `useReserved` */
  port?: number;
  /** working directory relative to the manifest's folder (default .) */
  dir?: string;
  env: Record<string, string>;
  envFile?: string;
  health?: string;
  dependsOn: string[];
  description?: string;
  technology?: string;
  /** write manifest and units/ only: skip test-start, apply and verify */
  noStart?: boolean;
  /** instances (processes), each on its own port: port + i, or the lowest free ports of the group */
  instances?: number;
  /** print the chosen port and the diff; write nothing */
  dryRun?: boolean;
  /** allow a port of ports.reserved (and release it from there) */
  useReserved?: boolean;
}

type Raw = { services: Record<string, unknown>; ports?: { reserved?: Record<string, string> } };

/**
 * Runs add-service through the change pipeline.
 * @throws UsageError (exit 2, nothing written) for a name that exists, an unknown group, a port in use or
 *   reserved, a group without a free port; ManifestError for a manifest the new entry makes invalid.
 */
export function addService(op: Operation, o: AddServiceOptions): Promise<ChangeResult> {
  return runChange(op, (before, manager) => planAddService(before, manager, o), { dryRun: o.dryRun });
}

/** Builds the plan: the port (step 1) is chosen here, so a bad port is bad input before anything is written. */
export async function planAddService(
  before: LoadedProject,
  manager: { label: string },
  o: AddServiceOptions,
): Promise<ChangePlan> {
  const existing = before.model.services.find((s) => s.name === o.name);
  if (existing)
    throw new UsageError(
      `service "${o.name}" already exists (port ${existing.port ?? "none"})`,
      `use "orchestrate modify-service ${o.name}" to change it, or choose another name`,
    );
  if (o.group !== undefined && !before.model.groups.some((g) => g.name === o.group)) {
    // validation would say it too; saying it first keeps the message about the flag
    throw new UsageError(
      `unknown group "${o.group}" (--group)`,
      `known groups: ${before.model.groups.map((g) => g.name).join(", ") || "none: add one to the manifest"}`,
    );
  }
  let port = o.port;
  const portNotes: string[] = [];
  const raw = structuredClone(before.source.raw) as Raw;
  if (port !== undefined) {
    await requirePortFree(
      port,
      "--port",
      'choose another port, or omit --port to get the next free one of the group ("orchestrate check-ports" shows every holder)',
    );
    const reason = before.model.ports.reserved.get(port);
    if (reason !== undefined) {
      if (!o.useReserved)
        throw new UsageError(
          `port ${port} is reserved: ${reason}`,
          "pass --use-reserved to give it to this service deliberately",
        );
      delete raw.ports!.reserved![String(port)];
      portNotes.push(`reserved port ${port} released (${reason})`);
    }
  } else if (o.group !== undefined) {
    const allocation = await allocatePort(before.model, o.group);
    port = allocation.port;
    for (const s of allocation.skipped) portNotes.push(`skipped ${s.port}: held by ${s.holder}`);
  }
  raw.services[o.name] = entryOf(o, port);
  if (o.instances !== undefined) {
    const entry = raw.services[o.name] as Record<string, unknown>;
    const scaling = await scaleEntry(before.model, o.name, entry, undefined, o.instances);
    portNotes.push(...scaling.changes.filter((c) => !c.startsWith("instances ")));
  }
  const after = proposedProject(before, raw);
  findService(after.model, o.name);
  const start: ChangeStep[] = o.noStart
    ? ["test-start", "apply", "verify"].map((title) => ({ kind: "skip", title, reason: "--no-start" }))
    : [
        { kind: "test-start", service: o.name, title: `test-start ${o.name} alone` },
        {
          kind: "apply",
          title: `apply: add ${o.name} to the running ${manager.label}`,
          start: [o.name],
          restartAfterRollback: [],
          whenDown: {
            status: "warn",
            summary: `${manager.label} is not running: ${o.name} starts with the fleet ("orchestrate restart")`,
          },
        },
        {
          kind: "verify",
          title: "verify the new service and all the others",
          focus: [o.name],
          released: [],
          whenDown: "nothing running to verify",
        },
      ];
  return {
    command: `add-service ${o.name}`,
    before,
    after,
    changes: [`added ${o.name}${port !== undefined ? ` on port ${port}` : " (worker, no port)"}`, ...portNotes],
    touchesManager: !o.noStart,
    rememberGood: !o.noStart,
    dryRunNotes: [`port chosen: ${port ?? "none (worker)"}`, ...portNotes.map((n) => `  ${n}`)],
    success: `added ${o.name}${port !== undefined ? ` on port ${port}` : ""}`,
    steps: [
      {
        kind: "report",
        title: "choose the port",
        details: portNotes,
        summary:
          port !== undefined
            ? `${port}${o.port === undefined ? ` (lowest free port of group ${o.group})` : " (given)"}`
            : "none: a worker",
      },
      { kind: "write-manifest", title: "write manifest.json (validated with the rest)", summary: `${o.name} added` },
      { kind: "scan-code", service: o.name },
      { kind: "generate", title: "generate units/" },
      ...start,
    ],
  };
}

/** The manifest entry of the new service: only the keys that were given. */
function entryOf(o: AddServiceOptions, port: number | undefined): Record<string, unknown> {
  const entry: Record<string, unknown> = {};
  if (o.group !== undefined) entry.group = o.group;
  if (port !== undefined) entry.port = port;
  entry.command = o.command;
  if (o.dir !== undefined && o.dir !== ".") entry.directory = o.dir;
  if (Object.keys(o.env).length) entry.env = o.env;
  if (o.envFile) entry.envFile = o.envFile;
  if (o.description) entry.description = o.description;
  if (o.technology) entry.technology = o.technology;
  if (o.dependsOn.length) entry.dependsOn = o.dependsOn;
  if (o.health) entry.health = o.health;
  return entry;
}
