/** `orchestrate check-ports [--json]`: who holds every managed port, conflicts first with the fix; free ports per group. */
import type { Command } from "commander";
import { projectOf } from "../project";
import { checkPortsCommand } from "./read-commands";
import { action } from "../program";

/** Adds `check-ports`. */
export function registerCheckPorts(program: Command): void {
  program
    .command("check-ports")
    .option("--json", "machine-readable report")
    .description(
      "every managed port (services, externals, reserved): free or listening, PID, user, command, owner; free ports per group",
    )
    .addHelpText(
      "after",
      `
Owners: service (inside that service's program under supervisord/systemd) · external (a declared
external's port: whatever listens is taken to be it) · STALE (a leftover of this project's supervisord:
"orchestrate recover" stops it) · FOREIGN (anything else; never stopped unless you ask:
"orchestrate recover --kill-foreign PORT"). IPv4 and IPv6, wildcard and loopback listeners all count.
Exposure: a "loopback" port (the default: services, Redis and other externals, a proxy on 127.0.0.1)
listening on 0.0.0.0, :: or a LAN address is a finding with the fix; an "internal"/"public" one on
loopback only is a warning.
Replaces the runbooks' "lsof -i :PORT" for every port at once.

Examples:
  orchestrate check-ports
  orchestrate check-ports --json | jq '.ports[] | select(.conflict)'

Exit: 0 no conflict · 1 a foreign or stale process holds an enabled service's port, or a loopback port
listens on all interfaces · 2 bad manifest`,
    )
    .action(action(program, (ctx, opts: { json?: boolean }) => checkPortsCommand(ctx, projectOf(ctx).model, opts)));
}
