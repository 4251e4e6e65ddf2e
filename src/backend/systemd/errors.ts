/**
 * Turns a failed systemctl/journalctl call into an {@link OperationError} (exit 1) whose message says
 * what was expected and what was found, and whose hint says how to fix it — naming the alternatives
 * (`--user`, the supervisord backend) where systemd is absent or privileges are lacking.
 * Classification reads systemctl's stderr in the C locale (systemctl.ts sets LC_ALL=C).
 */
import type { RunResult } from "../../exec/run";
import { OperationError } from "../../errors";

/** Why a systemctl call failed. */
export type SystemctlFailure =
  | "not-installed"
  | "not-booted"
  | "no-user-manager"
  | "permission"
  | "unit-not-found"
  | "other";

/** The one message for a host whose PID 1 is not systemd (containers, WSL1, this project's CI VMs). */
export const NOT_BOOTED_MESSAGE =
  "System has not been booted with systemd: use the supervisord backend (--backend supervisor), or run on a systemd host (as root, or with --user for your own user manager)";

/** Classifies a failed call by its start failure and stderr text. Pure. */
export function classifyFailure(result: RunResult): SystemctlFailure {
  const err = result.stderr;
  if (result.failedToStart) return "not-installed";
  if (/has not been booted with systemd|Host is down/i.test(err)) return "not-booted";
  if (/Failed to connect to (user scope )?bus|\$DBUS_SESSION_BUS_ADDRESS|XDG_RUNTIME_DIR/i.test(err))
    return "no-user-manager";
  if (/Access denied|Interactive authentication required|Permission denied|Operation not permitted/i.test(err))
    return "permission";
  if (/Unit \S+ (not found|not loaded)|No such file or directory.*\.(service|target)/i.test(err))
    return "unit-not-found";
  return "other";
}

/**
 * Builds the error for a failed call.
 * @param result the failed call (exit code non-zero, or not started).
 * @param action what orchestrate was doing, e.g. `start demo-api.service`.
 * @param scope the manager addressed, for the hints.
 */
export function systemctlError(result: RunResult, action: string, scope: "system" | "user" = "system"): OperationError {
  const found = firstLine(result.stderr) || `exit ${result.exitCode ?? result.signal}`;
  switch (classifyFailure(result)) {
    case "not-installed":
      return new OperationError(
        `${action}: expected the systemctl program on PATH, found none (${result.command})`,
        "this host does not use systemd: use the supervisord backend (--backend supervisor)",
      );
    case "not-booted":
      return new OperationError(`${action}: ${NOT_BOOTED_MESSAGE}`, `systemctl said: ${found}`);
    case "no-user-manager":
      return new OperationError(
        `${action}: expected a reachable systemd ${scope === "user" ? "user" : "system"} manager, found: ${found}`,
        scope === "user"
          ? "`--user` needs the user's own systemd: run from a login session (or `loginctl enable-linger $USER`), or install system-wide as root without --user, or use --backend supervisor"
          : "is systemd PID 1 here? otherwise use --backend supervisor",
      );
    case "permission":
      return new OperationError(
        `${action}: permission denied by the systemd ${scope} manager (${found})`,
        scope === "user"
          ? "check that the unit files under ~/.config/systemd/user belong to you"
          : "run as root (sudo), or manage the units as your own user with --user (units go to ~/.config/systemd/user)",
      );
    case "unit-not-found":
      return new OperationError(
        `${action}: expected the unit to be installed and loaded, found: ${found}`,
        "install the units first (orchestrate restart --backend systemd installs them), then retry",
      );
    default:
      return new OperationError(
        `${action}: ${result.command} failed (exit ${result.exitCode ?? result.signal}): ${found}`,
        "see `systemctl status UNIT` and `journalctl -u UNIT` for the unit's own messages",
      );
  }
}

/**
 * Error for a failed write or delete in the unit folder (EACCES/EPERM name `--user`).
 * @param error the fs error; @param path the file; @param action e.g. `install demo-api.service`.
 */
export function unitFileError(error: unknown, path: string, action: string): OperationError {
  const code = (error as NodeJS.ErrnoException)?.code;
  const detail = error instanceof Error ? error.message : String(error);
  if (code === "EACCES" || code === "EPERM" || code === "EROFS") {
    return new OperationError(
      `${action}: expected to write ${path}, found: ${detail}`,
      "run as root (sudo) to install into /etc/systemd/system, or install as your own user with --user (~/.config/systemd/user)",
    );
  }
  return new OperationError(`${action}: could not write ${path}: ${detail}`);
}

function firstLine(text: string): string {
  return (
    text
      .split("\n")
      .map((l) => l.trim())
      .find((l) => l.length > 0) ?? ""
  );
}
