/** `orchestrate proxy reload` and `orchestrate proxy status`: the private nginx of a project with a `proxy`. */
import type { Command } from "commander";
import { projectOf } from "../project";
import { proxyStatus, reloadProxy } from "../../fleet/proxy";
import { withManifestLock } from "../../write/lock";
import { printProxyStatus } from "../present/proxy";
import { action } from "../program";

/** Adds `proxy reload` and `proxy status`. */
export function registerProxy(program: Command): void {
  const proxy = program
    .command("proxy")
    .description("the private nginx in front of the routed services: reload (safe) and status")
    .addHelpText(
      "after",
      "\nExamples:\n  orchestrate proxy reload\n  orchestrate proxy status --json\n\nrestart brings the proxy up, shutdown stops it; install --nginx-conf-dir DIR puts it into a system nginx.",
    );

  proxy
    .command("reload")
    .description("render units/nginx/ from the manifest, check every block with nginx -t, swap in, reload gracefully")
    .addHelpText(
      "after",
      `
Each routed service's upstream and locations are checked with nginx -t inside a minimal wrapper (so a refusal
names the service), then the whole configuration; only then are the files swapped into units/nginx/ and nginx
reloaded (requests in flight complete on the old workers). A refused configuration changes nothing: the
running nginx keeps serving. Instances a rollout took out of an upstream stay out.

Examples:
  orchestrate proxy reload
  certbot certonly --webroot -w /srv/acme -d app.example.com --deploy-hook "orchestrate proxy reload"

Exit: 0 reloaded (or written, when nginx does not run) · 1 nginx refused it (service, file and nginx's message) · 2 no proxy`,
    )
    .action(
      action(program, async (ctx) => {
        const { model } = projectOf(ctx);
        const r = await withManifestLock(model.paths.manifest, () => reloadProxy(model));
        const files = r.changed.length
          ? `${r.changed.length} file${r.changed.length === 1 ? "" : "s"} changed`
          : "no file changed";
        ctx.stdout.write(
          r.action === "reloaded"
            ? `nginx reloaded (pid ${r.pid}): ${files}\n`
            : `nginx is not running: units/nginx/ checked and written (${files}); start it with "orchestrate restart"\n`,
        );
        return 0;
      }),
    );

  proxy
    .command("status")
    .option("--json", "machine-readable")
    .description("whether nginx runs, where it listens, which instances each upstream sends traffic to, the route URLs")
    .addHelpText("after", "\nExamples:\n  orchestrate proxy status\n  orchestrate proxy status --json")
    .action(
      action(program, (ctx, opts: { json?: boolean }) => {
        const { model } = projectOf(ctx);
        const status = proxyStatus(model);
        if (opts.json) ctx.stdout.write(JSON.stringify(status, null, 2) + "\n");
        else printProxyStatus(ctx, status, (line) => ctx.stdout.write(line + "\n"));
        return 0;
      }),
    );
}
