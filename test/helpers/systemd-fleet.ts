/**
 * The example fleet under a REAL systemd (test/harness/systemd-sandbox.ts), driven by the BUILT CLI run
 * INSIDE the sandbox (nsenter into its PID + mount namespace), so the PIDs the CLI reads (MainPID,
 * listener PIDs, /proc/PID/cgroup) are all of the sandbox's PID namespace.
 *
 * Ports: block 25100-25199 only (core 25100-25149, watchdog 25150-25199); other test files use other
 * blocks concurrently. The project folder is the sandbox's (`/var/lib/orchestrate-test/sandbox-…`), seen
 * at the same path inside and out; services run from the repository root (`directory`), which the
 * sandbox shares with the host.
 *
 * The unit folder: `install`/`restart` without --root write `/etc/systemd/system`, which INSIDE the
 * sandbox is a private tmpfs (the harness mounts it before exec'ing systemd). {@link unitDirIsPrivate}
 * checks that before anything is installed, and {@link snapshotTree} lets a test prove the host's own
 * /etc/systemd/system did not change.
 */
import { cpSync, existsSync, lstatSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from "node:fs";
import { basename, dirname, join, relative } from "node:path";
import { run, type RunResult } from "../../src/exec/run";
import { isPortFree } from "../../src/inspect/port-probe";
import { bootSandbox, type Sandbox } from "../harness/systemd-sandbox";
import { FIXTURES, fixture } from "./cli-project";
import { CLI_PATH, REPO_ROOT } from "./project";

/** This file's port block and the two groups' ranges inside it. */
export const FLEET_BLOCK = { low: 25100, high: 25199 } as const;
export const CORE = { low: 25100, high: 25149 } as const;
export const WATCHDOG = { low: 25150, high: 25199 } as const;

/** The project name: units are `sbx-NAME.service` and `sbx.target`. */
export const PROJECT = "sbx";

/** The unit folder `install` uses without --root (systemd.unit(5)); private inside the sandbox. */
export const UNIT_DIR = "/etc/systemd/system";

export interface ServiceEntry {
  group?: string;
  port?: number;
  command: string;
  directory?: string;
  env?: Record<string, string>;
  health?: string;
  dependsOn?: string[];
  hardening?: "default" | "strict";
  [key: string]: unknown;
}

export interface FleetManifest {
  project: string;
  ports?: object;
  groups: Record<string, { range: unknown; description?: string }>;
  services: Record<string, ServiceEntry>;
  [key: string]: unknown;
}

/** Lowest free ports of a range, each handed out once. */
class RangeAllocator {
  private next: number;
  constructor(private readonly range: { low: number; high: number }) {
    if (range.low < FLEET_BLOCK.low || range.high > FLEET_BLOCK.high)
      throw new RangeError(`${range.low}-${range.high} is outside ${FLEET_BLOCK.low}-${FLEET_BLOCK.high}`);
    this.next = range.low;
  }
  async take(): Promise<number> {
    while (this.next <= this.range.high) {
      const port = this.next++;
      if (await isPortFree(port)) return port;
    }
    throw new Error(
      `no free port left in ${this.range.low}-${this.range.high}: something else listens there (ss -ltnp)`,
    );
  }
}

/**
 * The repository's manifest.json as project {@link PROJECT}: every port remapped into 25100-25199 (core
 * from 25100, watchdog from 25150, skipping ports something holds), `ports` limited to the block, every
 * service's `directory` the given folder (the sandbox project, which holds a copy of services/).
 */
export async function fleetManifest(directory = REPO_ROOT): Promise<FleetManifest> {
  const m = JSON.parse(readFileSync(join(REPO_ROOT, "manifest.json"), "utf8")) as FleetManifest;
  delete m.$schema;
  m.project = PROJECT;
  m.ports = { allowed: [`${FLEET_BLOCK.low}-${FLEET_BLOCK.high}`] };
  m.groups.core.range = `${CORE.low}-${CORE.high}`;
  m.groups.watchdog.range = `${WATCHDOG.low}-${WATCHDOG.high}`;
  const allocators: Record<string, RangeAllocator> = {
    core: new RangeAllocator(CORE),
    watchdog: new RangeAllocator(WATCHDOG),
  };
  // no proxy: the private nginx runs beside the manager, not as a unit (covered by procedure-fleet, cli-proxy)
  delete (m as { proxy?: unknown }).proxy;
  for (const s of Object.values(m.services)) {
    delete (s as { routes?: unknown }).routes;
    s.directory = directory;
    if (s.port === undefined) continue;
    const allocator = allocators[s.group ?? ""];
    if (!allocator)
      throw new Error(`expected every service with a port in group core or watchdog, found group ${s.group}`);
    s.port = await allocator.take();
    // instance i listens on port + i: take those too, else write them down as "ports"
    const more: number[] = [];
    for (let i = 1; i < Number(s.instances ?? 1); i++) more.push(await allocator.take());
    if (more.some((p, i) => p !== s.port! + 1 + i)) {
      s.ports = [s.port, ...more];
      delete s.port;
    }
  }
  return m;
}

/** A CLI run: exit code and both streams. */
export interface CliRun {
  exitCode: number | undefined;
  stdout: string;
  stderr: string;
  durationMs: number;
}

export function showRun(r: CliRun): string {
  return `exit ${r.exitCode} after ${Math.round(r.durationMs)} ms\n--- stdout ---\n${r.stdout}--- stderr ---\n${r.stderr}`;
}

/** One unit's `systemctl show` properties as a map. */
export type UnitProps = Record<string, string>;

/**
 * The fleet project inside a booted sandbox: manifest at `<sandbox.dir>/manifest.json`, and a private
 * copy of the built CLI's folder at `<sandbox.dir>/dist/` (a concurrent rebuild of dist/ cannot change
 * it mid-file).
 */
export class SandboxFleet {
  readonly manifestPath: string;
  readonly cliPath: string;

  constructor(readonly sandbox: Sandbox) {
    this.manifestPath = join(sandbox.dir, "manifest.json");
    if (!existsSync(CLI_PATH)) throw new Error(`expected the built CLI at ${CLI_PATH}: run node scripts/build.mjs`);
    // The whole folder: the entry may load sibling bundles (e.g. a lazily required full CLI).
    cpSync(dirname(CLI_PATH), join(sandbox.dir, "dist"), { recursive: true });
    this.cliPath = join(sandbox.dir, "dist", basename(CLI_PATH));
    // the example services too: the checkout may live under /tmp, which is private inside the sandbox
    cpSync(join(REPO_ROOT, "services"), join(sandbox.dir, "services"), { recursive: true });
  }

  writeManifest(m: FleetManifest | string): void {
    writeFileSync(this.manifestPath, typeof m === "string" ? m : JSON.stringify(m, null, 2) + "\n");
  }

  manifestText(): string {
    return readFileSync(this.manifestPath, "utf8");
  }

  manifest(): FleetManifest {
    return JSON.parse(this.manifestText()) as FleetManifest;
  }

  /** `orchestrate --backend systemd --manifest M ARGS`, run INSIDE the sandbox (cwd: the project folder). */
  async cli(args: string[], timeoutMs = 120_000): Promise<CliRun> {
    const argv = [
      "/usr/bin/env",
      "-C",
      this.sandbox.dir,
      "NO_COLOR=1",
      process.execPath,
      this.cliPath,
      "--backend",
      "systemd",
      "--manifest",
      this.manifestPath,
      ...args,
    ];
    const r: RunResult = await this.sandbox.exec(argv, timeoutMs);
    return { exitCode: r.exitCode, stdout: r.stdout, stderr: r.stderr, durationMs: r.durationMs };
  }

  /** The same CLI on the HOST (outside every namespace of the sandbox). */
  async hostCli(args: string[], env: Record<string, string> = {}): Promise<CliRun> {
    const r = await run(
      process.execPath,
      [this.cliPath, "--backend", "systemd", "--manifest", this.manifestPath, ...args],
      { cwd: this.sandbox.dir, extraEnv: { NO_COLOR: "1", ...env }, timeoutMs: 60_000 },
    );
    return { exitCode: r.exitCode, stdout: r.stdout, stderr: r.stderr, durationMs: r.durationMs };
  }

  /** `systemctl show -p …` of `units`, inside the sandbox, parsed (one map per unit, in order). */
  async show(
    units: string[],
    props = ["Id", "LoadState", "ActiveState", "SubState", "MainPID", "NRestarts", "ControlGroup"],
  ): Promise<UnitProps[]> {
    const r = await this.sandbox.exec(["systemctl", "show", `--property=${props.join(",")}`, ...units]);
    if (r.exitCode !== 0) throw new Error(`systemctl show failed: ${r.stderr}`);
    const blocks = r.stdout.trim().split(/\n\s*\n/);
    return blocks.map((b) =>
      Object.fromEntries(b.split("\n").map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)])),
    );
  }

  /** MainPID of each named service (0 when none). */
  async mainPids(names: string[]): Promise<Map<string, number>> {
    const props = await this.show(names.map(unitOf));
    return new Map(names.map((n, i) => [n, Number(props[i].MainPID)]));
  }

  /** The cgroup (unified `0::` line, else `name=systemd`) of a PID of the sandbox, read inside it. */
  async cgroupOf(pid: number): Promise<string> {
    const r = await this.sandbox.exec(["cat", `/proc/${pid}/cgroup`]);
    const lines = r.stdout.split("\n");
    const line = lines.find((l) => l.startsWith("0::")) ?? lines.find((l) => l.includes(":name=systemd:")) ?? "";
    return line.slice(line.lastIndexOf(":") + 1);
  }

  /** The unit folder as seen from the host: `/proc/<pid1>/root/etc/systemd/system`. */
  get unitDirOutside(): string {
    return `/proc/${this.sandbox.pid}/root${UNIT_DIR}`;
  }
}

