/**
 * Validation of a parsed manifest: the schema (shapes and per-value rules) plus every cross-field
 * rule, all problems collected in one run. Errors make the manifest invalid (exit 2); warnings do not.
 */
import type { z } from "zod";
import type { Problem } from "../errors";
import { closestNames } from "../model/suggest";
import { dependencyRules } from "./rules/dependencies";
import { commandRules } from "./rules/commands";
import { instanceRules } from "./rules/instances";
import { referenceRules } from "./rules/references";
import { keyRules, nameRules, SPECIAL_KEYS } from "./rules/names";
import { rangeRules } from "./rules/ranges";
import { hostRules } from "./rules/host";
import { edgeRules } from "./rules/routes";
import { portRules } from "./rules/ports";
import { processGroupRules } from "./rules/process-groups";
import { stringRules } from "./rules/strings";
import { manifestSchema, serviceSchema, type Manifest } from "./schema";
import { viewOf } from "./view";

/** Result of validation: the typed manifest when there is no error, and every problem found. */
export interface Validation {
  manifest?: Manifest;
  problems: Problem[];
  errors: Problem[];
  warnings: Problem[];
}

/** Validates a parsed manifest; never throws for bad input. */
export function validateManifest(raw: unknown): Validation {
  const parsed = manifestSchema.safeParse(raw);
  const problems: Problem[] = parsed.success ? [] : parsed.error.issues.flatMap((issue) => fromIssue(issue, raw));
  const view = viewOf(raw);
  problems.push(
    ...stringRules(raw),
    ...keyRules(raw),
    ...nameRules(view, projectOf(raw)),
    ...rangeRules(raw),
    ...hostRules(raw),
    ...portRules(view),
    ...dependencyRules(view),
    ...commandRules(view),
    ...instanceRules(view),
    ...referenceRules(view),
    ...edgeRules(raw, view),
    ...processGroupRules(raw, view),
  );
  const errors = problems.filter((p) => p.severity === "error");
  return {
    manifest: parsed.success && errors.length === 0 ? parsed.data : undefined,
    problems,
    errors,
    warnings: problems.filter((p) => p.severity === "warning"),
  };
}

function projectOf(raw: unknown): string {
  const p = raw && typeof raw === "object" ? (raw as { project?: unknown }).project : undefined;
  return typeof p === "string" ? p : "";
}

/** True for an object with an own key of SPECIAL_KEYS: keyRules names that key; zod's "expected record" would dump the object. */
function hasSpecialKey(value: unknown): boolean {
  return (
    typeof value === "object" &&
    value !== null &&
    [...SPECIAL_KEYS].some((k) => Object.prototype.hasOwnProperty.call(value, k))
  );
}

const SERVICE_KEYS = Object.keys(serviceSchema.shape);
const TOP_KEYS = Object.keys(manifestSchema.shape);

function valueAt(raw: unknown, path: PropertyKey[]): unknown {
  let v: unknown = raw;
  for (const key of path) v = v && typeof v === "object" ? (v as Record<PropertyKey, unknown>)[key] : undefined;
  return v;
}

/** Turns one zod issue into a Problem naming service, field, value and a fix. */
function fromIssue(issue: z.core.$ZodIssue, raw: unknown): Problem[] {
  const path = issue.path.map(String);
  const service = path[0] === "services" && path.length > 1 ? path[1] : undefined;
  const field = service ? path.slice(2).join(".") : path.join(".");
  const base = { severity: "error" as const, path: path.join("."), service, field: field || "(root)" };
  if (issue.code === "unrecognized_keys") {
    const known = service && path.length === 2 ? SERVICE_KEYS : path.length === 0 ? TOP_KEYS : [];
    return issue.keys.map((key) => {
      const near = closestNames(key, known, 1);
      return {
        ...base,
        path: [...path, key].join("."),
        field: service ? [...path.slice(2), key].join(".") : [...path, key].join("."),
        value: key,
        message: `unknown key "${key}"`,
        fix: near.length
          ? `did you mean "${near[0]}"?`
          : known.length
            ? `known keys: ${known.join(", ")}`
            : "remove it",
      };
    });
  }
  const value = valueAt(raw, issue.path);
  if (issue.code === "invalid_type" && hasSpecialKey(value)) return []; // reported by keyRules, by name
  // a process group's name and an empty group: reported by processGroupRules, with the group's own terms
  if (path[0] === "processGroups" && (issue.code === "invalid_key" || issue.code === "too_small")) return [];
  if (issue.code === "invalid_key") {
    const key = String(issue.path[issue.path.length - 1] ?? "");
    const inEnv = path.includes("env");
    const inReserved = path.includes("reserved");
    if (inReserved)
      return [
        {
          ...base,
          value: key,
          message: `reserved port "${key}" is not a port (expected 1-65535)`,
          fix: 'write the port number as the key, e.g. "8083": "why it is kept"',
        },
      ];
    return [
      {
        ...base,
        value: key,
        message: inEnv
          ? `environment variable name "${key}" is not valid (expected [A-Za-z_][A-Za-z0-9_]*)`
          : `key "${key}" is not valid here: ${issue.message}`,
        fix: inEnv ? `rename it, e.g. "${key.replace(/[^A-Za-z0-9_]/g, "_").replace(/^([0-9])/, "_$1")}"` : "rename it",
      },
    ];
  }
  if (value === undefined && (issue.code === "invalid_type" || issue.code === "invalid_union")) {
    const key = path[path.length - 1];
    return [{ ...base, message: `"${field}" is required`, fix: `add "${key}": ${describeExpected(key)}` }];
  }
  if (typeof value === "number" && !Number.isFinite(value))
    return [
      {
        ...base,
        value: String(value),
        message: `the number at ${path.join(".")} is too large to represent: JSON reads it as ${value}`,
        fix: describeExpected(path[path.length - 1]),
      },
    ];
  const last = path[path.length - 1];
  return [
    {
      ...base,
      value,
      message: `${JSON.stringify(value)} is not valid: ${issue.message}`,
      // exitCodes.1 / ports.0: the list's key says what is expected
      fix: describeExpected(/^\d+$/.test(last ?? "") ? path[path.length - 2] : last),
    },
  ];
}

function describeExpected(key: string | undefined): string {
  switch (key) {
    case "port":
      return "use an integer from 1 to 65535";
    case "project":
      return 'use lower-case letters, digits and "-", starting with a letter, e.g. "recio"';
    case "stopSignal":
      return "use one of TERM, HUP, INT, QUIT, KILL, USR1, USR2";
    case "health":
      return 'use an HTTP path starting with "/", e.g. "/health"';
    case "command":
      return 'a command string ("python3 app.py --port {port}") or an argv array of strings';
    case "instances":
      return "use an integer from 1 to 1000 (the number of processes)";
    case "ports":
      return "use a list of ports (integers 1-65535), one per instance";
    case "type":
      return 'use "service" (runs until stopped) or "oneshot" (runs to completion)';
    case "autostart":
      return "use true or false";
    case "restart":
      return 'use "always", "on-failure" or "never"';
    case "exitCodes":
      return "use a list of exit codes, integers 0-255, e.g. [0, 2]";
    case "stderr":
      return 'use "separate" (own log) or "merge" (into the stdout log)';
    case "priority":
      return "use an integer from 0 to 999 (lower starts first among services of one dependency level)";
    case "processGroups":
      return 'use an object of process group name → list of service names, e.g. "processGroups": { "front": ["api", "web"] }';
    case "range":
      return 'use "LOW-HIGH" (e.g. "8000-8100"), a single port, or a list of those';
    default:
      return "see manifest.schema.json for the expected shape";
  }
}
