/** Rules for dependsOn: known services, no self-dependency, no disabled dependency, no cycles. */
import type { Problem } from "../../errors";
import { closestNames } from "../../model/suggest";
import type { ManifestView } from "../view";

/** Error Problems for dependsOn: self, unknown (with suggestions) or disabled targets, and each cycle once. */
export function dependencyRules(view: ManifestView): Problem[] {
  const problems: Problem[] = [];
  const byName = new Map(view.services.map((s) => [s.name, s]));
  for (const s of view.services) {
    s.dependsOn.forEach((dep, i) => {
      const path = `services.${s.name}.dependsOn.${i}`;
      const target = byName.get(dep);
      if (dep === s.name) {
        problems.push({
          severity: "error",
          path,
          service: s.name,
          field: "dependsOn",
          value: dep,
          message: `${s.name} depends on itself`,
          fix: `remove "${dep}" from dependsOn`,
        });
      } else if (!target) {
        const near = closestNames(dep, byName.keys());
        problems.push({
          severity: "error",
          path,
          service: s.name,
          field: "dependsOn",
          value: dep,
          message: `dependsOn names "${dep}", which is not a service of this manifest`,
          fix: near.length
            ? `did you mean ${near.map((n) => `"${n}"`).join(" or ")}?`
            : "add that service or remove it from dependsOn",
        });
      } else if (s.enabled && !target.enabled) {
        problems.push({
          severity: "error",
          path,
          service: s.name,
          field: "dependsOn",
          value: dep,
          message: `${s.name} depends on "${dep}", which is disabled (enabled: false): it would wait for a service that never starts`,
          fix: `enable "${dep}", disable "${s.name}" too, or remove the dependency`,
        });
      }
    });
  }
  for (const cycle of findCycles(view)) {
    problems.push({
      severity: "error",
      path: `services.${cycle[0]}.dependsOn`,
      service: cycle[0],
      field: "dependsOn",
      value: cycle,
      message: `dependency cycle: ${[...cycle, cycle[0]].join(" → ")}`,
      fix: `remove one of these dependencies so that the services can start in an order`,
    });
  }
  return problems;
}

/** Each elementary cycle found by depth-first search, reported once (rotated to start at its smallest name). */
export function findCycles(view: ManifestView): string[][] {
  const deps = new Map(view.services.map((s) => [s.name, s.dependsOn.filter((d) => d !== s.name)]));
  const state = new Map<string, "visiting" | "done">();
  const stack: string[] = [];
  const seen = new Set<string>();
  const cycles: string[][] = [];
  const visit = (name: string) => {
    state.set(name, "visiting");
    stack.push(name);
    for (const dep of deps.get(name) ?? []) {
      if (!deps.has(dep)) continue;
      if (state.get(dep) === "visiting") {
        const cycle = stack.slice(stack.indexOf(dep));
        const start = cycle.indexOf([...cycle].sort()[0]);
        const rotated = [...cycle.slice(start), ...cycle.slice(0, start)];
        const key = rotated.join("\u0000");
        if (!seen.has(key)) {
          seen.add(key);
          cycles.push(rotated);
        }
      } else if (!state.has(dep)) visit(dep);
    }
    stack.pop();
    state.set(name, "done");
  };
  for (const name of deps.keys()) if (!state.has(name)) visit(name);
  return cycles;
}
