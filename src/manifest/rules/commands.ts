/** Rules for command and health: the command splits into words, {port} and health need a port. */
import type { Problem } from "../../errors";
import { CommandSyntaxError, splitCommand } from "../../model/command";
import type { ManifestView } from "../view";

/**
 * Problems of command and health: unsplittable commands, {port}/health without a port (errors) and
 * startSecs >= readyTimeout (a warning; both in seconds). Other placeholders: ./references.ts.
 */
export function commandRules(view: ManifestView): Problem[] {
  const problems: Problem[] = [];
  for (const s of view.services) {
    const path = `services.${s.name}`;
    let words: string[] = [];
    if (typeof s.command === "string") {
      try {
        words = splitCommand(s.command);
        if (words.length === 0)
          throw new CommandSyntaxError("the command has no words", 0, "write the program and its arguments");
      } catch (e) {
        if (!(e instanceof CommandSyntaxError)) throw e;
        problems.push({
          severity: "error",
          path: `${path}.command`,
          service: s.name,
          field: "command",
          value: s.command,
          message: `cannot split the command: ${e.message}`,
          fix: e.fix,
        });
      }
    } else if (Array.isArray(s.command)) words = s.command.filter((w): w is string => typeof w === "string");
    const texts = [...words, ...Object.values(s.env).filter((v): v is string => typeof v === "string")];
    const hasPort = s.instancePorts.length > 0;
    if (!hasPort && texts.some((t) => t.includes("{port}"))) {
      problems.push({
        severity: "error",
        path: `${path}.command`,
        service: s.name,
        field: "command",
        value: s.command,
        message: `{port} is used but ${s.name} has no port`,
        fix: `set "port", or remove {port}`,
      });
    }
    if (s.health !== undefined && !hasPort) {
      problems.push({
        severity: "error",
        path: `${path}.health`,
        service: s.name,
        field: "health",
        value: s.health,
        message: `health path ${s.health} is set but ${s.name} has no port to ask`,
        fix: `set "port", or remove "health"`,
      });
    }
    const ready = s.raw.readyTimeout,
      startSecs = s.raw.startSecs;
    if (typeof ready === "number" && typeof startSecs === "number" && startSecs >= ready) {
      problems.push({
        severity: "warning",
        path: `${path}.startSecs`,
        service: s.name,
        field: "startSecs",
        value: startSecs,
        message: `startSecs ${startSecs} is not below readyTimeout ${ready}: the program cannot be RUNNING before the procedure gives up`,
        fix: `raise readyTimeout above ${startSecs}`,
      });
    }
  }
  return problems;
}
