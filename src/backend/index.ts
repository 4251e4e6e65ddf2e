/** Chooses the backend for a project: the private supervisord (default) or systemd. */
import type { Model } from "../model/types";
import { SupervisordBackend } from "./supervisord/backend";
import type { Backend } from "./types";

/** Which backend to build: `--backend` and, for systemd, `--user` / `--root`. */
export interface BackendChoice {
  kind: "supervisor" | "systemd";
  /** systemd only: `--user` scope */
  scope?: "system" | "user";
  /** systemd only: `--root DIR` offline tree */
  root?: string;
  /** supervisor only: the machine's supervisord (`--server-url unix:///…`) instead of the private one */
  serverUrl?: string;
  /** a backend of the caller's own (tests drive the procedures with a scripted one); overrides `kind` */
  factory?: (model: Model) => Backend;
}

/**
 * The backend for `model`. `probeTimeoutMs`: how long a status read may wait for the private supervisord
 * before it counts as not running (read-only inspections such as check-ports use a short one).
 */
export function createBackend(model: Model, choice: BackendChoice, options: { probeTimeoutMs?: number } = {}): Backend {
  if (choice.factory) return choice.factory(model);
  if (choice.kind === "systemd") {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { systemdBackendFor } = require("./systemd/for-model") as typeof import("./systemd/for-model");
    return systemdBackendFor(model, { scope: choice.scope, root: choice.root });
  }
  const t = options.probeTimeoutMs;
  return new SupervisordBackend(model.paths, {
    ...(t === undefined ? {} : { rpcTimeoutMs: t, probeTimeoutMs: t }),
    ...(choice.serverUrl ? { serverUrl: choice.serverUrl, model } : {}),
  });
}
