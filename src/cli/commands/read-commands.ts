/**
 * The bodies of the read commands — status, verify, ports, check-ports — given a resolved model. Shared by
 * the full command tree and the read fast path (../read-path.ts), which answers them without commander or
 * the manifest validator when the manifest's text validated before.
 */
import { createBackend } from "../../backend";
import { OperationError, UsageError } from "../../errors";
import { notAnsweringMessage } from "../../backend/types";
import { notRunning, statusReport } from "../../fleet/status";
import { inspectManagedPorts } from "../../live-ports/live-facts";
import { inspectExposure } from "../../live-ports/exposure";
import { publicSurface, routeUrls, type ExposedPort, type PublicSurface, type RouteUrl } from "../../model/surface";
import { verifyProxy } from "../../verify/proxy";
import { selectTargets, servicesOf } from "../../model/lookup";
import { formatRanges } from "../../model/port-ranges";
import { listPortsReport } from "../../model/ports-report";
import type { Model, Service } from "../../model/types";
import { verifyServices } from "../../verify/verify";
import type { Context } from "../context";
import { table } from "../format";
import { printCheckPorts, printExposure } from "../present/check-ports";
import { printStatus } from "../present/status";
import { printChecks } from "../present/verify-table";

/** The backend of `model`, reachable and running. @throws OperationError naming how to start the fleet. */
export async function runningBackendOf(ctx: Context, model: Model) {
  const backend = createBackend(model, { kind: ctx.backend, ...ctx.systemd });
  await backend.requireReachable(); // systemd: "System has not been booted with systemd…" naming the alternatives
  const reach = await backend.reachability();
  if (reach === "not answering") {
    backend.close();
    throw new OperationError(notAnsweringMessage(backend.label));
  }
  if (reach !== "running") {
    backend.close();
    throw new OperationError(
      `${backend.label} is not running for ${model.paths.manifest} (no answer on ${backend.endpoint})`,
      'start the fleet with "orchestrate restart"',
    );
  }
  return backend;
}

/** Naming a disabled service is bad input: it has no program, so there is nothing to start or verify. */
export function refuseDisabled(disabled: Service[]): void {
  if (disabled.length)
    throw new UsageError(
      `${disabled.map((s) => s.name).join(", ")} ${disabled.length === 1 ? "is" : "are"} disabled (enabled: false): no program runs`,
      'set "enabled": true in the manifest and run "orchestrate restart"',
    );
}

/**
 * `orchestrate status`: 0 when every enabled service that should run does, 3 otherwise (as supervisorctl);
 * 1 when the manager is there but does not answer (nothing is known of its programs).
 */
export async function statusCommand(ctx: Context, model: Model, opts: { json?: boolean }): Promise<number> {
  const backend = createBackend(model, { kind: ctx.backend, ...ctx.systemd });
  try {
    // A private supervisord that is down is a state to report (restart starts it); a systemd that is not
    // PID 1 (or unreachable) is an error orchestrate cannot fix: say so, naming --user and the supervisor backend.
    await backend.requireReachable();
    const report = await statusReport(model, backend);
    if (opts.json) ctx.stdout.write(JSON.stringify(report, null, 2) + "\n");
    else printStatus(ctx, report);
    if (report.manager === "not answering") return 1;
    // like supervisorctl status: 3 when a process that should run does not (LSB "program is not running")
    return notRunning(model, report).length ? 3 : 0;
  } finally {
    backend.close();
  }
}

/** `orchestrate verify [NAME…]`: 0 when every check passes, 1 otherwise. */
export async function verifyCommand(
  ctx: Context,
  model: Model,
  names: string[],
  opts: { json?: boolean },
): Promise<number> {
  const targets = selectTargets(model, names.length ? names : undefined);
  const selected = servicesOf(targets);
  if (names.length) refuseDisabled(selected.filter((s) => !s.enabled));
  const backend = await runningBackendOf(ctx, model);
  try {
    const checks = await verifyServices(model, backend, selected, {
      programs: new Set(targets.map((t) => t.instance.program)),
    });
    // the proxy is verified with the whole fleet (a named verify checks only those services)
    const proxy = model.proxy && !names.length ? await verifyProxy(model) : undefined;
    const ok = checks.every((c) => c.ok) && (proxy?.ok ?? true);
    if (opts.json)
      ctx.stdout.write(
        JSON.stringify(
          {
            ok,
            services: checks,
            ...(proxy ? { proxy: { ok: proxy.ok, checks: proxy.checks, routes: proxy.routes } } : {}),
          },
          null,
          2,
        ) + "\n",
      );
    else printChecks(ctx, [...checks, ...(proxy?.checks ?? [])], (line) => ctx.stdout.write(line + "\n"));
    return ok ? 0 : 1;
  } finally {
    backend.close();
  }
}

