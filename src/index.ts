/**
 * The orchestrate library. `import { loadManifest, getPort, getPorts, getServiceUrl, listPorts } from "orchestrate"`.
 * Every lookup throws for an unknown service (UnknownServiceError, naming the closest known names):
 * there is never a silent fallback port.
 */
import { loadProject } from "./manifest";
import { portOf, portsOf, urlOf } from "./model/lookup";
import type { Model } from "./model/types";

/** Types of the resolved model that the library functions take and return. */
export type { Model, Service, Instance, Group, External, PortRange, ProjectPaths, RenderedFile } from "./model/types";
/** Types of a manifest as written (schema-validated JSON). */
export type { Manifest, ServiceEntry } from "./manifest/schema";
/** One validation finding, as carried by ManifestError.problems. */
export type { Problem } from "./errors";
export { OrchestrateError, UsageError, ManifestError, UnknownServiceError, OperationError } from "./errors";
export { validateManifest } from "./manifest/validate";
export { loadProject } from "./manifest";
export { listPortsReport } from "./model/ports-report";
export { parseManifestText } from "./manifest/load";
export { resolveModel } from "./manifest/resolve";
export { renderAll } from "./render";

const cache = new Map<string, Model>();

/**
 * Loads, validates and resolves a manifest (default: $ORCHESTRATE_MANIFEST or ./manifest.json).
 * @throws UsageError when missing, ManifestError (with every problem) when invalid.
 */
export function loadManifest(path?: string): Model {
  return loadProject(path).model;
}

function modelOf(source?: Model | string): Model {
  if (source && typeof source === "object") return source;
  const key = source ?? "";
  let model = cache.get(key);
  if (!model) {
    model = loadManifest(source);
    cache.set(key, model);
  }
  return model;
}

/**
 * The port of a service (instance 0's when it has several: see getPorts).
 * @param source a loaded Model, or a manifest path (loaded once and cached), default ./manifest.json
 * @throws UnknownServiceError naming the known services; UsageError for a worker without a port.
 */
export function getPort(name: string, source?: Model | string): number {
  return portOf(modelOf(source), name);
}

/**
 * The ports of every instance of a service (manifest v1.1 `instances`), instance 0 first; `[port]` for a
 * service with one instance. @throws like getPort.
 */
export function getPorts(name: string, source?: Model | string): number[] {
  return portsOf(modelOf(source), name);
}

/** `http://HOST:PORT` + endpoint (hand-kept runbooks' get_service_url). @throws like getPort. */
export function getServiceUrl(name: string, endpoint = "", source?: Model | string): string {
  return urlOf(modelOf(source), name, endpoint);
}

/** Every service that has a port: name → port, in manifest order (hand-kept runbooks' list_all_ports). */
export function listPorts(source?: Model | string): Record<string, number> {
  const ports: Record<string, number> = {};
  for (const s of modelOf(source).services) if (s.port !== undefined) ports[s.name] = s.port;
  return ports;
}
export { manifestJsonSchema } from "./manifest/json-schema";
