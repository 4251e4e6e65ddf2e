/** `orchestrate install`: put the generated programs or units where a system manager reads them. */
import type { Command } from "commander";
import { existsSync } from "node:fs";
import { createBackend } from "../../backend";
import { OperationError, UsageError } from "../../errors";
import { projectOf } from "../project";
import { generateUnits } from "../../fleet/generate";
import {
  installSupervisorPrograms,
  unloadedPrograms,
  type SupervisorInstall,
} from "../../backend/supervisord/install-conf-dir";
import { SupervisordBackend, socketOfServerUrl } from "../../backend/supervisord/backend";
import { candidateConfs, confsReading } from "../../backend/supervisord/system-conf";
import { action } from "../program";
import { renderSystemPrograms } from "../../render/supervisord/programs";
import { withManifestLock } from "../../write/lock";
import { installNginxConf } from "../../backend/nginx/install";
import { applyRuleset, checkRuleset } from "../../backend/firewall/nft";
import { firewallTable, renderNftables, ufwCommands, wantsFirewall } from "../../render/edge/firewall";
import type { Model } from "../../model/types";
import type { Context } from "../context";
import { basename, join } from "node:path";

/** install --firewall: check units/firewall.nft; apply it only with --yes (inside --netns NAME when given). */
async function installFirewall(ctx: Context, model: Model, o: { yes?: boolean; netns?: string }): Promise<number> {
  if (!wantsFirewall(model))
    throw new UsageError(
      `${model.paths.manifest} declares no exposure: no firewall is generated`,
      'add "proxy", a non-loopback "exposure" or "ports.internalSources"',
    );
  const file = join(model.paths.units, "firewall.nft");
  const where = o.netns ? `network namespace ${o.netns}` : "this host";
  const check = await checkRuleset(file);
  if (!check.ok) throw new OperationError(`nft -c refused ${file}: ${check.message}`);
  if (!o.yes) {
    ctx.stdout.write(
      `would apply ${file} to ${where} (nft -f: replaces table inet ${firewallTable(model)} as a whole; no other table is touched; SSH 22 stays open):\n\n`,
    );
    ctx.stdout.write(renderNftables(model).replace(/^/gm, "  ") + "\n");
    ctx.stdout.write("apply it with: orchestrate install --firewall --yes\n\n");
    ctx.stdout.write("with ufw instead, the same policy (run in this order):\n");
    for (const c of ufwCommands(model)) ctx.stdout.write(`  ${c}\n`);
    return 0;
  }
  await applyRuleset(file, { confirm: true, netns: o.netns });
  ctx.stdout.write(`applied ${file} to ${where}: table inet ${firewallTable(model)} replaced\n`);
  return 0;
}

/**
 * After `install --supervisor-conf-dir DIR`: tells the machine's supervisord — the one of `--server-url`, else
 * the one whose supervisord.conf `[include]` reads DIR (../../backend/supervisord/system-conf.ts) — to reread
 * and update this project's programs only. When none is found or it does not answer, the files stay
 * installed (exit 0) and the command to run is printed.
 * @throws OperationError when it answers but refuses the configuration (the files are put back) or did not
 *   load a program installed into DIR (its [include] does not read DIR).
 */
