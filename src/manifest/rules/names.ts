/** Rules for names: services (README "Manifest reference": pattern, not `all`) and variables orchestrate sets itself. */
import type { Problem } from "../../errors";
import { SERVICE_NAME } from "../schema";
import type { ManifestView } from "../view";

/**
 * Keys JavaScript objects treat specially: `__proto__` is dropped or becomes the prototype when an object is
 * built from JSON keys, and an own `constructor` makes schema libraries (zod) reject the whole object. As a
 * service, group, external or env key they are refused by name; every other name (toString, valueOf…) is
 * a plain name.
 */
export const SPECIAL_KEYS: ReadonlySet<string> = new Set(["__proto__", "constructor"]);

/** Longest suffix orchestrate appends to a service name in a file name: `NAME.err.log.100` (supervisord's 100th backup). */
const LOG_SUFFIX = ".err.log.100";
/** systemd unit names are at most 255 bytes (systemd.unit(5), UNIT_NAME_MAX 256 with the NUL); file names likewise (NAME_MAX). */
const NAME_MAX = 255;

/**
 * Longest service name every generated name can hold: the systemd unit `PROJECT-NAME.service` (≤ 255 bytes,
 * systemd.unit(5)) and the rotated log `logs/NAME.err.log.100` (a file name, ≤ 255 bytes).
 */
export function maxServiceNameLength(project: string): { max: number; longest: string } {
  const unit = NAME_MAX - `${project}-.service`.length;
  const log = NAME_MAX - LOG_SUFFIX.length;
  return unit <= log
    ? { max: unit, longest: `the systemd unit "${project}-NAME.service" (at most ${NAME_MAX} bytes)` }
    : { max: log, longest: `the rotated log "NAME${LOG_SUFFIX}" (a file name: at most ${NAME_MAX} bytes)` };
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * Error Problems for special keys (see {@link SPECIAL_KEYS}) as service, group, external or env names, and
 * for a project name too long for any systemd unit name.
 */
export function keyRules(raw: unknown): Problem[] {
  const problems: Problem[] = [];
  const m = isObject(raw) ? raw : {};
  const special = (where: string, kind: string, key: string, service?: string) =>
    problems.push({
      severity: "error",
      path: `${where}.${key}`,
      service,
      field: service ? `env.${key}` : where,
      value: key,
      message: `"${key}" cannot be ${kind}: JavaScript objects treat this key specially, so tools reading the manifest (this one included) would drop or misread it`,
      fix: `rename it, e.g. "${key.replace(/_/g, "")}_${kind.includes("variable") ? "VALUE" : "x"}"`,
    });
  const keysOf = (o: unknown) => (isObject(o) ? Object.keys(o) : []);
  const longest = NAME_MAX - "-x.service".length; // PROJECT-NAME.service with a one-character NAME
  if (typeof m.project === "string" && m.project.length > longest)
    problems.push({
      severity: "error",
      path: "project",
      field: "project",
      value: m.project,
      message: `project name is ${m.project.length} characters long; systemd units are named "PROJECT-NAME.service" (at most ${NAME_MAX} bytes), so it can have at most ${longest}`,
      fix: `shorten it to ${longest} characters or fewer (it prefixes every unit name)`,
    });
  for (const k of keysOf(m.services)) if (SPECIAL_KEYS.has(k)) special("services", "a service name", k);
  for (const k of keysOf(m.external)) if (SPECIAL_KEYS.has(k)) special("external", "an external name", k);
  for (const k of keysOf(m.groups)) {
    if (SPECIAL_KEYS.has(k)) special("groups", "a group name", k); // the schema checks the pattern of the others
  }
  if (isObject(m.services))
    for (const [name, s] of Object.entries(m.services))
      if (isObject(s))
        for (const k of keysOf(s.env))
          if (SPECIAL_KEYS.has(k)) special(`services.${name}.env`, "an environment variable name", k, name);
  return problems;
}

/** Variables every program receives from orchestrate; a service may not set them itself. */
export const PROVIDED_ENV = ["PORT", "HOST", "SERVICE_NAME", "BIND_ADDRESS"] as const;

/**
 * Error Problems for service names that are `all`/`*` (supervisorctl reads them as every program), do not
 * match SERVICE_NAME (README "Manifest reference") or are longer than {@link maxServiceNameLength} for `project`, and for env
 * keys in {@link PROVIDED_ENV}.
 */
export function nameRules(view: ManifestView, project = ""): Problem[] {
  const problems: Problem[] = [];
  const limit = maxServiceNameLength(project);
  for (const s of view.services) {
    const path = `services.${s.name}`;
    if (SPECIAL_KEYS.has(s.name)) continue; // keyRules
    if (limit.max >= 1 && s.name.length > limit.max) {
      problems.push({
        severity: "error",
        path,
        service: s.name.slice(0, 40) + "…",
        field: "(name)",
        value: s.name,
        message: `service name is ${s.name.length} characters long; the longest name orchestrate generates from it, ${limit.longest}, allows at most ${limit.max}`,
        fix: `shorten it to ${limit.max} characters or fewer`,
      });
    }
    if (s.name === "all" || s.name === "*") {
      problems.push({
        severity: "error",
        path,
        service: s.name,
        field: "(name)",
        value: s.name,
        message: `"${s.name}" cannot be a service name: supervisorctl reads it as every program`,
        fix: `rename it, e.g. "${s.name === "all" ? "all_service" : "service"}"`,
      });
    } else if (!SERVICE_NAME.test(s.name)) {
      const suggestion = s.name
        .toLowerCase()
        .replace(/[^a-z0-9_.-]+/g, "_")
        .replace(/^[^a-z0-9]+/, "");
      problems.push({
        severity: "error",
        path,
        service: s.name,
        field: "(name)",
        value: s.name,
        message: `service name "${s.name}" does not match ${SERVICE_NAME} (lower-case letters, digits, "_", ".", "-"; first a letter or digit)`,
        fix: suggestion ? `rename it to "${suggestion}"` : "choose a name such as trade_executor",
      });
    }
    for (const key of PROVIDED_ENV) {
      if (key in s.env) {
        problems.push({
          severity: "error",
          path: `${path}.env.${key}`,
          service: s.name,
          field: `env.${key}`,
          value: s.env[key],
          message: `${key} is set by orchestrate for every program and cannot be overridden in env`,
          fix:
            key === "PORT"
              ? `set "port" on the service instead`
              : key === "HOST"
                ? `set the top-level "host" instead`
                : key === "BIND_ADDRESS"
                  ? `set "exposure" on the service instead (loopback: 127.0.0.1, internal/public: 0.0.0.0)`
                  : `remove env.${key}`,
        });
      }
    }
  }
  return problems;
}
