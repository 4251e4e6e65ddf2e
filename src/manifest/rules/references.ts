/**
 * Placeholders and references between services in `command` and `env` values (manifest v1.1):
 * `{port}`, `{host}`, `{name}`, `{instance}`, `{port:NAME}`, `{url:NAME}` (instance 0 of NAME, resolved at
 * render time), `{{key}}` for the literal text `{key}`. Errors: an unknown placeholder, an unknown NAME (with
 * the closest names), a NAME without a port. Warnings: a reference to a service that is not in dependsOn, or
 * is disabled; a managed port or `http://HOST:PORT` URL written literally in an env value.
 */
import type { Problem } from "../../errors";
import { findPlaceholders, PLACEHOLDERS, splitCommand } from "../../model/command";
import { closestNames } from "../../model/suggest";
import type { ManifestView, ServiceView } from "../view";

/** The strings of a service that placeholders are filled in: command words, then env values. */
function texts(s: ServiceView): Array<{ field: string; text: string }> {
  const out: Array<{ field: string; text: string }> = [];
  let words: string[] = [];
  if (typeof s.command === "string") {
    try {
      words = splitCommand(s.command);
    } catch {
      words = []; // reported by commandRules
    }
  } else if (Array.isArray(s.command)) words = s.command.filter((w): w is string => typeof w === "string");
  for (const w of words) out.push({ field: "command", text: w });
  for (const [k, v] of Object.entries(s.env)) if (typeof v === "string") out.push({ field: `env.${k}`, text: v });
  return out;
}

const KNOWN = `{${PLACEHOLDERS.join("}, {")}}, {port:NAME}, {url:NAME}`;

/** Hosts a literal URL may name for one of this project's services. */
function localHosts(view: ManifestView): Set<string> {
  return new Set([view.host, "localhost", "127.0.0.1", "0.0.0.0", "[::1]", "::1"]);
}

const LITERAL_URL = /\bhttp:\/\/(\[[^\]\s]*\]|[^/:\s]+):(\d{1,5})(?![\d])/g;

/** The placeholder and reference rules above as Problems, for every service. */
export function referenceRules(view: ManifestView): Problem[] {
  const problems: Problem[] = [];
  const byName = new Map(view.services.map((s) => [s.name, s]));
  // port → who owns it (instance 0 only: references name instance 0)
  const firstPorts = new Map<number, ServiceView>();
  for (const s of view.services) if (s.instancePorts.length) firstPorts.set(s.instancePorts[0].port, s);
  const hosts = localHosts(view);
  for (const s of view.services) {
    const push = (severity: "error" | "warning", field: string, value: unknown, message: string, fix: string) =>
      problems.push({ severity, path: `services.${s.name}.${field}`, service: s.name, field, value, message, fix });
    const warned = new Set<string>();
    for (const { field, text } of texts(s)) {
      for (const m of findPlaceholders(text)) {
        if (m.literal) continue;
        if (m.arg === undefined) {
          if (!(PLACEHOLDERS as readonly string[]).includes(m.key))
            push(
              "error",
              field,
              m.text,
              `unknown placeholder "${m.text}" in ${field}: only ${KNOWN} are replaced`,
              `use one of those, or write {${m.text}} for the literal text ${m.text}`,
            );
          continue;
        }
        if (m.key !== "port" && m.key !== "url") {
          push(
            "error",
            field,
            m.text,
            `unknown reference "${m.text}" in ${field}: only {port:NAME} and {url:NAME} name another service`,
            `write {port:${m.arg}} or {url:${m.arg}}`,
          );
          continue;
        }
        const target = byName.get(m.arg);
        if (!target) {
          const near = closestNames(m.arg, byName.keys());
          push(
            "error",
            field,
            m.text,
            `"${m.text}" names "${m.arg}", which is not a service of this manifest`,
            near.length
              ? `did you mean ${near.map((n) => `{${m.key}:${n}}`).join(" or ")}?`
              : "name a service of this manifest",
          );
          continue;
        }
        if (target.instancePorts.length === 0) {
          push(
            "error",
            field,
            m.text,
            `"${m.text}" names ${m.arg}, which has no port (${target.type === "oneshot" ? "a oneshot" : "a worker"})`,
            `give ${m.arg} a "port", or remove the reference`,
          );
          continue;
        }
        if (target.name === s.name || warned.has(target.name)) continue;
        warned.add(target.name);
        if (!target.enabled)
          push(
            "warning",
            field,
            m.text,
            `${s.name} uses ${target.name}'s port, but ${target.name} is disabled: nothing will listen there`,
            `enable ${target.name}, or remove the reference`,
          );
        else if (!s.dependsOn.includes(target.name))
          push(
            "warning",
            field,
            m.text,
            `${s.name} uses ${target.name}'s port but does not depend on it: it may start before ${target.name} listens`,
            `add "${target.name}" to dependsOn of ${s.name}`,
          );
      }
      if (field.startsWith("env.")) literalPorts(s, field, text, firstPorts, hosts, push);
    }
  }
  return problems;
}

/** Warnings for a managed port, or an `http://HOST:PORT` URL of one, written literally in an env value. */
function literalPorts(
  s: ServiceView,
  field: string,
  text: string,
  firstPorts: Map<number, ServiceView>,
  hosts: Set<string>,
  push: (severity: "warning", field: string, value: unknown, message: string, fix: string) => void,
): void {
  const ref = (kind: "port" | "url", owner: ServiceView) =>
    owner.name === s.name && kind === "port" ? "{port}" : `{${kind}:${owner.name}}`;
  if (/^\d{1,5}$/.test(text)) {
    const owner = firstPorts.get(Number(text));
    if (owner)
      push(
        "warning",
        field,
        text,
        `${field} is ${text}, the port of ${owner.name}, written literally: it goes stale when the port changes`,
        `write "${ref("port", owner)}"`,
      );
    return;
  }
  for (const m of text.matchAll(LITERAL_URL)) {
    if (!hosts.has(m[1])) continue;
    const owner = firstPorts.get(Number(m[2]));
    if (!owner) continue;
    const fixed = text.replace(m[0], ref("url", owner));
    push(
      "warning",
      field,
      text,
      `${field} has ${m[0]}, the URL of ${owner.name}, written literally: it goes stale when the port or host changes`,
      `write ${JSON.stringify(fixed)}`,
    );
  }
}
