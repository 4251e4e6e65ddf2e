/**
 * A real systemd for tests: systemd 252 booted as PID 1 of a private PID + mount (+ UTS) namespace,
 * as docs/facts.md ("systemd 252", "Found by the tests: systemd") describes:
 *
 *   unshare --pid --fork --mount --mount-proc --uts BOOT.sh
 *   BOOT.sh: mount --make-rprivate /; FRESH tmpfs on /run, /tmp, /var/tmp (and /etc/systemd/system,
 *            and /sys/fs/cgroup with the host's hierarchies moved onto it);
 *            write /run/systemd/system/sandbox.target (DefaultDependencies=no);
 *            SYSTEMD_UNIT_PATH=/etc/systemd/system:/run/systemd/system exec systemd --unit=sandbox.target
 *
 * DANGER (docs/facts.md): booting a normal target (multi-user.target, default.target) or skipping the private
 * /tmp runs systemd-tmpfiles on the shared filesystem — it EMPTIES the machine's /tmp — and starts the
 * machine's installed services. The boot script refuses to exec systemd unless it is PID 1 of a new PID
 * namespace, in a mount namespace other than the host's, with every tmpfs mounted (`set -e`).
 *
 * Found while building this (beyond the plain recipe): with the default unit path, starting ANY service with
 * default dependencies pulls in sysinit.target (systemd.service(5), "Implicit Dependencies"), which ran
 * systemd-tmpfiles-setup, systemd-sysusers, systemd-sysctl, journald (flushing into the host's
 * /var/log/journal), binfmt and utmp against the shared host. So the sandbox's systemd loads units ONLY
 * from its private folders (`SYSTEMD_UNIT_PATH`, no trailing `:`), where sysinit.target, basic.target …
 * are empty stand-ins. Consequences: no journald inside (journalctl shows nothing; services' default
 * stdout goes to /dev/null, so tests log through `StandardOutput=append:`); /etc/systemd/system is a
 * private tmpfs too, so a persistent `systemctl enable` inside cannot touch the host's /etc. Also found:
 * systemd remounts /sys/fs/cgroup read-only (size=4M) at boot, which with the shared tmpfs made the
 * HOST's /sys/fs/cgroup read-only; the sandbox now gets its own tmpfs there, holding the host's
 * hierarchies. `--uts` keeps systemd's hostname setup away from the host.
 *
 * Shared with the host: the network namespace (ports are reachable from outside), the cgroup tree, and
 * every path except /run, /tmp, /var/tmp, /etc/systemd/system. The project folder therefore lives under
 * /var/lib/orchestrate-test/ (or $ORCHESTRATE_SANDBOX_DIR), visible at the same path inside and out.
 *
 * Skips (returns `{skipped: reason}`) without root, unshare, nsenter or /lib/systemd/systemd, and on a
 * host whose own PID 1 is systemd (`/run/systemd/system` exists): there the sandbox's systemd would
 * share and re-arrange the host systemd's cgroup tree (init.scope, system.slice).
 */
