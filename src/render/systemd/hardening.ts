/**
 * Opt-in sandboxing for systemd units (`hardening: "strict"` in the manifest). A default unit gets none
 * of this: sandboxing changes what a program may read and write, so it is the operator's choice.
 *
 * Measured with `systemd-analyze security --offline=yes` (systemd 252): a default unit scores 9.6
 * UNSAFE, a strict one 1.x OK (test/e2e/systemd-oracle.test.ts keeps it at or below 2.5).
 *
 * What strict means for a program:
 * - The whole file system is read-only (ProtectSystem=strict) except its log folder(s)
 *   (ReadWritePaths=) and a private /tmp (PrivateTmp=). A program that writes into its own directory
 *   (a SQLite file, a pid file) needs the default profile.
 * - /home, /root and /run/user are hidden (ProtectHome=yes), unless the service directory, its
 *   executable or its logs live there: then they are read-only (ProtectHome=read-only) with the log
 *   folder writable, since hiding them would make the chdir or the exec fail (status 200/CHDIR,
 *   203/EXEC) and bind-mounting single folders misses interpreters kept in the home (pyenv, nvm).
 * - No capabilities, no privilege gain, IPv4/IPv6/unix sockets only, @system-service system calls
 *   (others fail with EPERM instead of killing the process, so a runtime probing a newer call such as
 *   io_uring falls back). A port below 1024 keeps exactly CAP_NET_BIND_SERVICE.
 *
 * Deliberately NOT set:
 * - MemoryDenyWriteExecute=: V8 (Node) and other JITs need writable+executable memory; it crashes them.
 * - PrivateUsers=: in a user namespace CAP_NET_BIND_SERVICE no longer counts for the host network, and a
 *   service running as root loses access to files of unmapped users.
 * - SystemCallFilter=~@resources: Node raises its open-files limit with setrlimit at start.
 * - ProcSubset=pid: hides /proc/cpuinfo and /proc/meminfo, which Node's os.cpus()/os.totalmem() read.
 * - IPAddressDeny=/PrivateNetwork=: these are network services.
 */
import { dirname } from "node:path";
import type { Service } from "../../model/types";
import { pathListItem } from "./escape";

/** Folders whose content ProtectHome= hides (systemd.exec(5) "ProtectHome="). */
const HOME_FOLDERS = ["/home", "/root", "/run/user"];

/** true when `path` is one of {@link HOME_FOLDERS} or lies below one. */
export function isUnderHome(path: string): boolean {
  return HOME_FOLDERS.some((home) => path === home || path.startsWith(`${home}/`));
}

/** The distinct folders of a service's log files, in stdout, stderr order. */
export function logFolders(service: Service): string[] {
  return [...new Set([dirname(service.stdoutLog), dirname(service.stderrLog)])];
}

/**
 * `[Service]` lines (`Key=value`, no section header) that sandbox `service`; empty for
 * `hardening: "default"`. Rules and reasons: this file's header. Deterministic order.
 * @throws UsageError (via pathListItem) when a log folder cannot be written as a path.
 */
export function hardeningDirectives(service: Service): string[] {
  if (service.hardening !== "strict") return [];
  const where = { service: service.name, field: "ReadWritePaths" };
  const logs = logFolders(service);
  const touchesHome = [service.directory, service.argv[0] ?? "", ...logs].some(isUnderHome);
  const privileged = service.port !== undefined && service.port < 1024;
  const capabilities = privileged ? "CAP_NET_BIND_SERVICE" : "";
  return [
    "NoNewPrivileges=yes",
    `CapabilityBoundingSet=${capabilities}`,
    `AmbientCapabilities=${capabilities}`,
    "ProtectSystem=strict",
    `ProtectHome=${touchesHome ? "read-only" : "yes"}`,
    `ReadWritePaths=${logs.map((folder) => pathListItem(folder, where)).join(" ")}`,
    "PrivateTmp=yes",
    "PrivateDevices=yes",
    "ProtectKernelTunables=yes",
    "ProtectKernelModules=yes",
    "ProtectKernelLogs=yes",
    "ProtectControlGroups=yes",
    "ProtectClock=yes",
    "ProtectHostname=yes",
    "ProtectProc=invisible",
    "RestrictNamespaces=yes",
    "RestrictSUIDSGID=yes",
    "RestrictRealtime=yes",
    "RemoveIPC=yes",
    "LockPersonality=yes",
    "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX",
    "SystemCallArchitectures=native",
    "SystemCallFilter=@system-service",
    "SystemCallFilter=~@privileged",
    "SystemCallErrorNumber=EPERM",
    "UMask=0027",
  ];
}
