/**
 * The exposure audit on the live host: the listeners of every exposed port (src/model/surface.ts: services'
 * instances, externals on this host, the proxy) read from /proc/net/tcp{,6} without spawning ss
 * (src/inspect/listeners-of.ts; lsof elsewhere than Linux), judged by src/verify/exposure.ts.
 */
import { listenersOf } from "../inspect/listeners-of";
import { exposedPorts } from "../model/surface";
import type { Model } from "../model/types";
import { auditExposure, type ExposureFinding } from "../verify/exposure";

/** Exposure findings of the host now; `ok` when none is an error (warnings do not fail check-ports). */
export interface LiveExposure {
  ok: boolean;
  findings: ExposureFinding[];
}

/** Reads the listeners of the exposed ports and audits them. Never throws for a finding. */
export async function inspectExposure(model: Model): Promise<LiveExposure> {
  const ports = [...new Set(exposedPorts(model).map((p) => p.port))];
  const listeners = (await listenersOf(ports, [])).filter((l) => ports.includes(l.port));
  const findings = auditExposure(model, listeners);
  return { ok: findings.every((f) => f.severity !== "error"), findings };
}
