/** The data behind `orchestrate ports`: services by group with budgets, workers, externals, reserved, avoided. */
import { groupBudget } from "./budget";
import type { Model, PortRange, Service } from "./types";

/** What `orchestrate ports [--json]` shows; groups in manifest order. */
export interface PortsReport {
  project: string;
  host: string;
  groups: Array<{
    name: string;
    description: string;
    ranges: PortRange[];
    /** Services of the group that have a port, enabled or not; one row per instance (name NAME:I) with `instances`. */
    services: Array<{ name: string; port?: number; description: string; enabled: boolean }>;
    /** Numbers of ports: the group's services', available ones, all in its ranges (GroupBudget, ./budget.ts). */
    used: number;
    free: number;
    total: number;
    /** Lowest available port; undefined when the group is full. */
    nextFree?: number;
  }>;
  /** Services with a port but no group. */
  ungrouped: Array<{ name: string; port?: number; description: string }>;
  /** Names of services without a port. */
  workers: string[];
  external: Array<{ name: string; port: number; description: string }>;
  reserved: Array<{ port: number; reason: string }>;
  avoid: number[];
}

/** One row per instance: NAME without the `instances` key, NAME:I with it. */
function rows(services: Service[]): Array<{ name: string; port?: number; description: string; enabled: boolean }> {
  return services.flatMap((s) =>
    s.instances.map((i) => ({
      name: s.multi ? i.label : s.name,
      port: i.port,
      description: s.description,
      enabled: s.enabled,
    })),
  );
}

/** Builds the report (the library's listPorts gives the flat name → port map instead). */
export function listPortsReport(model: Model): PortsReport {
  const withPort = model.services.filter((s) => s.port !== undefined);
  return {
    project: model.project,
    host: model.host,
    groups: model.groups.map((g) => {
      const budget = groupBudget(model, g.name);
      return {
        name: g.name,
        description: g.description,
        ranges: g.ranges,
        services: rows(withPort.filter((s) => s.group === g.name)),
        used: budget.used.length,
        free: budget.free,
        total: budget.total,
        nextFree: budget.nextFree,
      };
    }),
    ungrouped: rows(withPort.filter((s) => !s.group)).map(({ name, port, description }) => ({
      name,
      port,
      description,
    })),
    workers: model.services.filter((s) => s.port === undefined).map((s) => s.name),
    external: model.external.map((e) => ({ name: e.name, port: e.port, description: e.description })),
    reserved: [...model.ports.reserved].map(([port, reason]) => ({ port, reason })),
    avoid: model.ports.avoid,
  };
}
