/**
 * SystemdBackend against a real systemd 252 booted as PID 1 of a private PID + mount namespace
 * (test/harness/systemd-sandbox.ts; docs/facts.md "systemd 252"). Units are written by hand
 * here, independent of the renderer. Services bind 127.0.0.1:25041-25043 (block 25000-25099).
 *
 * systemctl and kill run inside the sandbox through nsenter; files are written from outside through
 * /proc/<pid1>/root/run/systemd/system (the sandbox's private runtime unit folder — /etc is the host's).
 * MainPIDs are PIDs of the sandbox's PID namespace. Waits poll; there is no fixed sleep.
 */
import { acceptsConnections } from "../../src/inspect/port-probe";
import { existsSync, lstatSync } from "node:fs";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ProgramStatus } from "../../src/backend/types";
import { SystemdBackend } from "../../src/backend/systemd/backend";
import { NOT_BOOTED_MESSAGE } from "../../src/backend/systemd/errors";
import { Systemctl } from "../../src/backend/systemd/systemctl";
import { bootSandbox, sandboxSkipReason, type Sandbox } from "../harness/systemd-sandbox";

const PORTS = { a: 25041, b: 25042, c: 25043 } as const;
type Name = keyof typeof PORTS;
const EXTRA = '\nEnvironment="EXTRA=1"';
const SERVER_JS =
  "const s=require('net').createServer(c=>c.end());" +
  "s.listen(+process.env.PORT,'127.0.0.1',()=>console.log('listening on '+process.env.PORT))";

/** Decided at collection time so the skip is visible in the report, with its reason printed. */
const skipped = sandboxSkipReason();
if (skipped) console.warn(`[systemd e2e] SKIPPED: ${skipped}`);
let sandbox: Sandbox | undefined;
let dir = "";
let backend: SystemdBackend;

function serviceUnit(name: Name, extra = ""): string {
  return `# hand-written test unit
[Unit]
Description=demo ${name}
PartOf=demo.target

[Service]
ExecStart=${process.execPath} -e "${SERVER_JS}"
Environment="PORT=${PORTS[name]}"${extra}
Restart=on-failure
RestartSec=1
StandardOutput=append:${dir}/logs/${name}.out.log
StandardError=append:${dir}/logs/${name}.err.log
`;
}

function targetUnit(names: Name[]): string {
  return `[Unit]
Description=demo
Wants=${names.map((n) => `demo-${n}.service`).join(" ")}

[Install]
WantedBy=multi-user.target
`;
}

