/** `validate --live`: the live port problems of a manifest, as manifest-style problems. */
import type { BackendChoice } from "../backend";
import type { Problem } from "../errors";
import { projectFromSource } from "../manifest";
import type { ManifestSource } from "../manifest/load";
import { ephemeralRange, type EphemeralRange } from "../inspect/ephemeral";
import type { Model } from "../model/types";
import type { CheckPortsReport } from "./check-ports";
import { ephemeralServicePorts, inspectManagedPorts } from "./live-facts";

/**
 * A warning for each enabled service instance whose port lies in this host's ephemeral port range and is not
 * reserved from it (src/inspect/ephemeral.ts): an outgoing connection can take it as its source port just as
 * the service binds it (EADDRINUSE at a random start). Never an error: the port works most of the time.
 */
export function ephemeralProblems(model: Model, range: EphemeralRange | undefined): Problem[] {
  if (!range) return [];
  return ephemeralServicePorts(model, range).map(
    ({ service, port }): Problem => ({
      severity: "warning",
      path: `services.${service}.port`,
      service,
      field: "port",
      value: port,
      message: `live: port ${port} lies in this host's ephemeral port range ${range.low}-${range.high} (net.ipv4.ip_local_port_range): an outgoing connection can hold it just as ${service} binds it (EADDRINUSE)`,
      fix: `reserve it (sysctl -w net.ipv4.ip_local_reserved_ports=${port}, kept in /etc/sysctl.d/) or use a port below ${range.low}`,
    }),
  );
}

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
 * {@link liveProblems}) and the ephemeral-range warnings ({@link ephemeralProblems}). Errors here mean "the manifest is valid, but the host disagrees": the validate
 * command exits 1 for them, not 2.
 * @throws ManifestError when `source` is not valid (call it only after validation passed).
 */
export async function liveProblemsFor(source: ManifestSource, choice: BackendChoice): Promise<Problem[]> {
  const { model } = projectFromSource(source);
  return [...liveProblems(await inspectManagedPorts(model, choice)), ...ephemeralProblems(model, ephemeralRange())];
}
