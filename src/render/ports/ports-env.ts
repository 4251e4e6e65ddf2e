/**
 * `units/ports.env`: `NAME_PORT=8001` lines for shells (`. units/ports.env`) and systemd
 * (`EnvironmentFile=`). Every line is `KEY=value` with a value that needs no quoting in either reader, so
 * both read exactly the same bytes; anything else is refused rather than written ambiguously.
 */
import { UsageError } from "../../errors";
import type { Model, RenderedFile } from "../../model/types";
import { generatedNote } from "./ports-json";

/** Host values written unquoted: hostnames, IPv4, IPv6 literals (with zone). */
const SAFE_HOST = /^[A-Za-z0-9._:%\[\]-]+$/;

/**
 * Variable holding the port of service or external `name`: upper-cased, every character outside
 * `A-Z0-9_` (`.`, `-`, blanks, non-ASCII) becomes `_`, a leading digit gets a `_` prefix, then `_PORT`:
 * `trade-executor.v2` → `TRADE_EXECUTOR_V2_PORT`, `9gag` → `_9GAG_PORT`.
 */
export function portVariable(name: string): string {
  const base = name.toUpperCase().replace(/[^A-Z0-9_]/g, "_");
  return `${/^[0-9]/.test(base) ? "_" : ""}${base}_PORT`;
}

/** `NAME_PORTS` (every instance's port, comma-separated): {@link portVariable} with `_PORTS`. */
export function portsVariable(name: string): string {
  return `${portVariable(name)}S`;
}

/**
 * Renders `units/ports.env`: ORCHESTRATE_PROJECT, ORCHESTRATE_HOST, one `NAME_PORT` per service with a
 * port (instance 0's; disabled ones too: their port stays theirs) and per external; a service with the
 * `instances` key also gets `NAME_PORTS=8001,8002` (every instance, index order; a comma needs no quoting in
 * sh or systemd). Workers appear as comments.
 * Throws UsageError when two names map to one variable (naming both) or when the host cannot be written
 * unquoted.
 */
export function renderPortsEnv(model: Model): RenderedFile {
  if (!SAFE_HOST.test(model.host)) {
    throw new UsageError(
      `host ${JSON.stringify(model.host)} cannot be written to units/ports.env: expected a hostname or IP address (letters, digits, . - : [ ] %)`,
      'fix "host" in the manifest, e.g. "localhost" or "127.0.0.1"',
    );
  }
  const owner = new Map<string, string>();
  const claim = (variable: string, who: string) => {
    const earlier = owner.get(variable);
    if (earlier !== undefined) {
      throw new UsageError(
        `${earlier} and ${who} both map to ${variable} in units/ports.env`,
        "rename one of them so that their upper-cased names differ after . and - become _",
      );
    }
    owner.set(variable, who);
  };
  claim("ORCHESTRATE_PROJECT", "the project name");
  claim("ORCHESTRATE_HOST", "the host");

  const lines = [
    `# ${generatedNote(model)}.`,
    `# Ports of project ${model.project}: \`. units/ports.env\` in sh, EnvironmentFile= in systemd.`,
    `ORCHESTRATE_PROJECT=${model.project}`,
    `ORCHESTRATE_HOST=${model.host}`,
    "",
    "# services",
  ];
  const workers: string[] = [];
  for (const s of model.services) {
    if (s.port === undefined) {
      workers.push(s.name);
      continue;
    }
    const variable = portVariable(s.name);
    claim(variable, `service "${s.name}"`);
    // No trailing comment: systemd would keep it as part of the value.
    lines.push(`${variable}=${s.port}`);
    if (s.multi) {
      const all = portsVariable(s.name);
      claim(all, `service "${s.name}" (all instances)`);
      lines.push(`${all}=${s.instances.map((i) => i.port).join(",")}`);
    }
  }
  if (model.external.length) lines.push("", "# external");
  for (const e of model.external) {
    const variable = portVariable(e.name);
    claim(variable, `external ${JSON.stringify(e.name)}`);
    lines.push(`${variable}=${e.port}`);
  }
  // Worker names match ^[a-z0-9][a-z0-9_.-]*$, so they are safe inside a comment.
  if (workers.length) lines.push("", `# workers (no port): ${workers.join(", ")}`);
  return { path: "units/ports.env", content: lines.join("\n") + "\n", mode: 0o644 };
}
