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
      value: cycle.length > 20 ? `${cycle.length} services` : cycle,
      message: `dependency cycle${cycle.length > 20 ? ` of ${cycle.length} services` : ""}: ${(cycle.length > 20
        ? [...cycle.slice(0, 10), `… ${cycle.length - 13} more …`, ...cycle.slice(-3), cycle[0]]
        : [...cycle, cycle[0]]
      ).join(" → ")}`,
      fix: `remove one of these dependencies so that the services can start in an order`,
    });
  }
  return problems;
}

/**
 * Each cycle found by depth-first search (one per back edge), reported once (rotated to start at its
 * smallest name). Iterative, with an explicit stack: a 5000-service chain or cycle does not overflow.
 */
export function findCycles(view: ManifestView): string[][] {
  const deps = new Map(view.services.map((s) => [s.name, s.dependsOn.filter((d) => d !== s.name)]));
  const state = new Map<string, "visiting" | "done">();
  const seen = new Set<string>();
  const cycles: string[][] = [];
  for (const root of deps.keys()) {
    if (state.has(root)) continue;
    const stack: string[] = [root];
    const next: number[] = [0]; // index of the next dependency to look at, per stack entry
    const position = new Map<string, number>([[root, 0]]);
    state.set(root, "visiting");
    while (stack.length) {
      const top = stack.length - 1;
      const name = stack[top];
      const list = deps.get(name)!;
      if (next[top] >= list.length) {
        stack.pop();
        next.pop();
        position.delete(name);
        state.set(name, "done");
        continue;
      }
      const dep = list[next[top]++];
      if (!deps.has(dep)) continue;
      if (state.get(dep) === "visiting") {
        const cycle = stack.slice(position.get(dep));
        const start = cycle.indexOf([...cycle].sort()[0]);
        const rotated = [...cycle.slice(start), ...cycle.slice(0, start)];
        const key = rotated.join("\u0000");
        if (!seen.has(key)) {
          seen.add(key);
          cycles.push(rotated);
        }
      } else if (!state.has(dep)) {
        state.set(dep, "visiting");
        position.set(dep, stack.length);
        stack.push(dep);
        next.push(0);
      }
    }
  }
  return cycles;
}
