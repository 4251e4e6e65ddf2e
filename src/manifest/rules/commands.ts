/** Rules for command, health and placeholders: the command splits into words, {port} needs a port. */
import type { Problem } from "../../errors";
import { CommandSyntaxError, PLACEHOLDERS, splitCommand } from "../../model/command";
import type { ManifestView } from "../view";

/**
 * Problems of command, placeholders and health: unsplittable commands, {port}/health without a port (errors),
 * unknown `{x}` placeholders and startSecs >= readyTimeout (warnings; both in seconds).
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
    if (s.port === undefined && texts.some((t) => t.includes("{port}"))) {
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
    for (const t of texts) {
      for (const m of t.matchAll(/\{([a-z_]+)\}/g)) {
        if (!(PLACEHOLDERS as readonly string[]).includes(m[1])) {
          problems.push({
            severity: "warning",
            path: `${path}.command`,
            service: s.name,
            field: "command",
            value: m[0],
            message: `"${m[0]}" looks like a placeholder but only ${PLACEHOLDERS.map((p) => `{${p}}`).join(", ")} are replaced`,
            fix: `use one of those, or ignore this if the braces are meant literally`,
          });
        }
      }
    }
    if (s.health !== undefined && s.port === undefined) {
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
