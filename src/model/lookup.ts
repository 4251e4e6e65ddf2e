/** Lookups on the model: the service by name, its port and URL. Unknown names throw with suggestions. */
import { UnknownServiceError, UsageError } from "../errors";
import { closestNames } from "./suggest";
import type { Model, Service } from "./types";

/** The named service. @throws UnknownServiceError (exit 2) naming the closest known services. */
export function findService(model: Model, name: string): Service {
  const service = model.services.find((s) => s.name === name);
  if (service) return service;
  const known = model.services.map((s) => s.name);
  throw new UnknownServiceError(name, known, closestNames(name, known));
}

/** The port of a service. @throws UnknownServiceError, or UsageError when it is a worker without a port. */
export function portOf(model: Model, name: string): number {
  const service = findService(model, name);
  if (service.port === undefined)
    throw new UsageError(
      `service "${name}" has no port: it is a worker`,
      `set "port" on it in ${model.paths.manifest} if it serves requests`,
    );
  return service.port;
}

/** `http://HOST:PORT` + path for a service (hand-kept runbooks' get_service_url). */
export function urlOf(model: Model, name: string, path = ""): string {
  const port = portOf(model, name);
  const suffix = path && !path.startsWith("/") ? `/${path}` : path;
  return `${hostUrl(model.host, port)}${suffix}`;
}

/** `http://HOST:PORT`; an IPv6 literal host is bracketed (`http://[::1]:8001`). `{url:NAME}` resolves to this. */
export function hostUrl(host: string, port: number): string {
  const h = host.includes(":") && !host.startsWith("[") ? `[${host}]` : host;
  return `http://${h}:${port}`;
}

/** Every instance port of a service, instance 0 first. @throws like {@link portOf}. */
export function portsOf(model: Model, name: string): number[] {
  portOf(model, name);
  return findService(model, name).instances.map((i) => i.port!);
}

/** Names of the given services, each checked. @throws UnknownServiceError for the first unknown one. */
export function selectServices(model: Model, names: string[] | undefined): Service[] {
  if (!names || names.length === 0) return model.services;
  return names.map((n) => findService(model, n));
}
