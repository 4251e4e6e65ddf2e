/** `orchestrate recover [--dry-run] [--yes] [--kill-foreign PORT]...`: the emergency recovery, safe on a shared host. */
import type { Command } from "commander";
import { UsageError } from "../../errors";
import { recover } from "../../recovery/recover";
import { operationOf } from "../context";
import { action } from "../program";

function port(value: string, previous: number[] = []): number[] {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 65535)
    throw new UsageError(`--kill-foreign expects a port from 1 to 65535, found "${value}"`);
  return [...previous, n];
}

/** Asks on the terminal; true only for an explicit "y" or "yes". */
async function confirm(question: string): Promise<boolean> {
  const { createInterface } = await import("node:readline/promises");
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  try {
    const answer = await rl.question(question);
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}

/** Adds `recover`. */
export function registerRecover(program: Command): void {
  program
    .command("recover")
    .option("--dry-run", "print the plan (which PIDs would be signalled and why); change nothing")
    .option("-y, --yes", "do not ask for confirmation on a terminal")
    .option("--kill-foreign <port>", "also stop a FOREIGN process holding this managed port (repeatable)", port)
    .description(
      "emergency recovery: stop supervisord, stop only this project's leftovers, report foreign port holders, restart verified",
    )
    .addHelpText(
      "after",
      `
Steps, each printed with what it found and did:
  1 stop supervisord: RPC shutdown; no answer or no exit in time → TERM (+CONT when stopped), then KILL;
    remove a stale socket and pidfile
  2 stop what it left running: processes whose environment names THIS project's supervisord socket, or
    whose command is a service's generated command and whose manager is gone (parent init, session
    leader dead), and their process groups — stopSignal, KILL after stopTimeout; every PID reported
  3 a process on a managed port that is not ours is NEVER stopped by default: reported with PID, user,
    command; --kill-foreign PORT stops it deliberately
  4 validate the manifest; when invalid, use the last good manifest and units kept in run/last-good.json
  5 regenerate units/, start supervisord, start every service in dependency order
  6 verify and print the table
With --backend systemd: 1 stops PROJECT.target (PartOf= stops every unit, KillMode=control-group leaves
  nothing behind), 3 and 4 as above, 5 reinstalls the units and starts them in dependency order, 6 verifies.
With --server-url (the machine's supervisord): 1 stops only this project's programs there (the daemon and
  its other programs keep running), 2 has nothing to look for, 5 installs the programs into the include
  folder install --supervisor-conf-dir recorded and updates only them.
On a terminal recover shows the plan and asks first (--yes skips that); without a terminal it proceeds.

Examples:
  orchestrate recover --dry-run
  orchestrate recover --yes
  orchestrate recover --yes --kill-foreign 8001

Exit: 0 fleet back and verified (or plan printed) · 1 a step failed or a service does not verify · 2 bad input`,
    )
    .action(
      action(program, async (ctx, opts: { dryRun?: boolean; yes?: boolean; killForeign?: number[] }) => {
        const killForeign = opts.killForeign ?? [];
        const op = operationOf(ctx);
        if (opts.dryRun) return (await recover(op, { dryRun: true, killForeign })).ok ? 0 : 1;
        if (!opts.yes && process.stdin.isTTY) {
          await recover(op, { dryRun: true, killForeign });
          if (!(await confirm("\nProceed with this recovery? [y/N] "))) {
            ctx.stdout.write("nothing done\n");
            return 1;
          }
        }
        return (await recover(op, { killForeign })).ok ? 0 : 1;
      }),
    );
}
