/**
 * What counts as "ours" — a process this project may stop without asking — and the evidence for it.
 * check-ports uses it to tell a STALE holder (ours, left behind) from a FOREIGN one; recover signals only
 * processes that pass it. Rules, strongest first (each one proven by experiment on supervisord 4.2.5):
 *
 * 1. Environment: supervisord puts `SUPERVISOR_SERVER_URL=unix://<its socket>` and
 *    `SUPERVISOR_PROCESS_NAME=<program>` into every child's environment (supervisor/process.py
 *    `_spawn_as_child`). /proc/PID/environ keeps the block the process was exec'd with, and children
 *    inherit it, so `unix://<this project's run/supervisord.sock>` names THIS project's supervisord, not
 *    any other one on the host. Readable only for our own user's processes (or as root).
 * 2. Command, identity and orphanhood — for a program whose supervisord had another socket (e.g. the
 *    program files run by the system supervisord) — ALL of: the command line equals the generated
 *    command of a service of this project (launchSpec argv, or the service's own argv after the
 *    envfile-exec wrapper exec'd); its environment has that service's SERVICE_NAME and PORT (orchestrate
 *    sets both for every program); its working folder is the service's `directory`; its user is the one
 *    running orchestrate or the service's `user`; and its manager is gone: its parent is init (PPID 1),
 *    or its session leader is dead — supervisord calls setsid() when it daemonizes, so its children keep
 *    supervisord's PID as session id after it is killed, and the subreaper adopting them is in another
 *    session. A copy started by hand in a terminal has a live session leader (the shell) and is NOT
 *    matched; another project running the same fixture or script differs in folder, PORT or name.
 *    (The command alone is never enough: two projects may run byte-identical commands.)
 * 3. Observed: a child of this project's live supervisord seen by recover just before it stopped that
 *    supervisord (PID and start time recorded, so a reused PID does not match).
 * 4. Group: a member of the process group of a process proven ours by 1, 2 or 3 (supervisord makes each
 *    program its own group leader; stopasgroup/killasgroup reach exactly those members).
 *
 * Nothing else is ours: same name, same port or same user are never enough on a shared host.
 */
import { readFileSync, readlinkSync } from "node:fs";
import type { ProcessInfo } from "../inspect/processes";
import { launchSpec } from "../render/supervisord/launch";
import type { Model, Service } from "../model/types";

/** What /proc says about who started a process: a few environment variables and its working folder. */
export interface SupervisorMark {
  /** `SUPERVISOR_SERVER_URL`, e.g. `unix:///srv/recio/run/supervisord.sock` */
  serverUrl?: string;
  /** `SUPERVISOR_PROCESS_NAME`: the program (= service) name */
  program?: string;
  /** `SERVICE_NAME` and `PORT` as orchestrate sets them */
  serviceName?: string;
  port?: string;
  /** working folder (/proc/PID/cwd) */
  cwd?: string;
}

/** Reads {@link SupervisorMark} of `pid`; undefined when its environment is unreadable (another user, gone). */
export function supervisorMark(pid: number): SupervisorMark | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/environ`, "latin1");
  } catch {
    return undefined;
  }
  const mark: SupervisorMark = {};
  const keys: [string, keyof SupervisorMark][] = [
    ["SUPERVISOR_SERVER_URL=", "serverUrl"],
    ["SUPERVISOR_PROCESS_NAME=", "program"],
    ["SERVICE_NAME=", "serviceName"],
    ["PORT=", "port"],
  ];
  for (const entry of text.split("\0")) {
    for (const [prefix, key] of keys) if (entry.startsWith(prefix)) mark[key] = entry.slice(prefix.length);
  }
  try {
    mark.cwd = readlinkSync(`/proc/${pid}/cwd`);
  } catch {
    /* unreadable: rule 2 cannot match */
  }
  return mark;
}

/** `unix://` + the project's socket path: the SUPERVISOR_SERVER_URL our supervisord gives its children. */
export function ourServerUrl(model: Model): string {
  return `unix://${model.paths.socket}`;
}

/**
 * The command lines one instance (default instance 0) of a service shows in /proc (argv joined with single spaces): the launch argv
 * and, when the envfile-exec wrapper is used, the service's own argv after the wrapper exec'd.
 */
export function generatedCommands(model: Model, service: Service, instance = service.instances[0]): string[] {
  let launch: string[] = instance.argv;
  try {
    launch = launchSpec(model, service, instance).argv;
  } catch {
    /* an env value no launch can hold: only the plain argv can be running */
  }
  return [...new Set([launch.join(" "), instance.argv.join(" ")])];
}

