/**
 * Installs the rendered unit files (`units/systemd/*`) into the folder systemd reads them from, removes
 * the ones it installed earlier that are no longer rendered, then reloads systemd and enables the
 * project target. Planning (what would change) is separate from writing, so the backend can stop
 * changed/removed services between the two and a dry run costs nothing.
 *
 * Unit folders (systemd.unit(5), "Unit File Load Path"): `/etc/systemd/system` (system, default),
 * `~/.config/systemd/user` (`--user`), `<root>/etc/systemd/system` (`--root`), and the runtime folder
 * `/run/systemd/system`, which lives in a tmpfs and is forgotten at reboot — the test sandbox installs
 * there because its /run is private while /etc is shared with the host.
 *
 * Only units recorded in the state file (`run/systemd-installed.json`) are ever removed: never a glob.
 */
import { readdir, readFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { OperationError } from "../../errors";
import { ensureDir, removeOwnedFile, writeFileAtomicSync } from "../../write/atomic";
import { systemctlError, unitFileError } from "./errors";
import type { Systemctl } from "./systemctl";

/** `persistent`: `systemctl enable`; `runtime`: `enable --runtime` (links under /run, gone at reboot). */
export type EnableMode = "persistent" | "runtime" | "none";

/** Where and what to install. Paths are as seen by this process (see SystemdBackend for namespaces). */
export interface InstallOptions {
  project: string;
  /** Rendered unit files: `<project root>/units/systemd`. */
  unitsDir: string;
  /** Folder systemd loads units from, e.g. from {@link defaultUnitDir}. Created when missing. */
  unitDir: string;
  /** Record of what was installed where: `<project root>/run/systemd-installed.json`. */
  stateFile: string;
  /** How to enable `<project>.target`; default {@link defaultEnableMode} of `unitDir`. */
  enable?: EnableMode;
}

/**
 * A rendered unit file: its path relative to the unit folder and content. A unit or template unit is named
 * by its file name (`demo-api.service`, `demo-api@.service`); a drop-in by its folder and file
 * (`demo-api@1.service.d/instance.conf`: systemd.unit(5), "drop-in").
 */
export interface UnitFile {
  name: string;
  content: string;
}

/** What installing would do. Names are unit names, e.g. `demo-api.service`. */
export interface InstallPlan {
  added: UnitFile[];
  /** Content differs in more than comments and blank lines: the unit must be stopped and reloaded. */
  changed: UnitFile[];
  /** Same meaning; `rewrite` lists those among them whose bytes differ (comments only) and get rewritten. */
  unchanged: string[];
  rewrite: UnitFile[];
  /** Installed earlier (state file) and no longer rendered. */
  removed: string[];
}

/** What installing did (unit names). `installed` = added + changed. */
export interface InstallResult {
  installed: string[];
  added: string[];
  changed: string[];
  removed: string[];
  unchanged: string[];
}

const UNIT_NAME = /^[A-Za-z0-9:_.@\\-]+\.(service|target|socket|timer|path|slice)$/;
const DROP_IN_DIR = /^[A-Za-z0-9:_.@\\-]+\.service\.d$/;

/**
 * The unit an installed file configures: the file itself for a unit or template unit, the folder's unit
 * for a drop-in (`demo-api@1.service.d/instance.conf` → `demo-api@1.service`).
 */
export function unitOfFile(name: string): string {
  const slash = name.indexOf("/");
  return slash < 0 ? name : name.slice(0, slash).replace(/\.d$/, "");
}

/**
 * Default unit folder for a scope (systemd.unit(5)): `<root>/etc/systemd/system` with `root`,
 * `$XDG_CONFIG_HOME/systemd/user` (or `~/.config/systemd/user`) for `user`, else `/etc/systemd/system`.
 */
export function defaultUnitDir(options: { scope: "system" | "user"; root?: string; env?: NodeJS.ProcessEnv }): string {
  if (options.root !== undefined) return join(options.root, "etc/systemd/system");
  if (options.scope === "user") {
    const config = options.env?.XDG_CONFIG_HOME || join(homedir(), ".config");
    return join(config, "systemd/user");
  }
  return "/etc/systemd/system";
}

/** `runtime` for a folder under /run (also `/proc/PID/root/run/…` of a namespace), else `persistent`. */
export function defaultEnableMode(unitDir: string): EnableMode {
  return /^(\/proc\/\d+\/root)?\/run\//.test(unitDir) ? "runtime" : "persistent";
}

/** Content with comment lines, blank lines and trailing spaces removed: what systemd actually parses. */
export function normalizeUnit(content: string): string {
  return content
    .split(/\r?\n/)
    .map((line) => line.trimEnd())
    .filter((line) => line !== "" && !/^\s*[#;]/.test(line))
    .join("\n");
}

/** Unit names recorded in the state file for `unitDir` (empty when there is no record). */
export async function readInstalled(stateFile: string, unitDir: string): Promise<string[]> {
  const state = await readState(stateFile);
  return state.installs[unitDir] ?? [];
}

/**
 * Reads the rendered units and compares them with the unit folder and the state file. Writes nothing.
 * @throws OperationError when `unitsDir` is missing or holds a unit not named `<project>.target` or
 *   `<project>-*` (orchestrate never installs another application's unit).
 */
export async function planInstall(options: InstallOptions): Promise<InstallPlan> {
  const rendered = await readRendered(options);
  const previous = new Set(await readInstalled(options.stateFile, options.unitDir));
  const plan: InstallPlan = { added: [], changed: [], unchanged: [], rewrite: [], removed: [] };
  for (const unit of rendered) {
    const current = await readFile(join(options.unitDir, unit.name), "utf8").catch(() => undefined);
    if (current === undefined) plan.added.push(unit);
    else if (normalizeUnit(current) !== normalizeUnit(unit.content)) plan.changed.push(unit);
    else {
      plan.unchanged.push(unit.name);
      if (current !== unit.content) plan.rewrite.push(unit);
    }
  }
  const names = new Set(rendered.map((u) => u.name));
  plan.removed = [...previous].filter((name) => !names.has(name)).sort();
  return plan;
}

/**
 * Writes added/changed/rewritten units (atomically, through src/write/atomic.ts), deletes removed ones,
 * and records the rendered set in the state file.
 * @throws OperationError naming `--user` when the unit folder is not writable.
 */
export async function writeInstall(plan: InstallPlan, options: InstallOptions): Promise<InstallResult> {
  const attempt = (path: string, action: string, write: () => void) => {
    try {
      write();
    } catch (e) {
      throw unitFileError(e, path, action);
    }
  };
  attempt(options.unitDir, "create the unit folder", () => ensureDir(options.unitDir));
  for (const unit of [...plan.added, ...plan.changed, ...plan.rewrite]) {
    const path = join(options.unitDir, unit.name);
    attempt(path, `install ${unit.name}`, () => writeFileAtomicSync(path, unit.content, 0o644));
  }
  for (const name of plan.removed) {
    const path = join(options.unitDir, name);
    // a drop-in folder goes with its last file when only installed files were in it
    attempt(path, `remove ${name}`, () =>
      removeOwnedFile(path, (folder) => name.includes("/") && folder !== options.unitDir),
    );
  }
  const installed = [...plan.added, ...plan.changed].map((u) => u.name);
  const state = await readState(options.stateFile);
  state.installs[options.unitDir] = [...installed, ...plan.unchanged].sort();
  writeFileAtomicSync(options.stateFile, JSON.stringify(state, null, 2) + "\n");
  return {
    installed,
    added: plan.added.map((u) => u.name),
    changed: plan.changed.map((u) => u.name),
    removed: plan.removed,
    unchanged: plan.unchanged,
  };
}

/**
 * Makes systemd see the files: `daemon-reload` (skipped with `--root`: there is no manager), then
 * `enable [--runtime] <project>.target` when that target is installed and `enable` is not `none`.
 * @throws OperationError from errors.ts when systemctl fails (not booted, permission → `--user`).
 */
export async function activateInstall(
  systemctl: Systemctl,
  options: InstallOptions,
  installedNames: string[],
): Promise<void> {
  if (systemctl.root === undefined) {
    const reload = await systemctl.run(["daemon-reload"]);
    if (reload.exitCode !== 0) throw systemctlError(reload, "daemon-reload", systemctl.scope);
  }
  const target = `${options.project}.target`;
  const mode = options.enable ?? defaultEnableMode(options.unitDir);
  if (mode === "none" || !installedNames.includes(target)) return;
  const enable = await systemctl.run(["enable", ...(mode === "runtime" ? ["--runtime"] : []), target]);
  if (enable.exitCode !== 0) throw systemctlError(enable, `enable ${target}`, systemctl.scope);
}

/** plan → write → reload + enable, for callers that stop nothing in between (e.g. a plain `install`). */
export async function installUnits(systemctl: Systemctl, options: InstallOptions): Promise<InstallResult> {
  const plan = await planInstall(options);
  const result = await writeInstall(plan, options);
  await activateInstall(systemctl, options, [...result.installed, ...result.unchanged]);
  return result;
}

interface InstallState {
  version: 1;
  /** unit folder → unit names installed there */
  installs: Record<string, string[]>;
}

async function readState(stateFile: string): Promise<InstallState> {
  const text = await readFile(stateFile, "utf8").catch(() => undefined);
  if (text === undefined) return { version: 1, installs: {} };
  try {
    const parsed = JSON.parse(text) as InstallState;
    if (parsed && typeof parsed.installs === "object") return { version: 1, installs: parsed.installs };
  } catch {
    /* fall through */
  }
  throw new OperationError(
    `${stateFile}: expected the JSON record of installed systemd units, found unreadable content`,
    "restore it from version control or delete it (units it listed will then no longer be removed automatically)",
  );
}

async function readRendered(options: InstallOptions): Promise<UnitFile[]> {
  const entries = await readdir(options.unitsDir, { withFileTypes: true }).catch((e: NodeJS.ErrnoException) => {
    throw new OperationError(
      `expected rendered systemd units in ${options.unitsDir}, found: ${e.code ?? e.message}`,
      "run `orchestrate generate` first",
    );
  });
  const units: UnitFile[] = [];
  const own = (name: string) => name === `${options.project}.target` || name.startsWith(`${options.project}-`);
  const refuse = (name: string): never => {
    throw new OperationError(
      `${join(options.unitsDir, name)}: expected units named ${options.project}.target or ${options.project}-NAME.service, found ${name}`,
      `remove it from units/systemd: orchestrate installs only its own project's units (also the template ${options.project}-NAME@.service and its drop-in folders ${options.project}-NAME@I.service.d/)`,
    );
  };
  for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    if (entry.isFile() && UNIT_NAME.test(entry.name)) {
      if (!own(entry.name)) refuse(entry.name);
      units.push({ name: entry.name, content: await readFile(join(options.unitsDir, entry.name), "utf8") });
    } else if (entry.isDirectory() && DROP_IN_DIR.test(entry.name)) {
      if (!own(entry.name)) refuse(entry.name);
      const files = (await readdir(join(options.unitsDir, entry.name), { withFileTypes: true }))
        .filter((f) => f.isFile() && f.name.endsWith(".conf"))
        .map((f) => f.name)
        .sort();
      for (const file of files) {
        const name = `${entry.name}/${file}`;
        units.push({ name, content: await readFile(join(options.unitsDir, name), "utf8") });
      }
    }
  }
  return units;
}