async function loadInstalled(ctx: Context, model: Model, r: SupervisorInstall, dir: string): Promise<number> {
  const names = (files: string[]) => files.map((f) => basename(f).replace(/\.conf$/, ""));
  const touched = [
    ...new Set([...names(r.installed), ...names(r.unchanged), ...names(r.removed), ...unloadedPrograms(model)]),
  ].sort();
  const rerun = (url: string) => `orchestrate --server-url ${url} install --supervisor-conf-dir ${dir}`;
  let url = ctx.systemd.serverUrl;
  let from = "--server-url";
  if (!url) {
    const found = confsReading(r.dir);
    const urls = [...new Set(found.flatMap((c) => (c.serverUrl ? [c.serverUrl] : [])))];
    if (urls.length !== 1) {
      const why = !found.length
        ? `no supervisord.conf found whose [include] files= reads ${r.dir} (looked at ${candidateConfs(r.dir)
            .slice(0, 3)
            .join(", ")} and the -c of each running supervisord)`
        : urls.length
          ? `several supervisord configurations read ${r.dir}: ${found.map((c) => `${c.conf} (${c.serverUrl ?? "no unix socket"})`).join(", ")}`
          : `${found.map((c) => c.conf).join(", ")} reads ${r.dir} but names no unix socket ([unix_http_server] file=)`;
      ctx.stdout.write(
        `${why}: no supervisord was told. Load the programs with: ${rerun("unix:///PATH.sock")} (the [unix_http_server] file= of that supervisord), or supervisorctl reread && supervisorctl update ${touched.join(" ")}\n`,
      );
      return 0;
    }
    url = urls[0];
    from = found.find((c) => c.serverUrl === url)!.conf;
  }
  const backend = new SupervisordBackend(model.paths, { serverUrl: url, model });
  try {
    if (!(await backend.isRunning())) {
      ctx.stdout.write(
        `the supervisord at ${url} (${from}) does not answer on ${backend.rpc.socketPath}: the programs are installed and load when it starts (systemctl start supervisor); once it answers, load them with: ${rerun(url)}\n`,
      );
      return 0;
    }
    const u = await backend.updateInstalled(r);
    const list = (n: string[]) => [...n].sort().join(" ") || "none";
    ctx.stdout.write(
      `the supervisord at ${url} (${from}) reread its configuration and updated this project's programs only: added ${list(u.added)}, changed ${list(u.changed)}, removed ${list(u.removed)}; its other programs were not touched\n`,
    );
    if (u.missing.length)
      throw new OperationError(
        `the supervisord at ${url} did not load ${u.missing.join(" ")} from ${r.dir}: its [include] files= does not read that folder`,
        `name the folder its supervisord.conf [include] reads (--supervisor-conf-dir), or the --server-url of the supervisord that reads ${r.dir}`,
      );
    return 0;
  } finally {
    backend.close();
  }
}