import { existsSync, readFileSync, readdirSync, readlinkSync, rmdirSync, statSync } from "node:fs";
import { mkdir, mkdtemp, rm, rmdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { run, spawnService, type RunResult, type SpawnedProcess } from "../../src/exec/run";

/** A booted sandbox. Stop it with {@link Sandbox.stop} (also done at process exit as a last resort). */
export interface Sandbox {
  /** PID (in the host's PID namespace) of the sandbox's PID 1, systemd. */
  pid: number;
  /** `["nsenter","-t",pid,"-m","-p"]`: put before any command to run it inside. */
  prefix: string[];
  /** Project folder, same path inside and outside, removed by stop(). */
  dir: string;
  /**
   * Runtime unit folder inside the sandbox (systemd.unit(5) "Unit File Load Path"): `/run/systemd/system`.
   * (`/etc/systemd/system` inside is also private and loaded, first.)
   */
  unitDir: string;
  /** The same folder as seen from outside: `/proc/<pid>/root/run/systemd/system` (writable by root). */
  unitDirOutside: string;
  /** Runs `argv` inside the sandbox (via nsenter); never throws for a non-zero exit. */
  exec(argv: string[], timeoutMs?: number): Promise<RunResult>;
  /** SIGKILL the sandbox's PID 1 (ends everything inside), remove empty cgroups it left, remove `dir`. */
  stop(): Promise<void>;
}

const SYSTEMD = "/lib/systemd/systemd";

/** Why the sandbox cannot run here, or undefined when it can. Cheap and synchronous. */
export function sandboxSkipReason(): string | undefined {
  if (process.platform !== "linux") return `systemd sandbox needs Linux, found ${process.platform}`;
  if (process.getuid?.() !== 0)
    return "systemd sandbox needs root (unshare --pid --mount); run the tests as root to include it";
  for (const tool of ["/usr/bin/unshare", "/usr/bin/nsenter", SYSTEMD]) {
    if (!existsSync(tool)) return `systemd sandbox needs ${tool}, which is missing`;
  }
  if (existsSync("/run/systemd/system")) {
    return "host runs systemd as PID 1: a sandboxed systemd would share its cgroup tree; run on a host without systemd as PID 1 (CI VM or container)";
  }
  return undefined;
}

/**
 * Stand-ins for the targets every service with default dependencies needs (systemd.service(5),
 * "Implicit Dependencies": Requires=/After= sysinit.target, After= basic.target, Conflicts= shutdown.target)
 * and that units commonly name. They pull in nothing.
 */
const STUB_TARGETS = [
  "sysinit.target",
  "basic.target",
  "shutdown.target",
  "network.target",
  "network-online.target",
  "multi-user.target",
];

const BOOT_SCRIPT = `#!/bin/sh
# Generated by test/harness/systemd-sandbox.ts. Runs as PID 1 of a fresh PID + mount namespace.
set -eu
[ "$$" = 1 ] || { echo "sandbox: expected to be PID 1 of a new PID namespace, found PID $$" >&2; exit 90; }
[ "$(readlink /proc/self/ns/mnt)" != "$HOST_MNT_NS" ] || { echo "sandbox: mount namespace is the host's" >&2; exit 91; }
mount --make-rprivate /
mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs /run
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /tmp
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /var/tmp
mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs /etc/systemd/system
# Private /sys/fs/cgroup: systemd adds controller mount points there and then remounts it read-only with
# size limits — a remount changes the superblock, which every namespace shares. Move the host's
# hierarchies onto a fresh tmpfs so only that one is changed.
mkdir /run/host-cgroup
mount --move /sys/fs/cgroup /run/host-cgroup
mount -t tmpfs -o mode=0755,nosuid,nodev,noexec tmpfs /sys/fs/cgroup
for entry in /run/host-cgroup/*; do
  name=\${entry##*/}
  if [ -L "$entry" ]; then cp -P "$entry" /sys/fs/cgroup/
  elif mountpoint -q "$entry"; then mkdir "/sys/fs/cgroup/$name"; mount --move "$entry" "/sys/fs/cgroup/$name"
  fi
done
umount /run/host-cgroup
rmdir /run/host-cgroup
mkdir -p /run/systemd/system
cat > /run/systemd/system/sandbox.target <<'EOF'
[Unit]
Description=sandbox
DefaultDependencies=no
EOF
for t in ${STUB_TARGETS.join(" ")}; do
  printf '[Unit]\\nDescription=sandbox stand-in for %s: pulls in nothing\\nDefaultDependencies=no\\n' "$t" > "/run/systemd/system/$t"
done
# Only the sandbox's private folders: nothing from /lib/systemd/system or the host's /etc is loaded.
export SYSTEMD_UNIT_PATH=/etc/systemd/system:/run/systemd/system
exec ${SYSTEMD} --system --unit=sandbox.target --show-status=no
`;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Boots a sandbox and waits until `systemctl is-system-running` inside says running or degraded.
 * @param options.readyTimeoutMs how long to wait for systemd (default 30 000).
 * @throws Error when the sandbox cannot boot although nothing says it should be skipped.
 */
export async function bootSandbox(options: { readyTimeoutMs?: number } = {}): Promise<Sandbox | { skipped: string }> {
  const skip = sandboxSkipReason();
  if (skip) return { skipped: skip };
  const base = process.env.ORCHESTRATE_SANDBOX_DIR ?? "/var/lib/orchestrate-test";
  await mkdir(base, { recursive: true });
  const dir = await mkdtemp(join(base, "sandbox-"));
  const boot = join(dir, "boot.sh");
  await writeFile(boot, BOOT_SCRIPT, { mode: 0o755 });
  const cgroupsBefore = listCgroups();
  const unshare: SpawnedProcess = await spawnService(
    ["/usr/bin/unshare", "--pid", "--fork", "--mount", "--mount-proc", "--uts", boot],
    { cwd: dir, env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin", HOST_MNT_NS: readlinkSync("/proc/self/ns/mnt") } },
  );
  let pid = 0;
  let stopped = false;
  const stop = async () => {
    if (stopped) return; // idempotent: never signal a PID number that may have been reused
    stopped = true;
    // unshare --fork waits for its child and reaps it; kill the namespace's PID 1 first so no zombie is
    // left, and unshare itself only if it has not exited within 5 s.
    if (pid > 0) killQuietly(pid);
    if ((await Promise.race([unshare.exited.then(() => "exited"), sleep(5000)])) !== "exited") {
      unshare.signalGroup("SIGKILL");
      await Promise.race([unshare.exited, sleep(5000)]);
    }
    process.off("exit", onExit);
    removeNewCgroups(cgroupsBefore);
    await rm(dir, { recursive: true, force: true });
    await rmdir(base).catch(() => undefined); // only when no other sandbox folder is left in it
  };
  const onExit = () => {
    if (pid > 0 && !stopped) killQuietly(pid);
  };
  process.on("exit", onExit);
  try {
    pid = await findInit(unshare, options.readyTimeoutMs ?? 30_000);
    const prefix = ["/usr/bin/nsenter", "-t", String(pid), "-m", "-p"];
    const exec = (argv: string[], timeoutMs = 60_000) => run(prefix[0], [...prefix.slice(1), ...argv], { timeoutMs });
    await waitReady(exec, unshare, options.readyTimeoutMs ?? 30_000);
    return {
      pid,
      prefix,
      dir,
      unitDir: "/run/systemd/system",
      unitDirOutside: `/proc/${pid}/root/run/systemd/system`,
      exec,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** The child of unshare (the namespace's PID 1) once it has exec'd systemd. */
async function findInit(unshare: SpawnedProcess, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const children = readFileQuiet(`/proc/${unshare.pid}/task/${unshare.pid}/children`).trim();
    const child = Number(children.split(/\s+/)[0]);
    if (child > 0 && readFileQuiet(`/proc/${child}/comm`).trim() === "systemd") return child;
    if (unshare.child.exitCode !== null) break;
    await sleep(20);
  }
  throw new Error(
    `systemd sandbox: expected systemd as PID 1 of the namespace, found none; output: ${unshare.output()}`,
  );
}

async function waitReady(exec: Sandbox["exec"], unshare: SpawnedProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = "";
  while (Date.now() < deadline) {
    const result = await exec(["systemctl", "is-system-running"], 5000);
    last = result.stdout.trim() || result.stderr.trim();
    if (last === "running" || last === "degraded") return;
    if (unshare.child.exitCode !== null) break;
    await sleep(50);
  }
  throw new Error(
    `systemd sandbox: expected is-system-running to say running, found "${last}"; output: ${unshare.output()}`,
  );
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    /* already gone */
  }
}

function readFileQuiet(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
}

/**
 * Every cgroup directory (depth ≤ 4) of the hierarchies mounted under /sys/fs/cgroup. The sandbox's
 * systemd creates its cgroups (init.scope, system.slice/…) in these shared trees; stop() removes the ones
 * that appeared during the sandbox's life, are named like systemd units at the top of a hierarchy, and
 * are empty (rmdir of a cgroup with processes or children fails, so live cgroups are safe).
 */
function listCgroups(): Set<string> {
  const found = new Set<string>();
  const walk = (path: string, depth: number) => {
    if (depth > 4) return;
    let entries: string[] = [];
    try {
      entries = readdirSync(path);
    } catch {
      return;
    }
    for (const name of entries) {
      const child = join(path, name);
      try {
        if (statSync(child).isDirectory() && existsSync(join(child, "cgroup.procs"))) {
          found.add(child);
          walk(child, depth + 1);
        }
      } catch {
        /* vanished */
      }
    }
  };
  walk("/sys/fs/cgroup", 0);
  return found;
}

/** Top-level cgroups systemd names after units; anything else (another tool's cgroups) is never touched. */
const SYSTEMD_CGROUP = /^\/sys\/fs\/cgroup\/[^/]+\/[^/]+\.(scope|slice|mount|swap|service)(\/|$)/;

function removeNewCgroups(before: Set<string>): void {
  const created = [...listCgroups()]
    .filter((p) => !before.has(p) && SYSTEMD_CGROUP.test(p))
    .sort((a, b) => b.length - a.length);
  for (const path of created) {
    try {
      rmdirSync(path);
    } catch {
      /* busy or already gone: leave it */
    }
  }
}