async function render(units: Record<string, string>): Promise<void> {
  const unitsDir = join(dir, "units/systemd");
  await rm(unitsDir, { recursive: true, force: true });
  await mkdir(unitsDir, { recursive: true });
  for (const [file, content] of Object.entries(units)) await writeFile(join(unitsDir, file), content);
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ""}`);
}

const statusOf = async (name: string): Promise<ProgramStatus> => (await backend.status([name]))[0];
const runningWithPid = (name: string, not?: number) =>
  waitFor(`${name} RUNNING${not ? ` with a MainPID other than ${not}` : ""}`, async () => {
    const s = await statusOf(name);
    return s.state === "RUNNING" && s.pid && s.pid !== not ? s : undefined;
  });

/** A TCP connect to 127.0.0.1:port from the host (src/inspect/port-probe.ts). */
const tcpConnects = (port: number): Promise<boolean> => acceptsConnections(port, "127.0.0.1");

beforeAll(async () => {
  if (skipped) return;
  const booted = await bootSandbox();
  if ("skipped" in booted) throw new Error(`sandbox skipped after the pre-check passed: ${booted.skipped}`);
  sandbox = booted;
  dir = sandbox.dir;
  await mkdir(join(dir, "logs"), { recursive: true });
  backend = new SystemdBackend({
    project: "demo",
    unitsDir: join(dir, "units/systemd"),
    runDir: join(dir, "run"),
    prefix: sandbox.prefix,
    unitDir: sandbox.unitDirOutside,
    logs: Object.fromEntries(
      (Object.keys(PORTS) as Name[]).map((n) => [
        n,
        { stdout: join(dir, `logs/${n}.out.log`), stderr: join(dir, `logs/${n}.err.log`) },
      ]),
    ),
  });
}, 120_000);

afterAll(async () => {
  await sandbox?.stop();
}, 60_000);

describe("systemd sandbox", () => {
  it("boots, or records why it was skipped", (ctx) => {
    if (skipped) ctx.skip(`systemd sandbox unavailable: ${skipped}`);
    expect(sandbox!.pid).toBeGreaterThan(1);
  });
});

describe("SystemdBackend in the sandbox", { timeout: 120_000 }, () => {
  it.skipIf(skipped)("isRunning and ensureRunning see the sandbox's systemd", async () => {
    expect(await backend.isRunning()).toBe(true);
    expect(await backend.ensureRunning()).toEqual({ started: false });
  });

  it.skipIf(skipped)(
    "apply installs the units, reloads, enables the target at runtime; start target → RUNNING",
    async () => {
      await render({
        "demo-a.service": serviceUnit("a"),
        "demo-b.service": serviceUnit("b"),
        "demo.target": targetUnit(["a", "b"]),
      });
      expect(await backend.apply()).toEqual({ added: ["a", "b"], changed: [], removed: [] });
      expect(existsSync(join(sandbox!.unitDirOutside, "demo-a.service"))).toBe(true);
      // enable --runtime: the link points at /run/… inside the sandbox, so look at the link itself.
      expect(lstatSync(join(sandbox!.unitDirOutside, "multi-user.target.wants/demo.target")).isSymbolicLink()).toBe(
        true,
      );
      const record = JSON.parse(await readFile(join(dir, "run/systemd-installed.json"), "utf8"));
      expect(record.installs[sandbox!.unitDirOutside]).toEqual(["demo-a.service", "demo-b.service", "demo.target"]);

      const started = await backend.systemctl.run(["start", "demo.target"]);
      expect(started.stderr).toBe("");
      const [a, b] = [await runningWithPid("a"), await runningWithPid("b")];
      expect(a.detail).toBe("active/running");
      expect(a.uptimeSeconds).toBeGreaterThanOrEqual(0);
      expect(b.restarts).toBe(0);
      // The network namespace is shared: the ports answer from outside the sandbox.
      await waitFor("port a to accept", async () => ((await tcpConnects(PORTS.a)) ? true : undefined));
      await waitFor("port b to accept", async () => ((await tcpConnects(PORTS.b)) ? true : undefined));
    },
  );

  it.skipIf(skipped)("restart of one service leaves the other's MainPID unchanged", async () => {
    const [a, b] = await backend.status(["a", "b"]);
    await backend.restart("a");
    const a2 = await runningWithPid("a", a.pid);
    expect(a2.pid).not.toBe(a.pid);
    expect((await statusOf("b")).pid).toBe(b.pid);
  });

  it.skipIf(skipped)("restart of the target restarts every service (PartOf=)", async () => {
    const [a, b] = await backend.status(["a", "b"]);
    const restarted = await backend.systemctl.run(["restart", backend.targetName]);
    expect(restarted.exitCode).toBe(0);
    await runningWithPid("a", a.pid);
    await runningWithPid("b", b.pid);
  });

  it.skipIf(skipped)("kill -9 of a MainPID: systemd restarts it (Restart=on-failure)", async () => {
    const before = await statusOf("a");
    // MainPID is a PID of the sandbox's namespace: kill it from inside.
    const killed = await sandbox!.exec(["kill", "-9", String(before.pid)]);
    expect(killed.exitCode).toBe(0);
    const after = await waitFor("a restarted by systemd", async () => {
      const s = await statusOf("a");
      return s.state === "RUNNING" && s.pid !== before.pid && s.restarts === (before.restarts ?? 0) + 1 ? s : undefined;
    });
    expect(after.restarts).toBe(1);
    await waitFor("port a to accept again", async () => ((await tcpConnects(PORTS.a)) ? true : undefined));
  });

  it.skipIf(skipped)("tailLog reads the append: log file", async () => {
    const out = await backend.tailLog("a", "stdout", 4096);
    expect(out).toContain(`listening on ${PORTS.a}`);
    expect((await backend.tailLog("a", "stdout", 5)).length).toBeLessThanOrEqual(5);
  });

  it.skipIf(skipped)("an unknown unit is ABSENT", async () => {
    const [s] = await backend.status(["nope"]);
    expect(s).toMatchObject({ name: "nope", state: "ABSENT", detail: "inactive/dead" });
    await expect(backend.stop("nope")).resolves.toBeUndefined();
    await expect(backend.start("nope")).rejects.toThrow(/expected the unit to be installed and loaded/);
  });

  it.skipIf(skipped)("a comment-only edit is unchanged; a real edit is changed, stopped and not started", async () => {
    const a = await statusOf("a");
    await render({
      "demo-a.service": serviceUnit("a") + "# new comment\n",
      "demo-b.service": serviceUnit("b"),
      "demo.target": targetUnit(["a", "b"]),
    });
    expect(await backend.apply()).toEqual({ added: [], changed: [], removed: [] });
    expect((await statusOf("a")).pid).toBe(a.pid);

    await render({
      "demo-a.service": serviceUnit("a", EXTRA),
      "demo-b.service": serviceUnit("b"),
      "demo.target": targetUnit(["a", "b"]),
    });
    expect(await backend.apply()).toEqual({ added: [], changed: ["a"], removed: [] });
    expect((await statusOf("a")).state).toBe("STOPPED");
    await backend.start("a");
    await runningWithPid("a");
  });

  it.skipIf(skipped)("a unit no longer rendered is stopped and its file removed", async () => {
    const a = await statusOf("a");
    await render({ "demo-a.service": serviceUnit("a", EXTRA), "demo.target": targetUnit(["a"]) });
    expect(await backend.apply()).toEqual({ added: [], changed: [], removed: ["b"] });
    expect(existsSync(join(sandbox!.unitDirOutside, "demo-b.service"))).toBe(false);
    expect((await statusOf("b")).state).toBe("ABSENT");
    expect(await tcpConnects(PORTS.b)).toBe(false);
    expect(await statusOf("a")).toMatchObject({ state: "RUNNING", pid: a.pid });
    expect((await backend.status()).map((s) => s.name)).toEqual(["a"]);
  });

  it.skipIf(skipped)("shutdown stops the target and with it every service", async () => {
    await backend.start("a");
    await runningWithPid("a");
    await backend.shutdown();
    await waitFor("a STOPPED", async () => ((await statusOf("a")).state === "STOPPED" ? true : undefined));
  });
});

describe("SystemdBackend on this host (no sandbox)", () => {
  const hostHasSystemd = existsSync("/run/systemd/system");

  it.skipIf(hostHasSystemd)("ensureRunning says systemd is not booted and names the alternatives", async () => {
    const host = new SystemdBackend({
      project: "demo",
      unitsDir: "/nonexistent/units/systemd",
      runDir: "/nonexistent/run",
    });
    expect(await host.isRunning()).toBe(false);
    const error = await host.ensureRunning().then(
      () => undefined,
      (e: Error) => e,
    );
    expect(error?.message).toBe(NOT_BOOTED_MESSAGE);
    expect(error?.message).toMatch(/--backend supervisor/);
    expect((error as { exitCode?: number }).exitCode).toBe(1);
  });

  it("systemctl argv carries scope, root and prefix", () => {
    expect(
      new Systemctl({ scope: "user", prefix: ["nsenter", "-t", "7", "-m", "-p"] }).argv(["show", "x.service"]),
    ).toEqual([
      "nsenter",
      "-t",
      "7",
      "-m",
      "-p",
      "systemctl",
      "--user",
      "--no-ask-password",
      "--no-pager",
      "show",
      "x.service",
    ]);
    expect(new Systemctl({ root: "/srv/tree" }).argv(["enable", "demo.target"])).toEqual([
      "systemctl",
      "--root=/srv/tree",
      "--no-ask-password",
      "--no-pager",
      "enable",
      "demo.target",
    ]);
  });
});
