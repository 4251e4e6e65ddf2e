/**
 * A rolling restart of a service with instances: the instances are replaced a batch of `maxUnavailable` at a
 * time (default 1) while the others keep serving. Behind the proxy a batch leaves the upstream one of two ways:
 *
 * - `takeOut: "retry"` (default): no reload. The batch is stopped with its stop signal; the program finishes the
 *   requests it holds (uvicorn, gunicorn and most servers drain on SIGTERM) while nginx retries every request
 *   it cannot hand to it on another instance (`proxy_next_upstream error timeout`; a refused connection marks
 *   the server failed for `fail_timeout`, a dropped cached keep-alive connection is retried: nginx docs,
 *   ngx_http_upstream_module "server … max_fails fail_timeout" and ngx_http_proxy_module
 *   "proxy_next_upstream"). The new process is started, waited for (port and health), and the next batch
 *   leaves once nginx sends it requests again (a connection from the proxy, or `fail_timeout` + 1 s).
 *   No nginx reload means no client connection is closed: a reload makes the old workers close their idle
 *   keep-alive client connections, and a client that sent its next request at that moment sees a reset.
 * - `takeOut: "reload"`: the batch is marked `down` (graceful reload), drained (its accepted connections
 *   closed, or the drain timeout), then stopped, started and put back (reload) before the next batch. For a
 *   program that drops its requests on its stop signal.
 *
 * Without a running proxy the instances are still replaced one batch at a time, and clients must retry the
 * requests that reach the one being replaced.
 *
 * A batch that does not become ready stops the rollout: the failed instance is brought back on its previous
 * configuration (the program files before this change), the instances not replaced yet keep running theirs
 * (their files too are put back, so units/ says what runs), and the result names what runs which configuration.
 */
import type { Backend } from "../backend/types";
import { UPSTREAM_FAIL_TIMEOUT_S } from "../render/edge/nginx-service";
import { establishedConnections } from "../inspect/connections";
import type { Instance, Model, RenderedFile, Service } from "../model/types";
import { duration } from "../progress/text";
import { pollUntil } from "../signal/poll";
import { writeFileAtomicSync } from "../write/atomic";
import { join } from "node:path";
import { proxyRunning, setUpstreamOut } from "./proxy";
import { waitReady, waitStarted, type Readiness } from "./readiness";

/** Options of {@link rollOut}. */
export interface RolloutOptions {
  /** instances out of service at once, ≥ 1 (default 1; at most instances − 1 behind the proxy, so one serves) */
  maxUnavailable?: number;
  /** ms to wait for an instance's connections to close after it left the upstream (default 5000), then it is stopped anyway; `takeOut: "reload"` only */
  drainTimeoutMs?: number;
  /** how a batch leaves the proxy's upstream (see the module comment); default "retry" */
  takeOut?: TakeOut;
  /**
   * The generated files as they were before this change (paths relative to the project root, as rendered): an
   * instance that fails readiness is brought back on these. Files not given are taken as unchanged.
   */
  previous?: RenderedFile[];
  /** only these instances (NAME:I on the command line), in this order; default every instance of the service */
  instances?: Instance[];
  /** one line per action, for the step's details */
  onLine?: (line: string) => void;
}

/** What {@link rollOut} did. `ok` exactly when every instance was replaced and is ready. */
export interface RolloutResult {
  service: string;
  ok: boolean;
  /** whether a running proxy took each instance out of its upstream (else clients had to retry) */
  proxied: boolean;
  /** instance labels (NAME:I) in the order they were replaced, each once its new process was ready */
  replaced: string[];
  /** the instance whose new process failed, with why and its log tail; undefined when ok */
  failed?: Readiness & { restored: boolean };
  /** instances not replaced because the rollout stopped: still on their previous configuration */
  notReplaced: string[];
  /** one readiness per instance started (the failed one's is its new process's) */
  readiness: Readiness[];
  /** ms the whole rollout took */
  ms: number;
}

/** How a batch leaves the proxy's upstream during a rollout: nginx retries elsewhere, or a `down` + reload. */
export type TakeOut = "retry" | "reload";

/** Default drain timeout, ms. */
export const DEFAULT_DRAIN_TIMEOUT_MS = 5000;