/** Adds `install`. */
export function registerInstall(program: Command): void {
  program
    .command("install")
    .option(
      "--supervisor-conf-dir <dir>",
      "supervisor backend: write the programs of units/supervisor/ into this include folder (e.g. /etc/supervisor/conf.d), with the manifest's autostart; then the supervisord that reads it (--server-url, or the one whose supervisord.conf [include] reads DIR) rereads and updates this project's programs only",
    )
    .option("--nginx-conf-dir <dir>", "install the proxy into a system nginx's include folder (e.g. /etc/nginx/conf.d)")
    .option(
      "--firewall",
      "check units/firewall.nft; with --yes apply it (nft -f), without print it and the ufw commands",
    )
    .option("--yes", "with --firewall: really apply the ruleset")
    .option(
      "--netns <name>",
      "with --firewall: apply inside this network namespace (ip netns exec) instead of the host",
    )
    .description(
      "install the generated programs into a system supervisord, or (--backend systemd) the units into systemd; the proxy into a system nginx; the firewall",
    )
    .addHelpText(
      "after",
      `
Examples:
  orchestrate install --supervisor-conf-dir /etc/supervisor/conf.d   # and the supervisord reading it updates ours
  orchestrate --server-url unix:///var/run/supervisor.sock install --supervisor-conf-dir /etc/supervisor/conf.d
  orchestrate --server-url unix:///var/run/supervisor.sock restart   # then restart/add-service/recover drive it
  orchestrate --backend systemd install            # /etc/systemd/system, daemon-reload, enable PROJECT.target
  orchestrate --backend systemd --user install     # ~/.config/systemd/user
  orchestrate --backend systemd --root /mnt/img install   # offline tree

  orchestrate install --nginx-conf-dir /etc/nginx/conf.d && nginx -t && systemctl reload nginx
  orchestrate install --firewall            # prints the ruleset and the equivalent ufw commands
  orchestrate install --firewall --yes      # applies units/firewall.nft (nft -f)

Only files an earlier install recorded as its own are ever removed.`,
    )
    .action(
      action(
        program,
        async (
          ctx,
          o: { supervisorConfDir?: string; nginxConfDir?: string; firewall?: boolean; yes?: boolean; netns?: string },
        ) => {
          const { model } = projectOf(ctx);
          if ((o.yes || o.netns) && !o.firewall)
            throw new UsageError("--yes and --netns go with --firewall", "add --firewall");
          return withManifestLock(model.paths.manifest, async () => {
            const plan = generateUnits(model, { write: true });
            if (o.firewall || o.nginxConfDir) {
              if (o.nginxConfDir) {
                if (!existsSync(o.nginxConfDir))
                  throw new UsageError(
                    `${o.nginxConfDir} does not exist`,
                    "name the folder your nginx.conf includes inside http (e.g. /etc/nginx/conf.d)",
                  );
                const r = await installNginxConf(model, o.nginxConfDir);
                ctx.stdout.write(
                  `${r.dir}: ${r.installed.length} installed, ${r.unchanged.length} unchanged, ${r.removed.length} removed (checked with nginx -t first)\n`,
                );
                for (const f of [...r.installed, ...r.removed])
                  ctx.stdout.write(`  ${r.removed.includes(f) ? "removed  " : "installed"} ${f}\n`);
                ctx.stdout.write(
                  `include ${r.entry} inside http (conf.d/*.conf is), then: nginx -t && systemctl reload nginx\n`,
                );
              }
              return o.firewall ? installFirewall(ctx, model, o) : 0;
            }
            if (ctx.backend === "systemd") {
              const backend = createBackend(model, { kind: "systemd", ...ctx.systemd });
              // Without --root the units are for a running manager: refuse before writing into its unit folder
              // (daemon-reload would fail only after the files were written), naming --root / --user / supervisor.
              if (ctx.systemd.root === undefined) {
                await backend.ensureRunning().catch((e: unknown) => {
                  if (!(e instanceof OperationError)) throw e;
                  throw new OperationError(
                    e.message,
                    `${e.hint ? `${e.hint}; ` : ""}to prepare units for another machine or an image, install into an offline tree with --root DIR`,
                  );
                });
              }
              const applied = await backend.apply();
              ctx.stdout.write(
                `systemd units installed: added ${applied.added.join(" ") || "none"}, changed ${applied.changed.join(" ") || "none"}, removed ${applied.removed.join(" ") || "none"}\n`,
              );
              ctx.stdout.write(
                `start them with: orchestrate --backend systemd restart   (or systemctl start ${model.project}.target)\n`,
              );
              return 0;
            }
            if (!o.supervisorConfDir)
              throw new UsageError(
                "install needs --supervisor-conf-dir DIR with the supervisor backend",
                "e.g. --supervisor-conf-dir /etc/supervisor/conf.d; the private supervisord needs no install (orchestrate restart)",
              );
            if (!existsSync(o.supervisorConfDir))
              throw new UsageError(
                `${o.supervisorConfDir} does not exist`,
                "create it, or name the folder your supervisord.conf [include] reads",
              );
            // checked before anything is written (exit 2)
            if (ctx.systemd.serverUrl) socketOfServerUrl(ctx.systemd.serverUrl);
            // with the manifest's autostart: the system supervisord starts them itself (units/ has autostart=false)
            const r = installSupervisorPrograms(
              model,
              [...plan.rendered.filter((f) => !f.path.startsWith("units/supervisor/")), ...renderSystemPrograms(model)],
              o.supervisorConfDir,
            );
            ctx.stdout.write(
              `${o.supervisorConfDir}: ${r.installed.length} installed, ${r.unchanged.length} unchanged, ${r.removed.length} removed\n`,
            );
            for (const f of [...r.installed, ...r.removed])
              ctx.stdout.write(`  ${r.removed.includes(f) ? "removed  " : "installed"} ${f}\n`);
            return loadInstalled(ctx, model, r, o.supervisorConfDir);
          });
        },
      ),
    );
}