export const unitOf = (name: string): string => `${PROJECT}-${name}.service`;

/**
 * Checks, from the host, that the sandbox's `/etc/systemd/system` is its own tmpfs in a mount namespace
 * other than ours. Returns a reason when it is NOT private (then nothing may be installed), else undefined.
 */
export function unitDirIsPrivate(sandbox: Sandbox): string | undefined {
  const ours = readlinkSync("/proc/self/ns/mnt");
  const theirs = readlinkSync(`/proc/${sandbox.pid}/ns/mnt`);
  if (ours === theirs) return `the sandbox shares our mount namespace (${ours})`;
  // mountinfo(5): ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL…] - FSTYPE SOURCE SUPER
  const mounts = readFileSync(`/proc/${sandbox.pid}/mountinfo`, "utf8").trim().split("\n");
  const last = mounts.filter((l) => l.split(" ")[4] === UNIT_DIR).pop();
  if (!last) return `no mount on ${UNIT_DIR} inside the sandbox`;
  const fstype = last.split(" - ")[1]?.split(" ")[0];
  if (fstype !== "tmpfs") return `${UNIT_DIR} inside the sandbox is ${fstype}, expected tmpfs`;
  const hostMount = readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .filter((l) => l.split(" ")[4] === UNIT_DIR)
    .pop();
  if (hostMount && hostMount.split(" ")[0] === last.split(" ")[0]) return `${UNIT_DIR} is the host's mount`;
  return undefined;
}

