/**
 * The few error classes of orchestrate. Each carries the process exit code it maps to; only the CLI's
 * top-level catch (src/cli/main.ts) turns them into an exit. Exit codes (README "Exit codes"):
 * 0 success, 1 an operation or check failed, 2 bad input (nothing was written).
 */

/** One finding of manifest validation: what was expected, what was found, where, and how to fix it. */
export interface Problem {
  severity: "error" | "warning";
  /** Dotted location in the manifest, e.g. `services.trade_executor.port`. */
  path: string;
  /** Service the problem belongs to, when it belongs to one. */
  service?: string;
  /** The manifest field, e.g. `port`, `dependsOn`, `env.LOG_LEVEL`. */
  field: string;
  /** The offending value as written in the manifest. */
  value?: unknown;
  /** What is wrong, e.g. "port 5000 is in ports.avoid". */
  message: string;
  /** How to fix it, e.g. "choose a free port of group core: 8002". */
  fix?: string;
}

/** Base class: a message meant for the user, an exit code, and an optional hint line. */
export class OrchestrateError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
    readonly hint?: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** Bad input: usage, a value the target format cannot represent, an unknown name. Exit 2, nothing written. */
export class UsageError extends OrchestrateError {
  constructor(message: string, hint?: string) {
    super(message, 2, hint);
  }
}

/** The manifest (or a value derived from it) is invalid. Exit 2; carries every problem found. */
export class ManifestError extends OrchestrateError {
  constructor(
    readonly problems: Problem[],
    readonly file?: string,
  ) {
    const errors = problems.filter((p) => p.severity === "error");
    super(`${file ?? "manifest"}: ${errors.length} error${errors.length === 1 ? "" : "s"}`, 2);
  }
}

/** A service name that the manifest does not know. Exit 2; `suggestions` are the closest known names. */
export class UnknownServiceError extends UsageError {
  /**
   * @param suggestions the closest names (services, or process groups where a command takes them)
   * @param groups process group names the command also takes (manifest `processGroups`), listed in the hint
   */
  constructor(
    readonly service: string,
    readonly known: string[],
    readonly suggestions: string[],
    readonly groups: string[] = [],
  ) {
    super(
      `unknown service "${service}"` +
        (suggestions.length ? `; did you mean ${suggestions.map((s) => `"${s}"`).join(" or ")}?` : ""),
      (known.length ? `known services: ${known.join(", ")}` : "the manifest has no services") +
        (groups.length ? `; process groups: ${groups.join(", ")}` : ""),
    );
  }
}

/** An operation or check failed (a service unhealthy, a step failed and was rolled back). Exit 1. */
export class OperationError extends OrchestrateError {
  constructor(message: string, hint?: string) {
    super(message, 1, hint);
  }
}

/**
 * A write the disk refused: ENOSPC (disk full), EDQUOT (quota exhausted) or EROFS (read-only file system).
 * Exit 1: the operation failed; the file at `path` was left as it was (every write is atomic).
 */
export class DiskError extends OperationError {
  constructor(
    readonly path: string,
    readonly reason: string,
    readonly code: string,
  ) {
    super(
      `${reason}: cannot write ${path} (${code})`,
      code === "EROFS"
        ? "the file system is mounted read-only: remount it read-write or move the project"
        : "free some space (or raise the quota) and run the command again; the old file was left whole",
    );
  }
}
