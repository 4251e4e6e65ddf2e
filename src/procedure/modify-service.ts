/**
 * modify-service — seed 002's four steps as a transaction: the change validated with the rest, written
 * under the lock, units/ regenerated, test-start when the port changes (the running program holds the
 * old one), then only that program restarted, verified, and the old port checked released.
 */
import type { Context } from "../cli/context";
import { createBackend } from "../backend";
import { UsageError } from "../errors";
import { listenersByPort } from "../inspect/listeners";
import { isPortFree } from "../inspect/port-probe";
import { findService } from "../model/lookup";
import { describeHolder } from "../verify/ownership";
import { writeFileAtomicSync } from "../write/atomic";
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
import { takeSnapshot } from "./snapshot";
import { subSteps } from "./report";
import { testStart } from "./test-start";
import { step, StepFailed, transact } from "./transaction";

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
  /** print the diff; write nothing */
  dryRun?: boolean;
}

/** Runs modify-service. Exit code: 0 done, 1 rolled back, 2 bad input (nothing written). */
export async function modifyService(ctx: Context, o: ModifyServiceOptions): Promise<number> {
  return withChange(ctx, async (path, before) => {
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
      const holders = (await listenersByPort([o.port])).get(o.port) ?? [];
      if (holders.length || !(await isPortFree(o.port)))
        throw new UsageError(
          `port ${o.port} (--port) is in use by ${holders.length ? describeHolder(holders[0]) : "another process"}`,
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
    if (!changes.length)
      throw new UsageError(
        `nothing to change for ${o.name}: every given value equals the current one`,
        "pass at least one of --port, --command, --env, --unset-env, --health, --no-health, --group, --depends-on, --description",
      );
    const after = proposedProject(before, raw);
    const service = findService(after.model, o.name);
    if (o.dryRun) {
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
    if (backend.kind === "systemd") await backend.ensureRunning();
    const portChanged = old.port !== service.port;
    const code = await transact(
      ctx,
      { command: `modify-service ${o.name}`, paths: after.model.paths, snapshot, changes, total: 6 },
      async (state) => {
        await step(
          state,
          "check the change",
          async (s) => changes.forEach((c) => s.detail(c)),
          () => `${changes.length} change${changes.length === 1 ? "" : "s"}`,
        );
        await step(state, "write manifest.json (validated with the rest)", async () =>
          writeFileAtomicSync(path, after.source.text),
        );
        await step(
          state,
          "generate units/",
          async () => summarizePlan(generateUnits(after.model, { write: true })),
          (s) => s,
        );
        const running = service.enabled && (await backend.isRunning());
        if (portChanged && service.enabled) {
          await step(
            state,
            `test-start ${o.name} alone on port ${service.port}`,
            async (s) => {
              const result = await testStart(after.model, service, subSteps(s));
              if (!result.ok) throw new StepFailed(result.failure ?? "test-start failed");
            },
            () => "passed",
          );
        } else
          state.report
            .begin("test-start")
            .skip(
              service.enabled
                ? `port unchanged: the running program holds ${service.port ?? "no port"}; checked by apply and verify`
                : "disabled",
            );
        if (!running) {
          state.report
            .begin("apply")
            .warn(
              `${backend.kind === "supervisor" ? "supervisord" : "systemd"} is not running: the change applies at the next "orchestrate restart"`,
            );
          state.report.begin("verify").skip("nothing running");
          rememberGood(after);
          return;
        }
        const baseline = await failingNow(before.model, backend);
        state.restartAfterRollback.push(o.name);
        await step(state, `apply: restart only ${o.name}`, (s) => applyAndWait(state, s, backend, [service]));
        await step(
          state,
          "verify" + (portChanged && old.port ? ` (and port ${old.port} released)` : ""),
          async (s) => {
            const checks = await verifyAfterChange(ctx, s, after.model, backend, baseline, [o.name]);
            if (portChanged && old.port !== undefined) {
              const holders = (await listenersByPort([old.port])).get(old.port) ?? [];
              if (holders.length)
                throw new StepFailed(`old port ${old.port} is still held by ${describeHolder(holders[0])}`);
              s.detail(`old port ${old.port} released`);
            }
            return checks;
          },
          (checks) => `${checks.filter((c) => c.ok).length}/${checks.length} verified`,
        );
        rememberGood(after);
      },
    );
    if (code === 0) ctx.stdout.write(`modified ${o.name}: ${changes.join("; ")}\n`);
    return code;
  });
}
