/** `orchestrate install`: put the generated programs or units where a system manager reads them. */
import type { Command } from "commander";
import { existsSync } from "node:fs";
import { createBackend } from "../../backend";
import { OperationError, UsageError } from "../../errors";
import { loadProject } from "../../manifest";
import { generateUnits } from "../../fleet/generate";
import { installSupervisorPrograms } from "../../backend/supervisord/install-conf-dir";
import { action } from "../program";
import { renderSystemPrograms } from "../../render/supervisord";
import { withManifestLock } from "../../write/lock";

/** Adds `install`. */
export function registerInstall(program: Command): void {
  program
    .command("install")
    .option(
      "--supervisor-conf-dir <dir>",
      "supervisor backend: write the programs of units/supervisor/ into this include folder (e.g. /etc/supervisor/conf.d), with the manifest's autostart",
    )
    .description(
      "install the generated programs into a system supervisord, or (--backend systemd) the units into systemd",
    )
    .addHelpText(
      "after",
      `
Examples:
  orchestrate install --supervisor-conf-dir /etc/supervisor/conf.d && supervisorctl reread && supervisorctl update
  orchestrate --backend systemd install            # /etc/systemd/system, daemon-reload, enable PROJECT.target
  orchestrate --backend systemd --user install     # ~/.config/systemd/user
  orchestrate --backend systemd --root /mnt/img install   # offline tree

Only files an earlier install recorded as its own are ever removed.`,
    )
    .action(
      action(program, async (ctx, o: { supervisorConfDir?: string }) => {
        const { model } = loadProject(ctx.manifest);
        return withManifestLock(model.paths.manifest, async () => {
          const plan = generateUnits(model, { write: true });
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
          ctx.stdout.write("load them with: supervisorctl reread && supervisorctl update\n");
          return 0;
        });
      }),
    );
}
