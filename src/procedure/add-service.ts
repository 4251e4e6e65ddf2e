/**
 * add-service — seed 002's seven steps as one transaction: 1 port, 2 manifest (validated, atomic, under
 * the lock), 3 hardcoded ports in the service's code (warning), 4 units/, 5 test-start, 6 apply (only the
 * new program; every other keeps its PID), 7 verify. Any failure restores everything.
 */
import type { Context } from "../cli/context";
import { createBackend } from "../backend";
import { UsageError } from "../errors";
import { listenersByPort } from "../inspect/listeners";
import { isPortFree } from "../inspect/port-probe";
import { findService } from "../model/lookup";
import { describeHolder } from "../verify/ownership";
import { writeFileAtomicSync } from "../write/atomic";
import { allocatePort } from "./allocate-port";
import {
  applyAndWait,
  withChange,
  failingNow,
  printDryRun,
  proposedProject,
  rememberGood,
  verifyAfterChange,
} from "./change-steps";
import { generateUnits, summarizePlan } from "./generate";
import { scanServiceCode } from "./lint-service";
import { takeSnapshot } from "./snapshot";
import { subSteps } from "./report";
import { testStart } from "./test-start";
import { step, StepFailed, transact } from "./transaction";

/** The flags of `orchestrate add-service` (seed 002's seven steps). */
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
  /** print the chosen port and the diff; write nothing */
  dryRun?: boolean;
  /** allow a port of ports.reserved (and release it from there) */
  useReserved?: boolean;
}

type Raw = { services: Record<string, unknown>; ports?: { reserved?: Record<string, string> } };

/** Runs add-service. Exit code: 0 done, 1 a step failed and everything was rolled back, 2 bad input (nothing written). */
export async function addService(ctx: Context, o: AddServiceOptions): Promise<number> {
  return withChange(ctx, async (path, before) => {
    if (before.model.services.some((s) => s.name === o.name))
      throw new UsageError(
        `service "${o.name}" already exists (port ${findService(before.model, o.name).port ?? "none"})`,
        `use "orchestrate modify-service ${o.name}" to change it, or choose another name`,
      );
    if (o.group !== undefined && !before.model.groups.some((g) => g.name === o.group)) {
      // validation would say it too; saying it first keeps the message about the flag
      throw new UsageError(
        `unknown group "${o.group}" (--group)`,
        `known groups: ${before.model.groups.map((g) => g.name).join(", ") || "none: add one to the manifest"}`,
      );
    }

    // step 1 is computed before the transaction: a bad port is bad input (exit 2, nothing written)
    let port = o.port;
    const portNotes: string[] = [];
    const raw = structuredClone(before.source.raw) as Raw;
    if (port !== undefined) {
      const holders = (await listenersByPort([port])).get(port) ?? [];
      if (holders.length || !(await isPortFree(port)))
        throw new UsageError(
          `port ${port} (--port) is in use by ${holders.length ? describeHolder(holders[0]) : "another process"}`,
          'choose another port, or omit --port to get the next free one of the group ("orchestrate check-ports" shows every holder)',
        );
      if (before.model.ports.reserved.has(port)) {
        if (!o.useReserved)
          throw new UsageError(
            `port ${port} is reserved: ${before.model.ports.reserved.get(port)}`,
            "pass --use-reserved to give it to this service deliberately",
          );
        delete raw.ports!.reserved![String(port)];
        portNotes.push(`reserved port ${port} released (${before.model.ports.reserved.get(port)})`);
      }
    } else if (o.group !== undefined) {
      const allocation = await allocatePort(before.model, o.group);
      port = allocation.port;
      for (const s of allocation.skipped) portNotes.push(`skipped ${s.port}: held by ${s.holder}`);
    }
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
    raw.services[o.name] = entry;
    const after = proposedProject(before, raw);
    const service = findService(after.model, o.name);
    const changes = [`added ${o.name}${port !== undefined ? ` on port ${port}` : " (worker, no port)"}`, ...portNotes];

    if (o.dryRun) {
      ctx.stdout.write(`port chosen: ${port ?? "none (worker)"}\n${portNotes.map((n) => `  ${n}\n`).join("")}`);
      printDryRun(ctx, before, after);
      return 0;
    }

    const snapshot = takeSnapshot(
      after.model.paths,
      before.source.text,
      after.rendered.map((f) => f.path),
    );
    const backend = createBackend(after.model, { kind: ctx.backend, ...ctx.systemd });
    // systemd that is not there is bad news before anything is written, not a "starts with the fleet" later
    if (backend.kind === "systemd" && !o.noStart) await backend.ensureRunning();
    const code = await transact(
      ctx,
      { command: `add-service ${o.name}`, paths: after.model.paths, snapshot, changes, total: 7 },
      async (state) => {
        await step(
          state,
          "choose the port",
          async (s) => {
            for (const n of portNotes) s.detail(n);
          },
          () =>
            port !== undefined
              ? `${port}${o.port === undefined ? ` (lowest free port of group ${o.group})` : " (given)"}`
              : "none: a worker",
        );
        await step(
          state,
          "write manifest.json (validated with the rest)",
          async () => writeFileAtomicSync(path, after.source.text),
          () => `${o.name} added`,
        );
        await step(
          state,
          "scan the service's code for hardcoded ports",
          async (s) => {
            const findings = await scanServiceCode(after.model, service);
            for (const f of findings) s.detail(`warning ${f.file}:${f.line}: ${f.text} — ${f.fix}`);
            return findings.length;
          },
          (n) => (n ? `${n} warning${n === 1 ? "" : "s"} (not fatal)` : "no hardcoded port"),
        );
        await step(
          state,
          "generate units/",
          async () => summarizePlan(generateUnits(after.model, { write: true })),
          (s) => s,
        );
        if (o.noStart) {
          for (const title of ["test-start", "apply", "verify"]) state.report.begin(title).skip("--no-start");
          return;
        }
        await step(
          state,
          `test-start ${o.name} alone`,
          async (s) => {
            const result = await testStart(after.model, service, subSteps(s));
            if (!result.ok)
              throw new StepFailed(
                `${result.failure}${result.output.trim() ? `\n${result.output.trimEnd().split("\n").slice(-10).join("\n").replace(/^/gm, "        | ")}` : ""}`,
              );
          },
          () => "passed",
        );
        if (!(await backend.isRunning())) {
          state.report
            .begin("apply")
            .warn(
              `${backend.kind === "supervisor" ? "supervisord" : "systemd"} is not running: ${o.name} starts with the fleet ("orchestrate restart")`,
            );
          state.report.begin("verify").skip("nothing running to verify");
          rememberGood(after);
          return;
        }
        const baseline = await failingNow(before.model, backend);
        await step(
          state,
          `apply: add ${o.name} to the running ${backend.kind === "supervisor" ? "supervisord" : "systemd"}`,
          (s) => applyAndWait(state, s, backend, [service]),
        );
        await step(
          state,
          "verify the new service and all the others",
          (s) => verifyAfterChange(ctx, s, after.model, backend, baseline, [o.name]),
          (checks) => `${checks.filter((c) => c.ok).length}/${checks.length} verified`,
        );
        rememberGood(after);
      },
    );
    if (code === 0) ctx.stdout.write(`added ${o.name}${port !== undefined ? ` on port ${port}` : ""}\n`);
    return code;
  });
}