/** Everything {@link leftoverEvidence} needs to judge a process, read once per run. */
export interface OursFacts {
  /** {@link ourServerUrl} of the project */
  serverUrl: string;
  /** command line → the services generating it (of the current and the last good manifest) */
  commands: Map<string, CommandOwner[]>;
  /** uid that runs this project's supervisord and its programs (default: ours, process.getuid()) */
  uid?: number;
  /** processes by PID: at least each candidate, its parent and its session leader when alive */
  processes: Map<number, ProcessInfo>;
  /** supervisorMark per PID (undefined = unreadable or none); missing PIDs are read on demand */
  marks: Map<number, SupervisorMark | undefined>;
  /** PID in run/supervisord.pid when it no longer is a live supervisord (its former children keep it as session id) */
  formerSupervisord?: number;
  /** children of our supervisord seen alive just before recover stopped it: PID → startTime */
  observedChildren?: Map<number, number>;
}

/** A service that generates a command line, and the user it runs as when the manifest says (`user`). */
export interface CommandOwner {
  service: string;
  user?: string;
  port?: number;
  /** absolute working folder of the service */
  directory: string;
}

/** Proof that a process is ours: the service it was started as (when known) and why, in words. */
export interface Evidence {
  service?: string;
  rule: "environment" | "observed" | "command";
  reason: string;
}

/** Builds the command → services index for {@link OursFacts.commands} from one or more models. */
export function commandIndex(models: Model[]): Map<string, CommandOwner[]> {
  const index = new Map<string, CommandOwner[]>();
  for (const model of models) {
    for (const service of model.services) {
      // every instance: its own argv ({instance}) and PORT
      for (const instance of service.instances) {
        for (const command of generatedCommands(model, service, instance)) {
          const owners = index.get(command) ?? [];
          const port = instance.port;
          if (
            !owners.some(
              (o) =>
                o.service === service.name &&
                o.user === service.user &&
                o.port === port &&
                o.directory === service.directory,
            )
          ) {
            owners.push({ service: service.name, user: service.user, port, directory: service.directory });
          }
          index.set(command, owners);
        }
      }
    }
  }
  return index;
}

/** Why `info`'s manager is gone, or undefined while it still has one (rule 2 above). */
function orphaned(info: ProcessInfo, facts: OursFacts): string | undefined {
  if (info.ppid === 1) return "its parent is init (PPID 1)";
  if (facts.formerSupervisord !== undefined && info.sid === facts.formerSupervisord) {
    return `its session is that of supervisord PID ${info.sid} from run/supervisord.pid, which is gone`;
  }
  if (info.sid > 0 && info.sid !== info.pid && !facts.processes.has(info.sid)) {
    return `its session leader PID ${info.sid} is gone (adopted by PID ${info.ppid})`;
  }
  return undefined;
}

/**
 * Why `info` is a process of this project's supervisord that nobody manages now, or undefined when that
 * is not proven (rules 1 and 2 of this file). The caller must already have excluded processes inside a
 * program of a RUNNING manager (those are "service", not leftovers).
 */
export function leftoverEvidence(info: ProcessInfo, facts: OursFacts): Evidence | undefined {
  if (!facts.marks.has(info.pid)) facts.marks.set(info.pid, supervisorMark(info.pid));
  const mark = facts.marks.get(info.pid);
  if (mark?.serverUrl !== undefined && mark.serverUrl === facts.serverUrl) {
    return {
      service: mark.program,
      rule: "environment",
      reason: `its environment names this project's supervisord (SUPERVISOR_SERVER_URL=${mark.serverUrl}${mark.program ? `, program ${mark.program}` : ""})`,
    };
  }
  const observed = facts.observedChildren?.get(info.pid);
  if (observed !== undefined && observed === info.startTime) {
    return { rule: "observed", reason: "it was a child of this project's supervisord when recover stopped it" };
  }
  // the user a program runs as: the manifest's `user`, else whoever runs supervisord (us)
  const uid = facts.uid ?? process.getuid?.() ?? -1;
  const owners = facts.commands
    .get(info.command)
    ?.filter(
      (o) =>
        (info.uid === uid || (o.user !== undefined && info.user === o.user)) &&
        mark !== undefined &&
        mark.serviceName === o.service &&
        mark.port === (o.port === undefined ? undefined : String(o.port)) &&
        mark.cwd === o.directory,
    );
  if (!owners?.length) return undefined;
  const why = orphaned(info, facts);
  if (!why) return undefined;
  const names = owners.map((o) => o.service).join("/");
  return {
    service: owners[0].service,
    rule: "command",
    reason: `its command, SERVICE_NAME, PORT and folder are those of ${names}, it runs as user ${info.user}, and ${why}`,
  };
}
