/** add-service step 3 and `orchestrate lint`: hardcoded ports in a service's source folder (warnings only). */
import { dirname, isAbsolute, relative, resolve } from "node:path";
import { existsSync, statSync } from "node:fs";
import { collectSourceFiles } from "./scan-files";
import { findHardcodedPorts, type LintFinding } from "./hardcoded-ports";
import type { Model, Service } from "../model/types";

/** Every managed port (every instance of every service, and externals) → who owns it. */
export function managedPortOwners(model: Model): Map<number, string> {
  const ports = new Map<number, string>();
  for (const s of model.services) for (const i of s.instances) if (i.port !== undefined) ports.set(i.port, s.name);
  for (const e of model.external) ports.set(e.port, e.name);
  return ports;
}

/**
 * The service's source folder: the folder of the first argument that is an existing file outside the
 * system folders (services/quotes.py → services/, even when it lives outside the project), else its working
 * directory. Interpreters (/usr/bin/python3) and system files are never scanned.
 */
export function sourceFolder(model: Model, service: Service): string {
  for (const arg of service.argv.slice(1).concat(service.argv[0])) {
    if (arg.startsWith("-")) continue;
    const path = isAbsolute(arg) ? arg : `${service.directory}/${arg}`;
    if (SYSTEM.test(path) && relative(model.paths.root, path).startsWith("..")) continue;
    if (existsSync(path) && statSync(path).isFile()) return dirname(resolve(path));
  }
  return resolve(service.directory);
}

const SYSTEM = /^\/(usr|bin|sbin|lib|lib64|etc|opt\/homebrew)\//;

/** The existing, non-system files named in the service's command (its own source files). */
function ownFiles(model: Model, service: Service): string[] {
  const files: string[] = [];
  for (const arg of service.argv.slice(1).concat(service.argv[0])) {
    if (arg.startsWith("-")) continue;
    const path = isAbsolute(arg) ? arg : `${service.directory}/${arg}`;
    if (SYSTEM.test(path) && relative(model.paths.root, path).startsWith("..")) continue;
    if (existsSync(path) && statSync(path).isFile()) files.push(resolve(path));
  }
  return [...new Set(files)];
}

/**
 * Findings in the service's own code, with paths relative to the project root: its source folder, without
 * what belongs to other services — their own files (a shared `services/` folder) and their source folders
 * inside it (`services/old/` under `services/`) — or only the files its command names when it shares its
 * folder with another service; the other services' findings are not this service's.
 */
export async function scanServiceCode(model: Model, service: Service): Promise<LintFinding[]> {
  const folder = sourceFolder(model, service);
  const others = model.services.filter((other) => other.name !== service.name);
  const otherSources = others.map((other) => sourceFolder(model, other)); // each looked up on disk once
  const own = ownFiles(model, service);
  if (own.length && otherSources.includes(folder)) return lintPaths(model, own);
  const ownSet = new Set(own);
  const otherFiles = new Set(others.flatMap((other) => ownFiles(model, other)).filter((f) => !ownSet.has(f)));
  const otherFolders = otherSources.filter((f) => isInside(f, folder));
  return lintPaths(model, [folder], (file) => {
    const path = resolve(file);
    return ownSet.has(path) || (!otherFiles.has(path) && !otherFolders.some((f) => isInside(path, f)));
  });
}

/** Whether `path` is strictly inside `folder`. */
function isInside(path: string, folder: string): boolean {
  const r = relative(folder, path);
  return r !== "" && !r.startsWith("..") && !isAbsolute(r);
}

/** Findings in the given files or folders (only in the files `keep` accepts, given their absolute paths, when set). */
export async function lintPaths(
  model: Model,
  paths: string[],
  keep: (file: string) => boolean = () => true,
): Promise<LintFinding[]> {
  const files = (await collectSourceFiles(paths)).filter((f) => keep(resolve(f.path)));
  return findHardcodedPorts(files, managedPortOwners(model)).map((f) => ({
    ...f,
    file: relative(model.paths.root, f.file) || f.file,
  }));
}
