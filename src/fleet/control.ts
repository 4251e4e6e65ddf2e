/**
 * start and stop of named instances (`orchestrate start|stop NAME… | NAME:I…`): every instance of a
 * service at once, then each waited for on its own port. A oneshot is run again (stopped first: systemd
 * keeps a succeeded oneshot "active (exited)", where a plain start does nothing); a service with
 * `autostart: false` starts like any other here — this is how it is meant to be started.
 */
import type { Backend } from "../backend/types";
import type { Target } from "../model/lookup";
import { waitReady, waitStarted, type Readiness } from "./readiness";

/**
 * Starts the targets' programs, then waits for each to be ready and past its startsecs. Returns one
 * {@link Readiness} per instance.
 */
export async function startInstances(backend: Backend, targets: Target[]): Promise<Readiness[]> {
  await Promise.all(
    targets.map(async ({ service, instance }) => {
      if (service.type === "oneshot") await backend.stop(instance.program);
      await backend.start(instance.program);
    }),
  );
  const ready = await Promise.all(targets.map(({ service, instance }) => waitReady(backend, service, { instance })));
  // ready (port, health) comes before RUNNING past startsecs, which verify wants: wait for that too, as restart does
  const up = new Set(ready.filter((r) => r.ok).map((r) => r.service));
  await waitStarted(
    backend,
    [...new Set(targets.map((t) => t.service))].filter((s) => up.has(s.name)),
  );
  return ready;
}

/** Stops the targets' programs (each waited for; the manager escalates to SIGKILL after stopTimeout). */
export async function stopInstances(backend: Backend, targets: Target[]): Promise<void> {
  await Promise.all(targets.map(({ instance }) => backend.stop(instance.program)));
}