/** `orchestrate check-ports`: 0 without conflict or exposure finding, 1 with one. */
export async function checkPortsCommand(ctx: Context, model: Model, opts: { json?: boolean }): Promise<number> {
  const report = await inspectManagedPorts(model, { kind: ctx.backend, ...ctx.systemd });
  const exposure = await inspectExposure(model);
  const ok = report.ok && exposure.ok;
  if (opts.json) ctx.stdout.write(JSON.stringify({ ...report, ok, exposure: exposure.findings }, null, 2) + "\n");
  else {
    printExposure(ctx, exposure.findings, (line) => ctx.stdout.write(line + "\n"));
    printCheckPorts(ctx, report, (line) => ctx.stdout.write(line + "\n"));
  }
  return ok ? 0 : 1;
}

/** `orchestrate ports`: every port by group with budgets. */
export function portsCommand(ctx: Context, model: Model, opts: { json?: boolean }): number {
  const report = listPortsReport(model);
  const surface = { ...publicSurface(model), routes: routeUrls(model) };
  if (opts.json) {
    ctx.stdout.write(JSON.stringify({ ...report, surface }, null, 2) + "\n");
    return 0;
  }
  let out = "";
  for (const g of report.groups) {
    out += `${g.name} (${formatRanges(g.ranges)})${g.description ? ` — ${g.description}` : ""}\n`;
    out += indent(
      table([
        ["SERVICE", "PORT", "DESCRIPTION"],
        ...g.services.map((s) => [s.name + (s.enabled ? "" : " (disabled)"), String(s.port ?? "-"), s.description]),
      ]),
    );
    out += `  used ${g.used} / free ${g.free} / total ${g.total}${g.nextFree !== undefined ? ` — next free ${g.nextFree}` : " — full"}\n\n`;
  }
  if (report.ungrouped.length)
    out +=
      "no group\n" +
      indent(
        table([
          ["SERVICE", "PORT", "DESCRIPTION"],
          ...report.ungrouped.map((s) => [s.name, String(s.port ?? "-"), s.description]),
        ]),
      ) +
      "\n";
  if (report.workers.length) out += `workers (no port): ${report.workers.join(", ")}\n`;
  if (report.external.length)
    out +=
      "external\n" +
      indent(
        table([
          ["NAME", "PORT", "DESCRIPTION"],
          ...report.external.map((e) => [e.name, String(e.port), e.description]),
        ]),
      );
  if (report.reserved.length)
    out +=
      "reserved\n" + indent(table([["PORT", "REASON"], ...report.reserved.map((r) => [String(r.port), r.reason])]));
  if (report.avoid.length) out += `avoid: ${report.avoid.join(", ")}\n`;
  out += surfaceText(surface);
  ctx.stdout.write(out);
  return 0;
}

/** The public surface: what other hosts can reach (public ports, internal ports and from where, the routes). */
function surfaceText(surface: PublicSurface & { routes: RouteUrl[] }): string {
  const who = (p: ExposedPort) => (p.owner.kind === "proxy" ? "proxy" : `${p.owner.kind} ${p.owner.name}`);
  const rows = [
    ["PORT", "EXPOSURE", "OWNER", "FROM"],
    ...surface.public.map((p) => [String(p.port), "public", who(p), "anywhere"]),
    ...surface.internal.map((p) => [String(p.port), "internal", who(p), p.from.join(" ") || "(no internalSources)"]),
  ];
  let out = "\npublic surface (what other hosts can reach)\n";
  out += rows.length > 1 ? indent(table(rows)) : "  nothing: every port is loopback (this host only)\n";
  if (surface.routes.length)
    out +=
      "routes through the proxy\n" +
      indent(table([["URL", "SERVICE"], ...surface.routes.map((r) => [r.url, r.service])]));
  return out;
}

function indent(text: string): string {
  return text.replace(/^(?=.)/gm, "  ");
}
