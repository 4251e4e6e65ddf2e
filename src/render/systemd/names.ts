/**
 * Names of the systemd units of a project: `PROJECT-NAME.service` (no `instances` key), the template unit
 * `PROJECT-NAME@.service` and its instances `PROJECT-NAME@I.service` (with `instances`; systemd.unit(5),
 * "template unit"), and `PROJECT.target`. Project and service names are already restricted to unit-name
 * characters (README "Manifest reference").
 */
import type { Instance, Model, Service } from "../../model/types";

/** `PROJECT-NAME.service` of a service without the `instances` key. */
export function unitName(model: Model, service: Service | string): string {
  return serviceUnitName(model.project, typeof service === "string" ? service : service.name);
}

/** `PROJECT-NAME.service`: the one place a service's unit name is built (systemd.unit(5), "Description"). */
export function serviceUnitName(project: string, service: string): string {
  return `${project}-${service}.service`;
}

/** `PROJECT-NAME@.service`: the template unit of a service with the `instances` key. */
export function templateName(model: Model, service: Service): string {
  return `${model.project}-${service.name}@.service`;
}

/**
 * The unit that runs one instance: `PROJECT-NAME.service` without the `instances` key (v1), else the
 * template's instance `PROJECT-NAME@I.service` (I = index).
 */
export function instanceUnitName(model: Model, service: Service, instance: Instance): string {
  return service.multi ? `${model.project}-${service.name}@${instance.index}.service` : unitName(model, service);
}

/** Every unit that runs an instance of `service`, in index order. */
export function instanceUnits(model: Model, service: Service): string[] {
  return service.instances.map((i) => instanceUnitName(model, service, i));
}

/** `PROJECT.target`: wants every enabled service unit; each unit is PartOf= it. */
export function targetName(model: Model): string {
  return `${model.project}.target`;
}