/** Every entry under `dir` (recursive, symlinks not followed): path, type, size, mtime, link target. */
export function snapshotTree(dir: string): string[] {
  const out: string[] = [];
  const walk = (path: string) => {
    let entries: string[];
    try {
      entries = readdirSync(path).sort();
    } catch {
      return;
    }
    for (const name of entries) {
      const full = join(path, name);
      const st = lstatSync(full);
      const rel = relative(dir, full);
      if (st.isSymbolicLink()) out.push(`L ${rel} -> ${readlinkSync(full)}`);
      else if (st.isDirectory()) {
        out.push(`D ${rel} ${st.mtimeMs}`);
        walk(full);
      } else out.push(`F ${rel} ${st.size} ${st.mtimeMs}`);
    }
  };
  walk(dir);
  return out;
}

/**
 * Boots the systemd sandbox for a fleet test file and copies test/fixtures/services/ into its folder: the
 * sandbox has a private /tmp, so a checkout under /tmp (a CI clone) is not visible inside; the project folder
 * (sandbox.dir) is, at the same path ({@link sandboxFixture}).
 * @throws when the sandbox is skipped although the file's pre-check (sandboxSkipReason) passed
 */
export async function bootFleetSandbox(): Promise<{ sandbox: Sandbox; fleet: SandboxFleet }> {
  const booted = await bootSandbox();
  if ("skipped" in booted) throw new Error(`sandbox skipped after the pre-check passed: ${booted.skipped}`);
  cpSync(FIXTURES, join(booted.dir, "fixtures"), { recursive: true });
  return { sandbox: booted, fleet: new SandboxFleet(booted) };
}

/** A fixture service (cli-project.ts fixture) run from the sandbox's copy made by {@link bootFleetSandbox}. */
export function sandboxFixture(
  sandbox: Sandbox,
  file: string,
  port: number | undefined,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return { ...fixture(file, port, extra), command: [process.execPath, join(sandbox.dir, "fixtures", file)] };
}
