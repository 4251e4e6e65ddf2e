/** `orchestrate install`: put the generated programs or units where a system manager reads them. */
import type { Command } from "commander";
import { existsSync } from "node:fs";
import { createBackend } from "../../backend";
import { OperationError, UsageError } from "../../errors";
import { projectOf } from "../project";
import { generateUnits } from "../../fleet/generate";
import { installSupervisorPrograms } from "../../backend/supervisord/install-conf-dir";
import { action } from "../program";
import { renderSystemPrograms } from "../../render/supervisord/programs";
import { withManifestLock } from "../../write/lock";
import { installNginxConf } from "../../backend/nginx/install";
import { applyRuleset, checkRuleset } from "../../backend/firewall/nft";
import { firewallTable, renderNftables, ufwCommands, wantsFirewall } from "../../render/edge/firewall";
import type { Model } from "../../model/types";
import type { Context } from "../context";
import { join } from "node:path";

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

/** Adds `install`. */
export function registerInstall(program: Command): void {
  program
    .command("install")
    .option(
      "--supervisor-conf-dir <dir>",
      "supervisor backend: write the programs of units/supervisor/ into this include folder (e.g. /etc/supervisor/conf.d), with the manifest's autostart",
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
  orchestrate install --supervisor-conf-dir /etc/supervisor/conf.d && supervisorctl reread && supervisorctl update
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
            ctx.stdout.write(
              "load them with: supervisorctl reread && supervisorctl update (or orchestrate --server-url unix:///PATH.sock restart)\n",
            );
            return 0;
          });
        },
      ),
    );
}