/** The files of units/ that belong to one instance's program alone: `…/NAME@I.conf`, `PROJECT-NAME@I.service.d/…`. */
function instanceFiles(files: RenderedFile[], program: string): RenderedFile[] {
  const escaped = program.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const re = new RegExp(`(^|[/-])${escaped}[./]`);
  return files.filter((f) => re.test(f.path));
}

/**
 * Replaces the instances of `service` a batch at a time (see the module comment). Expects units/ to hold the
 * new configuration and the manager to have it read, the changed programs of `service` held back
 * (`Backend.apply({ select })`). Never throws for a failed instance (that is the result); throws OperationError
 * when nginx refuses a configuration or the manager cannot be reached.
 */
export async function rollOut(
  model: Model,
  backend: Backend,
  service: Service,
  options: RolloutOptions = {},
): Promise<RolloutResult> {
  const started = performance.now();
  const line = options.onLine ?? (() => {});
  const proxied = service.routes.length > 0 && proxyRunning(model);
  const instances = options.instances ?? service.instances;
  const total = service.instances.length;
  const max = Math.max(1, Math.min(options.maxUnavailable ?? 1, proxied && total > 1 ? total - 1 : total));
  const drainMs = options.drainTimeoutMs ?? DEFAULT_DRAIN_TIMEOUT_MS;
  const byReload = proxied && options.takeOut === "reload";
  if (!proxied)
    line(
      `${service.name}: ${service.routes.length ? "the proxy is not running" : "not behind the proxy"}: instances are replaced ${max} at a time, the others keep running; clients must retry requests that reach the one being replaced`,
    );
  const result: RolloutResult = {
    service: service.name,
    ok: true,
    proxied,
    replaced: [],
    notReplaced: [],
    readiness: [],
    ms: 0,
  };
  const out = new Set<number>();
  for (let at = 0; at < instances.length; at += max) {
    const batch = instances.slice(at, at + max);
    const labels = batch.map((i) => i.label).join(" ");
    if (proxied && !byReload)
      line(`${labels}: stopping; the proxy retries its requests on the other instances (no reload)`);
    if (byReload) {
      // the previous batch comes back in the same reload that takes this one out: every reload closes the old
      // workers' idle client connections, so there are instances + 1 reloads, not twice as many
      const back = at > 0 ? `, ${instances[at - 1].label} back in` : "";
      for (const i of batch) if (i.port !== undefined) out.add(i.port);
      await setUpstreamOut(model, service.name, out);
      line(`${labels}: out of the upstream${back} (nginx reloaded gracefully)`);
      for (const i of batch) line(await drain(i, drainMs));
    }
    const programs = new Set(batch.map((i) => i.program));
    await Promise.all(batch.map((i) => backend.stop(i.program)));
    await backend.apply({ select: (p) => programs.has(p) });
    await Promise.all(batch.map((i) => backend.start(i.program)));
    const ready = await Promise.all(batch.map((instance) => waitReady(backend, service, { instance })));
    result.readiness.push(...ready);
    const bad = ready.filter((r) => !r.ok);
    for (const r of ready.filter((r) => r.ok)) {
      result.replaced.push(r.name);
      line(`✓ ${r.name} replaced: ready in ${duration(r.ms)}${r.port ? ` (port ${r.port})` : ""}`);
    }
    if (bad.length) {
      result.ok = false;
      const rest = instances.slice(at + max);
      result.notReplaced = rest.map((i) => i.label);
      const failedInstances = batch.filter((i) => bad.some((r) => r.program === i.program));
      // why it failed first, then what bringing it back did
      for (const r of bad) line(`✗ ${r.name}: ${r.reason}`);
      const restored = await bringBack(model, backend, service, failedInstances, rest, options.previous ?? [], line);
      // the batch's ready instances go back in, and a failed one that is ready again on its previous configuration
      for (const i of batch)
        if (i.port !== undefined && (!failedInstances.includes(i) || restored.has(i.program))) out.delete(i.port);
      if (proxied) await setUpstreamOut(model, service.name, out);
      result.failed = { ...bad[0], restored: restored.has(bad[0].program) };
      line(
        `rollout of ${service.name} stopped at ${bad.map((r) => r.name).join(" ")}: ` +
          [
            result.replaced.length ? `${result.replaced.join(" ")} run the new configuration` : "",
            `${bad.map((r) => r.name).join(" ")} ${restored.size === failedInstances.length ? "back on the previous configuration and ready" : "NOT ready on the previous configuration either"}`,
            rest.length ? `${result.notReplaced.join(" ")} not replaced (previous configuration, serving)` : "",
          ]
            .filter(Boolean)
            .join("; "),
      );
      break;
    }
    // ready is not yet RUNNING past startsecs: the next batch leaves only once the manager counts this one started
    await waitStarted(backend, [service]);
    if (proxied && !byReload) for (const i of batch) line(await backInRotation(i));
    for (const i of batch) if (i.port !== undefined) out.delete(i.port);
  }
  if (byReload && result.ok) {
    await setUpstreamOut(model, service.name, out);
    line(`${instances.at(-1)!.label}: back in the upstream (nginx reloaded gracefully)`);
  }
  result.ms = performance.now() - started;
  return result;
}

