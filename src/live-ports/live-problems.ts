/** `validate --live`: the live port problems of a manifest, as manifest-style problems. */
import type { BackendChoice } from "../backend";
import type { Problem } from "../errors";
import { projectFromSource } from "../manifest";
import type { ManifestSource } from "../manifest/load";
import type { CheckPortsReport } from "./check-ports";
import { inspectManagedPorts } from "./live-facts";

/**
 * The live problems `validate --live` adds, as manifest-style {@link Problem}s: an error for each
 * conflict (a foreign or stale holder of an enabled service's port), a warning for a foreign holder of
 * a reserved port or of a disabled service's port.
 */
export function liveProblems(report: CheckPortsReport): Problem[] {
  return report.ports
    .filter((p) => p.problem)
    .map(
      (p): Problem => ({
        severity: p.conflict ? "error" : "warning",
        path:
          p.kind === "service"
            ? `services.${p.name}.port`
            : p.kind === "reserved"
              ? `ports.reserved.${p.port}`
              : `external.${p.name}.port`,
        service: p.kind === "service" ? p.name : undefined,
        field: "port",
        value: p.port,
        message: `live: ${p.problem}`,
        fix: p.fix,
      }),
    );
}

/**
 * `validate --live`: the live port problems of an already-validated manifest source (see
 * {@link liveProblems}). Errors here mean "the manifest is valid, but the host disagrees": the validate
 * command exits 1 for them, not 2.
 * @throws ManifestError when `source` is not valid (call it only after validation passed).
 */
export async function liveProblemsFor(source: ManifestSource, choice: BackendChoice): Promise<Problem[]> {
  const { model } = projectFromSource(source);
  return liveProblems(await inspectManagedPorts(model, choice));
}
