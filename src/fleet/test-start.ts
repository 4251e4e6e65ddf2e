/**
 * test-start — the runbooks' step 5 ("test the service manually first"), automated: run the service alone,
 * outside any manager, exactly as generated (argv, environment, folder); it must listen on ITS port
 * within readyTimeout, from its own process tree, pass its health check, stop on Ctrl+C (SIGINT to its
 * process group) within stopTimeout, and release the port.
 */
import { spawnService, type SpawnedProcess } from "../exec/run";
import { listListeners, listenersByPort } from "../inspect/listeners";
import { descendants, startTimeOf, userIds } from "../inspect/processes";
import { acceptsConnections, isPortFree } from "../inspect/port-probe";
import { launchEnvironment } from "../model/environment";
import { launchSpec } from "../render/supervisord/launch";
import type { Instance, Model, Service } from "../model/types";
import { checkHealth } from "../verify/health";
import { describeHolder } from "../verify/ownership";
import { supervisorMark } from "../live-ports/ours";
import type { StepSink } from "../progress/steps";
import { clearTestStart, reapTestStart, recordTestStart } from "./test-start-record";
import { stopDaemons, type LaunchIdentity } from "./daemons";

/** Outcome of {@link testStart}. */
export interface TestStartResult {
  ok: boolean;
  /** the failed check, e.g. "listens on 8000, expected 8007: hardcoded port?" */
  failure?: string;
  /** the program's combined stdout+stderr (last 64 KiB) */
  output: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * `promise`'s value, or `onTimeout` after `ms`. The timer is cleared either way: a pending timer keeps the
 * CLI process alive, so a plain race with sleep(stopTimeout) made every test-start/add-service exit only
 * stopTimeout seconds after the service had stopped.
 */
async function within<T, U>(promise: Promise<T>, ms: number, onTimeout: U): Promise<T | U> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<U>((resolve) => (timer = setTimeout(() => resolve(onTimeout), ms))),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Runs the checks on one instance of `service` (default instance 0: `test-start NAME`), printing each as a
 * step. A oneshot must exit within readyTimeout with a code in exitCodes instead of listening and
 * stopping on Ctrl+C. Always leaves nothing running behind: SIGKILL to the child's group on failure, and a
 * program that daemonized (its daemon left the process group) has its daemons stopped
 * (src/fleet/daemons.ts) and fails with "the program daemonizes".
 */
export async function testStart(
  model: Model,
  service: Service,
  report: StepSink,
  instance: Instance = service.instances[0],
): Promise<TestStartResult> {
  const launched: { identity?: LaunchIdentity } = {};
  const result = await checks(model, service, report, launched, instance);
  if (!launched.identity) return result;
  const daemons = await stopDaemons(launched.identity, service.stopTimeout * 1000);
  if (!daemons.length) return result;
  const pids = daemons.map((d) => d.pid).join(", ");
  const msg = `the program daemonizes; supervisord and systemd need it in the foreground (e.g. a --nodaemon flag): stopped the daemon it started: pid ${pids} (${daemons[0].command})`;
  report.begin("the program stays in the foreground (does not daemonize)").fail(msg);
  if (instance.port !== undefined) {
    const free = () => isPortFree(instance.port!);
    const deadline = performance.now() + 3000;
    while (!(await free()) && performance.now() < deadline) await sleep(50);
  }
  return { ok: false, failure: msg, output: result.output };
}

async function checks(
  model: Model,
  service: Service,
  report: StepSink,
  launched: { identity?: LaunchIdentity },
  instance: Instance,
): Promise<TestStartResult> {
  const port = instance.port;
  let child: SpawnedProcess | undefined;
  let exited: { exitCode: number | null; signal: NodeJS.Signals | null } | undefined;
  const fail = (failure: string): TestStartResult => ({ ok: false, failure, output: child?.output() ?? "" });
  for (const note of await reapTestStart(model.paths)) report.begin("clean up an interrupted test-start").ok(note);
  try {
    if (port !== undefined) {
      const step = report.begin(`port ${port} is free`);
      const holders = (await listenersByPort([port])).get(port) ?? [];
      if (holders.length || !(await isPortFree(port))) {
        const msg = holders.length
          ? `port ${port} is already held by ${describeHolder(holders[0])}`
          : `port ${port} is already in use`;
        step.fail(msg);
        // the service itself, already running (under supervisord, systemd or by hand), is the usual holder
        const itself = holders.some((h) => h.pid !== undefined && supervisorMark(h.pid)?.serviceName === service.name);
        if (itself)
          return fail(
            `${msg}: that is ${service.name} itself, already running; stop it first ("orchestrate stop ${service.name}"), then test-start it`,
          );
        return fail(`${msg}: stop that process or choose another port ("orchestrate check-ports" shows every holder)`);
      }
      step.ok();
    }

    const spec = launchSpec(model, service, instance);
    // as the manager would: supervisord `user=` and systemd `User=` switch users only when run as root
    const as = service.user !== undefined && process.getuid?.() === 0 ? userIds(service.user) : undefined;
    if (service.user !== undefined && process.getuid?.() === 0 && !as) {
      report.begin(`run as user ${service.user}`).fail(`user "${service.user}" is not in /etc/passwd`);
      return fail(
        `user "${service.user}" (services.${service.name}.user) does not exist on this host: create it or remove "user"`,
      );
    }
    const start = report.begin(
      `start ${instance.label} alone${as ? ` as ${service.user}` : ""}: ${spec.argv.join(" ")}`,
    );
    try {
      child = await spawnService(spec.argv, {
        cwd: spec.cwd,
        env: launchEnvironment({ env: spec.env }),
        uid: as?.uid,
        gid: as?.gid,
      });
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      start.fail(`${err.code ?? "error"}: ${err.message}`);
      return fail(
        `cannot start ${spec.argv[0]} in ${spec.cwd}: ${err.code === "ENOENT" ? "not found (check the command and directory)" : err.message}`,
      );
    }
    void child.exited.then((e) => (exited = e));
    launched.identity = {
      pid: child.pid,
      // the child's own start time; ours (earlier still) when it is already gone
      startTime: startTimeOf(child.pid) ?? startTimeOf(process.pid) ?? 0,
      serviceName: service.name,
      port,
      uid: as?.uid ?? process.getuid?.() ?? -1,
    };
    await recordTestStart(model.paths, service.name, child.pid);
    start.ok(`pid ${child.pid}`);

    if (port !== undefined) {
      const listen = report.begin(`listens on its port ${port} within ${service.readyTimeout} s`);
      const deadline = performance.now() + service.readyTimeout * 1000;
      let elsewhereSince: number | undefined;
      let elsewhere: number[] = [];
      let pause = 10;
      for (;;) {
        if (exited) {
          listen.fail(`exited (${exited.signal ?? `code ${exited.exitCode}`}) before listening`);
          return fail(
            `${service.name} exited with ${exited.signal ?? `code ${exited.exitCode}`} before listening on ${port}`,
          );
        }
        if ((await acceptsConnections(port, "127.0.0.1", 300)) || (await acceptsConnections(port, "::1", 300))) break;
        if (pause >= 100) {
          const tree = await descendants(child.pid);
          elsewhere = [
            ...new Set((await listListeners()).filter((l) => l.pids.some((p) => tree.has(p))).map((l) => l.port)),
          ];
          if (elsewhere.length && elsewhereSince === undefined) elsewhereSince = performance.now();
        }
        const now = performance.now();
        if (now >= deadline || (elsewhereSince !== undefined && now - elsewhereSince > 2000)) {
          const msg = elsewhere.length
            ? `listens on ${elsewhere.join(", ")}, expected ${port}: hardcoded port? (read PORT from the environment)`
            : `nothing listens on ${port} after ${service.readyTimeout} s (readyTimeout)`;
          listen.fail(msg);
          return fail(msg);
        }
        await sleep(pause);
        pause = Math.min(pause * 1.5, 200);
      }
      listen.ok();

      const own = report.begin("the listener belongs to the started process tree");
      const tree = await descendants(child.pid);
      const listeners = (await listenersByPort([port])).get(port) ?? [];
      const ours = listeners.find((l) => l.pids.some((p) => tree.has(p)));
      if (!ours) {
        const msg = listeners.length
          ? `port ${port} is held by ${describeHolder(listeners[0])}, not by ${service.name} (pid ${child.pid})`
          : `the listener on ${port} could not be attributed`;
        own.fail(msg);
        return fail(msg);
      }
      own.ok(`pid ${ours.pids.find((p) => tree.has(p))}`);

      if (service.health) {
        const h = report.begin(`health ${service.health} answers 2xx`);
        let last = await checkHealth({ host: "127.0.0.1", port: port, path: service.health });
        while (!last.ok && performance.now() < deadline && !exited) {
          await sleep(100);
          last = await checkHealth({ host: "127.0.0.1", port: port, path: service.health });
        }
        if (!last.ok) {
          const msg =
            last.status !== undefined
              ? `health ${service.health} answered ${last.status}, expected 2xx`
              : `health ${service.health}: ${last.error}`;
          h.fail(msg);
          return fail(msg);
        }
        h.ok(`${last.status} in ${Math.round(last.ms)} ms`);
      }
    } else if (service.type === "oneshot") {
      const ran = report.begin(
        `runs to completion within ${service.readyTimeout} s with exit code ${service.exitCodes.join(" or ")}`,
      );
      const end = await within(child.exited, service.readyTimeout * 1000, undefined);
      if (!end) {
        ran.fail(`still running after ${service.readyTimeout} s (readyTimeout)`);
        return fail(`oneshot ${service.name} did not exit within readyTimeout ${service.readyTimeout} s`);
      }
      if (end.signal || !service.exitCodes.includes(end.exitCode ?? -1)) {
        const how = end.signal ?? `code ${end.exitCode}`;
        ran.fail(`exited with ${how}`);
        return fail(
          `oneshot ${service.name} exited with ${how}, expected ${service.exitCodes.join(" or ")} (exitCodes)`,
        );
      }
      ran.ok(`exit code ${end.exitCode}`);
      return { ok: true, output: child.output() };
    } else {
      const alive = report.begin(`stays up for startsecs (${service.startSecs} s)`);
      const until = performance.now() + service.startSecs * 1000;
      while (performance.now() < until && !exited) await sleep(50);
      if (exited) {
        alive.fail(`exited (${exited.signal ?? `code ${exited.exitCode}`}) within ${service.startSecs} s`);
        return fail(`${service.name} exited with ${exited.signal ?? `code ${exited.exitCode}`} within startsecs`);
      }
      alive.ok();
    }

    const stop = report.begin(`Ctrl+C (SIGINT) stops it within ${service.stopTimeout} s`);
    child.signalGroup("SIGINT");
    const stopped = await within(
      child.exited.then(() => true),
      service.stopTimeout * 1000,
      false,
    );
    if (!stopped) {
      stop.fail(`still running ${service.stopTimeout} s after SIGINT (stopTimeout); killed with SIGKILL`);
      return fail(
        `${service.name} ignores Ctrl+C: it did not exit within stopTimeout ${service.stopTimeout} s; handle SIGINT/SIGTERM and exit`,
      );
    }
    const end = await child.exited;
    stop.ok(end.signal ? `ended by ${end.signal}` : `exit code ${end.exitCode}`);

    if (port !== undefined) {
      const free = report.begin(`port ${port} is released`);
      const deadline = performance.now() + 3000;
      while (!(await isPortFree(port)) && performance.now() < deadline) await sleep(50);
      if (!(await isPortFree(port))) {
        const holders = (await listenersByPort([port])).get(port) ?? [];
        const msg = `port ${port} still held${holders.length ? ` by ${describeHolder(holders[0])}` : ""} after the process exited: a child outlived it`;
        free.fail(msg);
        return fail(msg);
      }
      free.ok();
    }
    return { ok: true, output: child.output() };
  } finally {
    if (child && !exited) {
      child.signalGroup("SIGKILL");
      await within(child.exited, 2000, undefined);
    }
    if (child) clearTestStart(model.paths, service.name);
  }
}
