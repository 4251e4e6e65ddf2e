/** Lookups on the model: the service by name, its port and URL, the instances a command line names (services, instances, process groups). Unknown names throw with suggestions. */
import { UnknownServiceError, UsageError } from "../errors";
import { closestNames } from "./suggest";
import type { Instance, Model, Service } from "./types";

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

/** One instance of one service, as a command line names it (`NAME` → every instance, `NAME:I` → one). */
export interface Target {
  service: Service;
  instance: Instance;
}

/**
 * The instances `text` names: `NAME` is every instance of the service, `NAME:I` instance I (0-based; also
 * `NAME:0` of a service without the `instances` key).
 * @throws UnknownServiceError (exit 2) with the closest names; UsageError for an index that is not a whole
 *   number or not one of the service's instances.
 */
export function parseTarget(model: Model, text: string): Target[] {
  const colon = text.lastIndexOf(":");
  const name = colon < 0 ? text : text.slice(0, colon);
  const service = findService(model, name);
  if (colon < 0) return service.instances.map((instance) => ({ service, instance }));
  const raw = text.slice(colon + 1);
  const count = service.instances.length;
  const range = count === 1 ? "0" : `0-${count - 1}`;
  if (!/^\d+$/.test(raw))
    throw new UsageError(
      `"${text}": expected NAME or NAME:I with I a whole number (instance index), found index "${raw}"`,
      `${name} has instances ${range}: e.g. "${name}:0", or "${name}" for all of them`,
    );
  const instance = service.instances[Number(raw)];
  if (!instance)
    throw new UsageError(
      `"${text}": ${name} has ${count === 1 ? "one instance (0)" : `${count} instances (${range})`}, found index ${raw}`,
      `name one of ${service.instances.map((i) => `${name}:${i.index}`).join(", ")}, or "${name}" for all; "instances" in ${model.paths.manifest} sets how many`,
    );
  return [{ service, instance }];
}

/**
 * The instances a process group names (manifest `processGroups`), as supervisorctl's `start NAME:*` names every
 * process of a `[group:NAME]` (supervisord docs, "supervisorctl Actions"): every instance of each member, in
 * manifest order. Disabled members run nothing and are left out, unless every member is disabled (then all
 * are returned, so that the command refuses them by name). Undefined when `name` is not a process group.
 */
export function groupTargets(model: Model, name: string): Target[] | undefined {
  const group = model.processGroups.find((g) => g.name === name);
  if (!group) return undefined;
  const members = model.services.filter((s) => group.services.includes(s.name));
  const enabled = members.filter((s) => s.enabled);
  return (enabled.length ? enabled : members).flatMap((service) =>
    service.instances.map((instance) => ({ service, instance })),
  );
}

/**
 * One name of a command line: a process group ({@link groupTargets}) or a target of {@link parseTarget}.
 * @throws UnknownServiceError whose suggestions include process group names; UsageError for `GROUP:I`.
 */
function parseTargetOrGroup(model: Model, text: string): Target[] {
  const group = groupTargets(model, text);
  if (group) return group;
  const colon = text.lastIndexOf(":");
  const prefix = colon < 0 ? text : text.slice(0, colon);
  if (colon >= 0 && model.processGroups.some((g) => g.name === prefix))
    throw new UsageError(
      `"${text}": ${prefix} is a process group; NAME:I names one instance of a service`,
      `write "${prefix}" for every instance of its services (${model.processGroups.find((g) => g.name === prefix)!.services.join(", ")})`,
    );
  try {
    return parseTarget(model, text);
  } catch (e) {
    if (!(e instanceof UnknownServiceError) || model.processGroups.length === 0) throw e;
    const groups = model.processGroups.map((g) => g.name);
    throw new UnknownServiceError(e.service, e.known, closestNames(e.service, [...e.known, ...groups]), groups);
  }
}

/**
 * The instances named by `texts`, without repeats, in the order named; every instance of every service when
 * `texts` is empty. Each text is a process group (every instance of its members, {@link groupTargets}),
 * `NAME` or `NAME:I` ({@link parseTarget}).
 * @throws UnknownServiceError (exit 2) for an unknown name, suggesting the closest services and process groups.
 */
export function selectTargets(model: Model, texts: string[] | undefined): Target[] {
  const all =
    !texts || texts.length === 0
      ? model.services.flatMap((service) => service.instances.map((instance) => ({ service, instance })))
      : texts.flatMap((t) => parseTargetOrGroup(model, t));
  const seen = new Set<string>();
  return all.filter((t) => !seen.has(t.instance.program) && seen.add(t.instance.program));
}

/** The services of `targets`, once each, in the order first named. */
export function servicesOf(targets: Target[]): Service[] {
  return [...new Set(targets.map((t) => t.service))];
}