/**
 * `takeOut: "retry"`: waits until nginx holds a connection to the new process again — it retries a failed server
 * after `fail_timeout` — or `fail_timeout` + 1 s without traffic; returns the line to show.
 */
async function backInRotation(instance: Instance): Promise<string> {
  if (instance.port === undefined) return `${instance.label}: no port`;
  const port = instance.port;
  const t0 = performance.now();
  const back = await pollUntil(() => (establishedConnections(port) ?? 0) > 0, UPSTREAM_FAIL_TIMEOUT_S * 1000 + 1000);
  return back
    ? `${instance.label}: the proxy sends it requests again (after ${duration(performance.now() - t0)})`
    : `${instance.label}: no request reached it within ${UPSTREAM_FAIL_TIMEOUT_S + 1} s (no traffic, or the proxy has not retried it yet)`;
}

/** Waits until the instance's accepted connections are closed or `timeoutMs` passes; returns the line to show. */
async function drain(instance: Instance, timeoutMs: number): Promise<string> {
  if (instance.port === undefined) return `${instance.label}: no port, nothing to drain`;
  const port = instance.port;
  const t0 = performance.now();
  const drained = await pollUntil(() => establishedConnections(port) === 0, timeoutMs);
  const ms = performance.now() - t0;
  if (drained) return `${instance.label}: drained in ${duration(ms)}`;
  const left = establishedConnections(port);
  return left === undefined
    ? `${instance.label}: connections cannot be read here; waited the drain timeout (${duration(timeoutMs)})`
    : `${instance.label}: ${left} connection(s) still open after the drain timeout (${duration(timeoutMs)}): stopping it anyway`;
}

/**
 * Puts back the previous program files of the failed instances and of those not replaced yet (so units/ says what
 * runs), loads them for the failed ones and starts those again, and waits until the manager counts the ready ones
 * started (startSecs, as {@link waitStarted}). Returns the programs that are ready again.
 */
async function bringBack(
  model: Model,
  backend: Backend,
  service: Service,
  failed: Instance[],
  rest: Instance[],
  previous: RenderedFile[],
  line: (l: string) => void,
): Promise<Set<string>> {
  for (const i of [...failed, ...rest])
    for (const f of instanceFiles(previous, i.program))
      writeFileAtomicSync(join(model.paths.root, f.path), f.content, f.mode);
  const programs = new Set(failed.map((i) => i.program));
  await Promise.all(failed.map((i) => backend.stop(i.program)));
  await backend.apply({ select: (p) => programs.has(p) });
  await Promise.all(failed.map((i) => backend.start(i.program)));
  const ready = new Set<string>();
  for (const instance of failed) {
    const r = await waitReady(backend, service, { instance });
    if (r.ok) ready.add(r.program);
    line(
      r.ok
        ? `↺ ${r.name} back on its previous configuration: ready in ${duration(r.ms)}`
        : `✗ ${r.name} not ready on its previous configuration either: ${r.reason}`,
    );
  }
  // as after a replaced batch: the verify that follows the restart requires RUNNING for startSecs, and an
  // instance back on its previous configuration is ready (port, health) sooner — without this wait verify
  // called it failed ("RUNNING for only 0 s") although it serves
  if (ready.size) await waitStarted(backend, [service]);
  return ready;
}
