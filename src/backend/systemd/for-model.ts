/** Builds the systemd backend for a project from the model and the CLI's systemd options. */
import type { Model } from "../../model/types";
import { SystemdBackend } from "./backend";

/** The CLI's systemd options; both default to the system manager on the live system. */
export interface SystemdChoice {
  /** `--user`: the user's manager and ~/.config/systemd/user */
  scope?: "system" | "user";
  /** `--root DIR`: an offline tree (install and enable only) */
  root?: string;
}

/** A SystemdBackend for `model`: units from units/systemd/, state in run/, log paths per program (NAME, or NAME@I per instance). */
export function systemdBackendFor(model: Model, choice: SystemdChoice = {}): SystemdBackend {
  const logs: Record<string, { stdout: string; stderr: string }> = {};
  for (const s of model.services)
    if (s.enabled) for (const i of s.instances) logs[i.program] = { stdout: i.stdoutLog, stderr: i.stderrLog };
  return new SystemdBackend({
    project: model.project,
    unitsDir: model.paths.systemdDir,
    runDir: model.paths.run,
    scope: choice.scope,
    root: choice.root,
    logs,
  });
}
