/**
 * Rules of the manifest v1.1 lifecycle keys: `instances` with `port`/`ports` (lengths, one of the two, enough
 * free ports when they are chosen from the group, and a warning that chosen ports are not written down),
 * `type: "oneshot"` (no port, no health, one instance, never restart "always"), `exitCodes` without 0.
 */
import type { Problem } from "../../errors";
import type { ManifestView } from "../view";

/** The rules above as Problems; ports themselves are checked by ./ports.ts. */
export function instanceRules(view: ManifestView): Problem[] {
  const problems: Problem[] = [];
  for (const s of view.services) {
    const o = s.raw;
    const push = (severity: "error" | "warning", field: string, value: unknown, message: string, fix: string) =>
      problems.push({ severity, path: `services.${s.name}.${field}`, service: s.name, field, value, message, fix });
    const ports = Array.isArray(o.ports) ? o.ports : undefined;
    if (ports && o.port !== undefined)
      push(
        "error",
        "ports",
        ports,
        `both "port" and "ports" are set`,
        `keep "ports" (one per instance) and remove "port", or keep "port" (instance i gets port + i)`,
      );
    if (ports && ports.length !== s.instances)
      push(
        "error",
        "ports",
        ports,
        `"ports" lists ${ports.length} port${ports.length === 1 ? "" : "s"} but the service has ${s.instances} instance${s.instances === 1 ? "" : "s"}`,
        o.instances === undefined
          ? `add "instances": ${ports.length}`
          : `list exactly ${s.instances} ports, or set "instances": ${ports.length}`,
      );
    if (s.chosen) {
      const got = s.instancePorts.map((i) => i.port);
      if (got.length < s.instances)
        push(
          "error",
          "instances",
          s.instances,
          `${s.instances} instances need ${s.instances} free ports of group ${s.group}, but it has ${got.length} left`,
          `widen the range of group ${s.group}, or lower "instances"`,
        );
      else
        push(
          "warning",
          "instances",
          s.instances,
          `the ports of ${s.name}'s ${s.instances} instances are not written down: chosen from group ${s.group} as ${got.join(", ")}, they move when another service takes one`,
          `write "ports": [${got.join(", ")}]`,
        );
    }
    if (s.type === "oneshot") {
      for (const key of ["port", "ports"] as const)
        if (o[key] !== undefined)
          push(
            "error",
            key,
            o[key],
            `a oneshot runs to completion and has no ${key}`,
            `remove "${key}", or make it a service (remove "type": "oneshot")`,
          );
      if (s.health !== undefined)
        push(
          "error",
          "health",
          s.health,
          "a oneshot has no health check: it succeeds when it exits with a code in exitCodes",
          `remove "health"`,
        );
      if (s.instances > 1)
        push(
          "error",
          "instances",
          s.instances,
          `a oneshot runs once: ${s.instances} instances are not supported`,
          `remove "instances", or make it a service`,
        );
      if (o.restart === "always")
        push(
          "error",
          "restart",
          o.restart,
          `restart "always" would run the oneshot again after every successful run`,
          `use "on-failure" (run it again when it fails) or "never" (the default for a oneshot)`,
        );
    }
    if (Array.isArray(o.exitCodes) && o.exitCodes.length > 0 && !o.exitCodes.includes(0))
      push(
        "warning",
        "exitCodes",
        o.exitCodes,
        `exitCodes ${JSON.stringify(o.exitCodes)} leaves out 0: supervisord treats exit 0 as a failure, systemd always as success`,
        `add 0 to exitCodes`,
      );
    if (o.autostart === false && o.enabled === false)
      push(
        "warning",
        "autostart",
        false,
        `autostart false has no effect on a disabled service (enabled: false generates nothing)`,
        `remove one of the two`,
      );
    // restart does not start a manual service: a dependent that restart starts would wait for it in vain
    if (o.autostart !== false && o.enabled !== false && Array.isArray(o.dependsOn))
      for (const dep of o.dependsOn) {
        const other = view.services.find((x) => x.name === dep)?.raw;
        if (other && other.autostart === false && other.enabled !== false)
          push(
            "warning",
            "dependsOn",
            o.dependsOn,
            `${s.name} depends on ${dep}, which has autostart false: "orchestrate restart" starts ${s.name} but not ${dep}`,
            `start ${dep} first ("orchestrate start ${dep}"), give ${dep} autostart true, or set autostart false on ${s.name} too`,
          );
      }
  }
  return problems;
}
