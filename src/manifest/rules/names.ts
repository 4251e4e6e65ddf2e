/** Rules for names: services (DESIGN.md pattern, not `all`) and variables orchestrate sets itself. */
import type { Problem } from "../../errors";
import { SERVICE_NAME } from "../schema";
import type { ManifestView } from "../view";

/** Variables every program receives from orchestrate; a service may not set them itself. */
export const PROVIDED_ENV = ["PORT", "HOST", "SERVICE_NAME", "BIND_ADDRESS"] as const;

/**
 * Error Problems for service names that are `all`/`*` (supervisorctl reads them as every program) or do not
 * match SERVICE_NAME (DESIGN.md), and for env keys in {@link PROVIDED_ENV}.
 */
export function nameRules(view: ManifestView): Problem[] {
  const problems: Problem[] = [];
  for (const s of view.services) {
    const path = `services.${s.name}`;
    if (s.name === "all" || s.name === "*") {
      problems.push({
        severity: "error",
        path,
        service: s.name,
        field: "(name)",
        value: s.name,
        message: `"${s.name}" cannot be a service name: supervisorctl reads it as every program`,
        fix: `rename it, e.g. "${s.name === "all" ? "all_service" : "service"}"`,
      });
    } else if (!SERVICE_NAME.test(s.name)) {
      const suggestion = s.name
        .toLowerCase()
        .replace(/[^a-z0-9_.-]+/g, "_")
        .replace(/^[^a-z0-9]+/, "");
      problems.push({
        severity: "error",
        path,
        service: s.name,
        field: "(name)",
        value: s.name,
        message: `service name "${s.name}" does not match ${SERVICE_NAME} (lower-case letters, digits, "_", ".", "-"; first a letter or digit)`,
        fix: suggestion ? `rename it to "${suggestion}"` : "choose a name such as trade_executor",
      });
    }
    for (const key of PROVIDED_ENV) {
      if (key in s.env) {
        problems.push({
          severity: "error",
          path: `${path}.env.${key}`,
          service: s.name,
          field: `env.${key}`,
          value: s.env[key],
          message: `${key} is set by orchestrate for every program and cannot be overridden in env`,
          fix:
            key === "PORT"
              ? `set "port" on the service instead`
              : key === "HOST"
                ? `set the top-level "host" instead`
                : key === "BIND_ADDRESS"
                  ? `set "exposure" on the service instead (loopback: 127.0.0.1, internal/public: 0.0.0.0)`
                  : `remove env.${key}`,
        });
      }
    }
  }
  return problems;
}
