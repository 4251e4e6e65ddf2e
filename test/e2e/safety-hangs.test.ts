/**
 * Programs that would make orchestrate hang (issue 11 item 3): a program that daemonizes (fork, setsid,
 * fork, the parents exit, the grandchild binds PORT and keeps the inherited stdout/stderr pipes).
 * test-start and add-service must end within their timeouts, stop the daemon they caused, say why, exit 1
 * and leave the port free — the CLI must not stay alive on the pipe the daemon inherited.
 */
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isPortFree } from "../../src/inspect/port-probe";
import { cliPath, fixture, FIXTURES, makeCliProject, orchestrate, Seen } from "../helpers/cli-project";
import { portsOf } from "../helpers/ports";

const PYTHON = "/usr/bin/python3";
const DAEMON = [PYTHON, join(FIXTURES, "daemonizes.py")];
const seen = new Seen();
const ports = portsOf("safety-hangs");

/** PIDs whose environment says PORT=port (the daemons a failed fix would leave): recorded for cleanup. */
async function holdersOf(port: number): Promise<number[]> {
  const pids: number[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (readFileSync(`/proc/${name}/environ`, "latin1").split("\0").includes(`PORT=${port}`)) pids.push(Number(name));
    } catch {
      /* gone or not ours */
    }
  }
  await seen.add(...pids);
  return pids;
}

beforeAll(async () => {
  await cliPath();
});
afterAll(() => seen.cleanup());

const MESSAGE =
  /the program daemonizes; supervisord and systemd need it in the foreground \(e\.g\. a --nodaemon flag\)/;

describe("a program that daemonizes", () => {
  it("test-start ends, stops the daemon, says it daemonizes, exits 1, port free", async () => {
    const port = await ports.take();
    const p = seen.project(
      makeCliProject("orch-dmz-", {
        project: "dmz",
        services: { daemon: { command: DAEMON, port, readyTimeout: 5, stopTimeout: 2, startSecs: 1 } },
      }),
    );
    const result = await orchestrate(p, "test-start", "daemon");
    await holdersOf(port);
    const out = result.stdout + result.stderr;
    expect(result.signal, out).toBeUndefined(); // not killed by the 120 s timeout of the helper
    expect(result.exitCode, out).toBe(1);
    expect(out).toMatch(MESSAGE);
    expect(out).toMatch(/stopped the daemon it started: pid \d+/);
    expect(await isPortFree(port)).toBe(true);
    expect(await holdersOf(port)).toEqual([]);
  });

  it("add-service fails at step 5, rolls back, ends, port free", async () => {
    const [apiPort, port] = await ports.takeMany(2);
    const p = seen.project(
      makeCliProject("orch-dma-", {
        project: "dma",
        services: { api: fixture("binds-port.js", apiPort) },
      }),
    );
    const before = readFileSync(p.manifest, "utf8");
    const result = await orchestrate(p, "add-service", "daemon", "--command", DAEMON.join(" "), "--port", String(port));
    await holdersOf(port);
    const out = result.stdout + result.stderr;
    expect(result.signal, out).toBeUndefined();
    expect(result.exitCode, out).toBe(1);
    expect(out).toMatch(MESSAGE);
    expect(out).toMatch(/Nothing changed/i);
    expect(readFileSync(p.manifest, "utf8")).toBe(before);
    expect(await isPortFree(port)).toBe(true);
    expect(await holdersOf(port)).toEqual([]);
  });

  it("a daemon started by hand with the same SERVICE_NAME before test-start is never touched", async () => {
    // the same fixture, same name and port, started outside test-start: test-start refuses (port held), leaves it
    const port = await ports.take();
    const p = seen.project(
      makeCliProject("orch-dmh-", {
        project: "dmh",
        services: { daemon: { command: DAEMON, port, readyTimeout: 5, stopTimeout: 2, startSecs: 1 } },
      }),
    );
    const { run } = await import("../../src/exec/run");
    // through sh with the output to /dev/null: the daemon must not hold the pipes of run()
    await run("/bin/sh", ["-c", `exec ${DAEMON.join(" ")} >/dev/null 2>&1`], {
      env: { PATH: "/usr/bin:/bin", PORT: String(port), SERVICE_NAME: "daemon", HOST: "127.0.0.1" },
      timeoutMs: 10_000,
    }).catch(() => undefined);
    for (let i = 0; i < 100 && (await isPortFree(port)); i++) await new Promise((r) => setTimeout(r, 50));
    const hand = await holdersOf(port);
    expect(hand.length).toBe(1);
    const result = await orchestrate(p, "test-start", "daemon");
    expect(result.exitCode).toBe(1);
    expect(result.stdout + result.stderr).toMatch(/already held by/);
    expect(await holdersOf(port)).toEqual(hand);
  });
});

describe("a change killed half-way", () => {
  it("add-service SIGKILLed during its test-start shows in history as interrupted", async () => {
    const [apiPort, port] = await ports.takeMany(2);
    const p = seen.project(
      makeCliProject("orch-dmk-", { project: "dmk", services: { api: fixture("binds-port.js", apiPort) } }),
    );
    const { spawnService } = await import("../../src/exec/run");
    const cli = await spawnService(
      [
        process.execPath,
        await cliPath(),
        "--manifest",
        p.manifest,
        "--no-color",
        "add-service",
        "slow",
        "--command",
        `${process.execPath} ${join(FIXTURES, "slow-bind.js")}`,
        "--port",
        String(port),
        "--env",
        "BIND_DELAY_MS=60000",
      ],
      { cwd: p.root, env: { PATH: process.env.PATH ?? "/usr/bin:/bin" } },
    );
    for (let i = 0; i < 400 && !/start slow alone/.test(cli.output()); i++) await new Promise((r) => setTimeout(r, 50));
    expect(cli.output()).toMatch(/start slow alone/);
    cli.signalGroup("SIGKILL"); // the CLI and the service it started alone
    await cli.exited;
    await holdersOf(port); // the service left running alone (the next fleet command reaps it): cleaned up after
    const history = await orchestrate(p, "history");
    expect(history.stdout + history.stderr).toMatch(/add-service slow[\s\S]*interrupted/);
  });
});
